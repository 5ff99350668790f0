/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4), from the one status
 * record: loop runs and durations, orders, HTTP exchanges, quotas and group sizes.
 */
import { DURATION_BUCKETS, type StatusRecord } from "../lib/status.ts";
import { GroupRowView, HarborRowView, RancherRowView } from "./view.ts";

/** The Content-Type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

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

/** Backends say −1 for "no limit". */
function unlimited(value: number): number {
  return value < 0 ? Infinity : value;
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Collects metric families, each HELP and TYPE once, in the order first written. */
class Exposition {
  #families = new Map<string, { help: string; type: string; lines: string[] }>();

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
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

  m.family("berth_orders_total", "counter", "Orders finished, by type and outcome.");
  for (const [key, n] of status.counters.orders) {
    const [type = "", outcome = ""] = split(key);
    m.sample("berth_orders_total", "berth_orders_total", { type, outcome }, n);
  }
  m.family("berth_orders_in_flight", "gauge", "Orders accepted but not finished.");
  m.sample("berth_orders_in_flight", "berth_orders_in_flight", {}, model.orders.length);

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

  if (model.server) {
    m.family(
      "berth_status_accept_failures_total",
      "counter",
      "Times the status server stopped accepting connections (out of file descriptors, ...) and listened again.",
    );
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

  m.family("berth_harbor_quota_bytes", "gauge", "Harbor project storage quota: hard and used.");
  m.family(
    "berth_rancher_quota",
    "gauge",
    "Rancher project CPU (cores), memory and storage (bytes): requested and limit.",
  );
  m.family("berth_keycloak_group_members", "gauge", "Members of each managed Keycloak group.");
  // the per-project series are many (five per Rancher project): their labels are built once
  // per row and the lines written directly
  for (const b of model.backends) {
    const offering = `offering="${escapeLabel(b.offering)}"`;
    if (b.kind === "harbor") {
      for (const raw of b.rows) {
        const r = HarborRowView.safeParse(raw);
        if (!r.success) continue;
        const base = `berth_harbor_quota_bytes{${offering},project="${
          escapeLabel(r.data.project)
        }"`;
        const { quotaBytes: hard, usedBytes: used } = r.data;
        if (hard !== null) {
          m.line(
            "berth_harbor_quota_bytes",
            `${base},kind="hard"} ${formatValue(unlimited(hard))}`,
          );
        }
        if (used !== null) {
          m.line("berth_harbor_quota_bytes", `${base},kind="used"} ${formatValue(used)}`);
        }
      }
    }
    if (b.kind === "rancher") {
      for (const raw of b.rows) {
        const r = RancherRowView.safeParse(raw);
        if (!r.success) continue;
        const base = `berth_rancher_quota{${offering},project="${escapeLabel(r.data.project)}"`;
        const values: [string, number | null][] = [
          ['resource="cpu",kind="requested"', r.data.cpuRequested],
          ['resource="cpu",kind="limit"', r.data.cpuLimit],
          ['resource="memory",kind="requested"', r.data.memoryRequestedBytes],
          ['resource="memory",kind="limit"', r.data.memoryLimitBytes],
          ['resource="storage",kind="requested"', r.data.storageRequestedBytes],
        ];
        for (const [labels, value] of values) {
          if (value === null) continue;
          m.line("berth_rancher_quota", `${base},${labels}} ${formatValue(unlimited(value))}`);
        }
      }
    }
    for (const raw of b.groups ?? []) {
      const g = GroupRowView.safeParse(raw);
      if (!g.success || g.data.members === null) continue;
      m.line(
        "berth_keycloak_group_members",
        `berth_keycloak_group_members{${offering},group="${escapeLabel(g.data.path)}"} ${
          formatValue(g.data.members)
        }`,
      );
    }
  }
  return m.text();
}
