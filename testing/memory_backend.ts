/**
 * An in-memory backend for tests and benchmarks: it keeps "projects" in a Map, fills a missing
 * `storage` limit with a default, and can be told to fail. It behaves like a real backend in
 * the ways the processors care about: idempotent ensure, refused deletes, members, usage.
 */
import type {
  Backend,
  Check,
  EnsureResult,
  Limits,
  MemberSync,
  OrderType,
  Outcome,
  PlannedAction,
  ResourceSpec,
  UsageResult,
} from "../lib/backend.ts";
import { BerthError, terminal } from "../lib/errors.ts";

/** One project the memory backend holds. */
export interface MemoryProject {
  name: string;
  limits: Limits;
  members: Set<string>;
  used: Record<string, number>;
  /** Non-empty projects refuse deletion, as Harbor does with repositories. */
  items: number;
}

/** A scripted failure: the next calls of `op` throw `error`. */
interface Fault {
  op: string;
  error: BerthError;
  times: number;
}

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  prefix?: string;
  defaultStorage?: number;
}

/** The in-memory backend. */
export class MemoryBackend implements Backend {
  readonly kind = "memory";
  readonly projects = new Map<string, MemoryProject>();
  /** Every mutating call, in order. */
  readonly writes: string[] = [];
  /** Every call, mutating or not. */
  calls = 0;
  #faults: Fault[] = [];
  #prefix: string;
  #defaultStorage: number;

  constructor(options: MemoryBackendOptions = {}) {
    this.#prefix = options.prefix ?? "waldur-";
    this.#defaultStorage = options.defaultStorage ?? 10;
  }

  /** Makes the next `times` calls of `op` fail with a transient or terminal error. */
  fail(
    op: "ensure" | "setLimits" | "remove" | "reconcile" | "usage",
    kind: "transient" | "terminal",
    times = 1,
  ): void {
    const error = new BerthError(`memory: ${op} failed (${kind} fault injected)`, {
      system: "backend",
      transient: kind === "transient",
    });
    this.#faults.push({ op, error, times });
  }

  nameOf(resource: ResourceSpec): string {
    return `${this.#prefix}${resource.slug}`;
  }

  #check(op: string): void {
    this.calls++;
    const fault = this.#faults.find((f) => f.op === op && f.times > 0);
    if (fault) {
      fault.times--;
      throw fault.error;
    }
  }

  ensure(resource: ResourceSpec): Promise<EnsureResult> {
    this.#check("ensure");
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(resource.slug)) {
      return Promise.reject(
        terminal("backend", `resource slug "${resource.slug}" is not a valid name`),
      );
    }
    const name = this.nameOf(resource);
    const limits = { storage: this.#defaultStorage, ...resource.limits };
    const existing = this.projects.get(name);
    if (existing) {
      return Promise.resolve({ backendId: name, limits: existing.limits, adopted: true });
    }
    this.projects.set(name, { name, limits, members: new Set(), used: {}, items: 0 });
    this.writes.push(`create ${name}`);
    return Promise.resolve({ backendId: name, limits, adopted: false });
  }

  setLimits(resource: ResourceSpec, limits: Limits): Promise<void> {
    this.#check("setLimits");
    const p = this.projects.get(resource.backendId || this.nameOf(resource));
    if (!p) {
      return Promise.reject(terminal("backend", `project ${resource.backendId} does not exist`));
    }
    p.limits = { ...p.limits, ...limits };
    this.writes.push(`limits ${p.name} ${JSON.stringify(limits)}`);
    return Promise.resolve();
  }

  remove(resource: ResourceSpec): Promise<"deleted" | "absent"> {
    this.#check("remove");
    const name = resource.backendId || this.nameOf(resource);
    const p = this.projects.get(name);
    if (!p) return Promise.resolve("absent");
    if (p.items > 0) {
      return Promise.reject(
        terminal("backend", `project ${name} still holds ${p.items} items; not deleted`),
      );
    }
    this.projects.delete(name);
    this.writes.push(`delete ${name}`);
    return Promise.resolve("deleted");
  }

  reconcile(items: readonly MemberSync[]): Promise<Map<string, Outcome>> {
    const out = new Map<string, Outcome>();
    for (const { resource, usernames } of items) {
      try {
        this.#check("reconcile");
        const p = this.projects.get(resource.backendId);
        if (!p) throw terminal("backend", `project ${resource.backendId} is missing`);
        let changes = 0;
        for (const [k, v] of Object.entries(resource.limits)) {
          if (p.limits[k] !== v) {
            p.limits[k] = v;
            this.writes.push(`repair ${p.name} ${k}=${v}`);
            changes++;
          }
        }
        for (const u of usernames) {
          if (!p.members.has(u)) {
            p.members.add(u);
            this.writes.push(`add ${u} to ${p.name}`);
            changes++;
          }
        }
        for (const u of [...p.members]) {
          if (!usernames.includes(u)) {
            p.members.delete(u);
            this.writes.push(`remove ${u} from ${p.name}`);
            changes++;
          }
        }
        out.set(resource.uuid, { ok: true, changes });
      } catch (error) {
        out.set(resource.uuid, { ok: false, error });
      }
    }
    return Promise.resolve(out);
  }

  usage(resources: readonly ResourceSpec[]): Promise<Map<string, UsageResult>> {
    const out = new Map<string, UsageResult>();
    for (const r of resources) {
      try {
        this.#check("usage");
        const p = this.projects.get(r.backendId);
        if (!p) throw terminal("backend", `project ${r.backendId} is missing`);
        out.set(r.uuid, { ok: true, amounts: { storage: p.used.storage ?? 0 } });
      } catch (error) {
        out.set(r.uuid, { ok: false, error });
      }
    }
    return Promise.resolve(out);
  }

  plan(items: readonly MemberSync[]): Promise<PlannedAction[]> {
    const actions: PlannedAction[] = [];
    for (const { resource, usernames } of items) {
      const p = this.projects.get(resource.backendId);
      if (!p) {
        actions.push({
          target: resource.backendId,
          action: "missing",
          detail: "project not found",
        });
        continue;
      }
      for (const u of usernames) {
        if (!p.members.has(u)) actions.push({ target: p.name, action: "add member", detail: u });
      }
    }
    return Promise.resolve(actions);
  }

  planOrder(type: OrderType, resource: ResourceSpec): Promise<PlannedAction[]> {
    const name = resource.backendId || this.nameOf(resource);
    const p = this.projects.get(name);
    const actions: PlannedAction[] = [];
    if (type === "Create" && !p) {
      actions.push({ target: name, action: "create-project", detail: "in memory" });
    } else if (type === "Update" && p) {
      actions.push({ target: name, action: "set-limits", detail: JSON.stringify(resource.limits) });
    } else if (type === "Terminate" && p) {
      actions.push({ target: name, action: "delete-project", detail: `${p.items} items` });
    }
    return Promise.resolve(actions);
  }

  diagnose(): Promise<Check[]> {
    return Promise.resolve([{
      name: "memory",
      ok: true,
      detail: `${this.projects.size} projects`,
    }]);
  }
}
