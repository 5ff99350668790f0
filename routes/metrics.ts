/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4), from the one status
 * record: loop runs and durations, orders, erred resources, HTTP exchanges, each backend's series
 * as its plugin presents them (quotas) and group sizes. Every family is declared (HELP, TYPE) in
 * every scrape, with no sample while there is nothing to report, so the family list is the same
 * whatever the agent is doing (the README's metric list and deploy/prometheus-rules.yaml are
 * checked against it).
 */
import type { z } from "zod";
import { ATTENTION_KINDS } from "../lib/attention.ts";
import { groupMetrics, GroupRow } from "../lib/keycloak/group_row.ts";
import { type Labels, type MetricFamily, type RowMetrics, rowsOf } from "../lib/presentation.ts";
import { DURATION_BUCKETS, type StatusRecord } from "../lib/status.ts";
import { presentations } from "./view.ts";

/** The Content-Type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** `a="1",b="2"`: labels as they go between the braces. */
function labelList(labels: Labels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
}

function formatLabels(labels: Labels): string {
  const list = labelList(labels);
  return list === "" ? "" : `{${list}}`;
}

/** Collects metric families, each HELP and TYPE once, in the order first written. */
class Exposition {
  #families = new Map<string, { help: string; type: string; lines: string[] }>();

  family(name: string, type: MetricFamily["type"], help: string): void {
    if (!this.#families.has(name)) this.#families.set(name, { help, type, lines: [] });
  }

  sample(family: string, name: string, labels: Labels, value: number): void {
    this.#families.get(family)?.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  /** A sample line already formatted. */
  line(family: string, text: string): void {
    this.#families.get(family)?.lines.push(text);
  }

  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${name} ${f.type}`);
      // one join per family: spreading a huge array into push() overflows the stack
      if (f.lines.length > 0) out.push(f.lines.join("\n"));
    }
    return `${out.join("\n")}\n`;
  }
}

function split(key: string): string[] {
  return key.split("\u0000");
}

/** Event mode's series: one per offering and object type. */
function eventMetrics(m: Exposition, model: ReturnType<StatusRecord["snapshot"]>): void {
  const families = [
    ["berth_events_connected", "gauge", "1 while the event connection is subscribed to its queue."],
    ["berth_events_messages_total", "counter", "Event messages received."],
    ["berth_events_malformed_total", "counter", "Event messages dropped as malformed."],
    [
      "berth_events_reconnects_total",
      "counter",
      "Event connections lost or refused, then tried again.",
    ],
    ["berth_events_last_message_timestamp_seconds", "gauge", "When the last event message came."],
  ] as const;
  // declared without event mode too: every family Berth has is in every scrape
  for (const [name, type, help] of families) m.family(name, type, help);
  for (const c of model.eventConnections ?? []) {
    const labels = { offering: c.offering, type: c.type };
    m.sample(
      "berth_events_connected",
      "berth_events_connected",
      labels,
      c.state === "connected" ? 1 : 0,
    );
    m.sample("berth_events_messages_total", "berth_events_messages_total", labels, c.messages);
    m.sample("berth_events_malformed_total", "berth_events_malformed_total", labels, c.malformed);
    m.sample(
      "berth_events_reconnects_total",
      "berth_events_reconnects_total",
      labels,
      c.reconnects,
    );
    if (c.lastMessage !== null) {
      const name = "berth_events_last_message_timestamp_seconds";
      m.sample(name, name, labels, c.lastMessage / 1000);
    }
  }
}

/** The exposition text for `status`. */
export function renderMetrics(status: StatusRecord, runtime: { deno: string }): string {
  const m = new Exposition();
  const model = status.snapshot();

  m.family("berth_build_info", "gauge", "Berth's version and runtime; always 1.");
  m.sample("berth_build_info", "berth_build_info", {
    version: model.version,
    deno: runtime.deno,
  }, 1);
  m.family("berth_start_time_seconds", "gauge", "When the agent started, in Unix seconds.");
  m.sample("berth_start_time_seconds", "berth_start_time_seconds", {}, model.startedAt / 1000);

  m.family("berth_loop_runs_total", "counter", "Passes finished, by loop, offering and outcome.");
  for (const [key, n] of status.counters.loopRuns) {
    const [loop = "", offering = "", outcome = ""] = split(key);
    m.sample("berth_loop_runs_total", "berth_loop_runs_total", { loop, offering, outcome }, n);
  }

  m.family("berth_loop_duration_seconds", "histogram", "How long passes took.");
  for (const h of status.durations.values()) {
    let cumulative = 0;
    const labels = { loop: h.loop, offering: h.offering };
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0;
      m.sample("berth_loop_duration_seconds", "berth_loop_duration_seconds_bucket", {
        ...labels,
        le: String(le),
      }, cumulative);
    });
    m.sample("berth_loop_duration_seconds", "berth_loop_duration_seconds_bucket", {
      ...labels,
      le: "+Inf",
    }, h.count);
    m.sample("berth_loop_duration_seconds", "berth_loop_duration_seconds_sum", labels, h.sum);
    m.sample("berth_loop_duration_seconds", "berth_loop_duration_seconds_count", labels, h.count);
  }

  m.family(
    "berth_loop_last_success_timestamp_seconds",
    "gauge",
    "When each loop last finished a pass with no error, in Unix seconds.",
  );
  for (const l of model.loops) {
    if (l.lastSuccess === null) continue;
    m.sample(
      "berth_loop_last_success_timestamp_seconds",
      "berth_loop_last_success_timestamp_seconds",
      { loop: l.loop, offering: l.offering },
      l.lastSuccess / 1000,
    );
  }

  eventMetrics(m, model);

  m.family("berth_orders_total", "counter", "Orders finished, by type and outcome.");
  for (const [key, n] of status.counters.orders) {
    const [type = "", outcome = ""] = split(key);
    m.sample("berth_orders_total", "berth_orders_total", { type, outcome }, n);
  }
  m.family("berth_orders_in_flight", "gauge", "Orders accepted but not finished.");
  m.sample("berth_orders_in_flight", "berth_orders_in_flight", {}, model.orders.length);
  m.family(
    "berth_resources_erred",
    "gauge",
    "Resources of the offering in state Erred in Waldur after its last whole membership pass.",
  );
  for (const [offering, n] of status.erred) {
    m.sample("berth_resources_erred", "berth_resources_erred", { offering }, n);
  }
  m.family(
    "berth_attention_entries",
    "gauge",
    "Entries of the status page's Needs attention list, by kind (0 for a kind with none).",
  );
  const attention = new Map<string, number>(ATTENTION_KINDS.map((kind) => [kind, 0]));
  for (const e of model.attention) attention.set(e.kind, (attention.get(e.kind) ?? 0) + 1);
  for (const [kind, n] of attention) {
    m.sample("berth_attention_entries", "berth_attention_entries", { kind }, n);
  }

  m.family(
    "berth_http_requests_total",
    "counter",
    "Requests to Waldur and the backends, by system, method and status code.",
  );
  for (const [key, n] of status.counters.http) {
    const [system = "", method = "", code = ""] = split(key);
    m.sample("berth_http_requests_total", "berth_http_requests_total", {
      system,
      method,
      code,
    }, n);
  }

  m.family(
    "berth_status_accept_failures_total",
    "counter",
    "Times the status server stopped accepting connections (out of file descriptors, ...) and listened again.",
  );
  if (model.server) {
    m.sample(
      "berth_status_accept_failures_total",
      "berth_status_accept_failures_total",
      {},
      model.server.acceptFailures,
    );
  }

  m.family(
    "berth_circuit_open",
    "gauge",
    "1 while the circuit breaker of an upstream server is open (0.5 half-open), else 0.",
  );
  m.family("berth_circuit_opens_total", "counter", "Times each circuit breaker opened.");
  for (const b of model.breakers) {
    const labels = { system: b.system, target: b.target };
    const value = b.state === "open" ? 1 : b.state === "half-open" ? 0.5 : 0;
    m.sample("berth_circuit_open", "berth_circuit_open", labels, value);
    m.sample("berth_circuit_opens_total", "berth_circuit_opens_total", labels, b.opens);
  }

  // every presented family is written, with no sample when no offering has rows for it
  const presented = presentations();
  for (const list of presented.values()) {
    for (const p of list) for (const f of p.metrics.families) m.family(f.name, f.type, f.help);
  }
  for (const f of groupMetrics.families) m.family(f.name, f.type, f.help);
  for (const b of model.backends) {
    const offering = `offering="${escapeLabel(b.offering)}"`;
    for (const p of presented.get(b.kind) ?? []) {
      writeRows(m, { offering, rows: rowsOf(b, p), schema: p.schema, metrics: p.metrics });
    }
    writeRows(m, { offering, rows: b.groups ?? [], schema: GroupRow, metrics: groupMetrics });
  }
  return m.text();
}

/**
 * The series of `rows` (per-project series are many, up to five per project): each
 * series' labels are formatted once, each row's once, and the lines written directly. A row
 * that does not parse has no series (the page says it could not show it).
 */
function writeRows<R>(
  m: Exposition,
  { offering, rows, schema, metrics }: {
    /** The formatted `offering` label. */
    offering: string;
    rows: readonly Record<string, unknown>[];
    schema: z.ZodType<R>;
    metrics: RowMetrics<R>;
  },
): void {
  if (rows.length === 0) return;
  const series = metrics.series.map((s) => {
    const list = labelList(s.labels);
    return { family: s.family, labels: list === "" ? "} " : `,${list}} `, value: s.value };
  });
  for (const raw of rows) {
    const r = schema.safeParse(raw);
    if (!r.success) continue;
    const rowLabels = labelList(metrics.labels(r.data));
    const base = `{${offering}${rowLabels === "" ? "" : `,${rowLabels}`}`;
    for (const s of series) {
      const value = s.value(r.data);
      if (value !== null) m.line(s.family, `${s.family}${base}${s.labels}${formatValue(value)}`);
    }
  }
}
