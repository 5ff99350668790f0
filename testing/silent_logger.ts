import { createLogger, type Logger } from "../lib/log.ts";

/** A logger that drops everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return createLogger({ write: () => {}, level: "error" });
}
