/** The npm package ships no types; its result is checked with zod where it is used. */
export default function parsePrometheusTextFormat(text: string): unknown;
