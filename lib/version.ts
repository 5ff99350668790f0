/** Berth's version, embedded in builds and shown by `berth --version`. */
export const VERSION = "0.1.0";
