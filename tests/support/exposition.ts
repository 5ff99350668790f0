/**
 * A line-by-line checker of the Prometheus text exposition format (0.0.4): every line is a
 * HELP, a TYPE or a sample; HELP and TYPE come once per family and before its samples; the
 * samples of a family are contiguous; names, labels, escapes and values follow the grammar;
 * no series repeats; histograms have cumulative buckets ending in `+Inf` equal to `_count`.
 * Returns the samples, for the caller's own checks.
 */

/** One parsed sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: number): number {
  if (!VALUE.test(text)) throw new Error(`line ${line}: bad value ${text}`);
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq === -1) throw new Error(`line ${line}: label without =`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name ${name}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const n = text[j + 1];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else throw new Error(`line ${line}: bad escape \\${n}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`line ${line}: expected , between labels`);
      i++;
    }
  }
  return labels;
}

function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : "";
    if (base && types.get(base) === "histogram") return base;
  }
  return name;
}

/** Checks `text` and returns its samples; throws with the line number on the first problem. */
export function checkExposition(text: string): Sample[] {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seenSamples = new Set<string>();
  const closed = new Set<string>();
  const samples: Sample[] = [];
  let current = "";
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") throw new Error(`line ${line}: empty line`);
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name = "", rest = ""] = meta;
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      if (kind === "HELP") {
        if (helps.has(name)) throw new Error(`line ${line}: HELP for ${name} twice`);
        helps.add(name);
      } else {
        if (types.has(name)) throw new Error(`line ${line}: TYPE for ${name} twice`);
        if (!TYPES.has(rest)) throw new Error(`line ${line}: bad type ${rest}`);
        if (seenSamples.has(name)) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        types.set(name, rest);
      }
      return;
    }
    if (raw.startsWith("#")) return; // a comment
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(raw);
    if (!m) throw new Error(`line ${line}: not a sample: ${raw}`);
    const [, name = "", labelText = "", valueText = ""] = m;
    const family = familyOf(name, types);
    if (family !== current) {
      if (closed.has(family)) throw new Error(`line ${line}: samples of ${family} not together`);
      if (current) closed.add(current);
      current = family;
    }
    seenSamples.add(family);
    const labels = parseLabels(labelText, line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSamples.has(key)) throw new Error(`line ${line}: series repeated: ${raw}`);
    seenSamples.add(key);
    samples.push({ name, labels, value: parseValue(valueText, line) });
  });
  checkHistograms(samples, types);
  return samples;
}

function checkHistograms(samples: readonly Sample[], types: Map<string, string>): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, { buckets: [number, number][]; count?: number }>();
    for (const s of samples) {
      if (!s.name.startsWith(family)) continue;
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const entry = series.get(key) ?? { buckets: [] };
      if (s.name === `${family}_bucket`) {
        if (le === undefined) throw new Error(`${family}_bucket without le`);
        entry.buckets.push([parseValue(le, 0), s.value]);
      }
      if (s.name === `${family}_count`) entry.count = s.value;
      series.set(key, entry);
    }
    for (const [key, e] of series) {
      const sorted = [...e.buckets].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) {
        if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0)) {
          throw new Error(`${family}${key}: buckets are not cumulative`);
        }
      }
      const last = sorted.at(-1);
      if (!last || last[0] !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      if (last[1] !== e.count) throw new Error(`${family}${key}: +Inf bucket is not _count`);
    }
  }
}
