/**
 * A fake Waldur: a Hono app serving the marketplace paths the agent uses, with the real status
 * codes, `x-result-count` and `Link` paging (default page size 10, max 300), Token auth, and
 * the order state machine (approve: pending-provider → executing; done/erred only from
 * executing; anything else 400). Its methods are the control API tests and the demo use.
 */
import { Faults } from "../fault.ts";
import { type Context, Hono } from "hono";
import { type RecordedRequest, recordRequests } from "../fake_recorder.ts";
import { z } from "zod";
import type { ORDER_TYPES, OrderState, ResourceState } from "./schemas.ts";

type OrderType = typeof ORDER_TYPES[number];

/** A resource as the fake stores it (the fields Waldur returns that Berth reads). */
export interface FakeResource {
  uuid: string;
  name: string;
  slug: string;
  state: ResourceState;
  backend_id: string;
  limits: Record<string, unknown>;
  project_uuid: string;
  project_slug: string;
  project_name: string;
  customer_uuid: string;
  customer_slug: string;
  customer_name: string;
  offering_uuid: string;
  backend_metadata: Record<string, unknown>;
  paused: boolean;
  downscaled: boolean;
  restrict_member_access: boolean;
  error_message: string;
}

/** An order as the fake stores it. */
export interface FakeOrder {
  uuid: string;
  type: OrderType;
  state: OrderState;
  offering_uuid: string;
  marketplace_resource_uuid: string;
  resource_uuid: string;
  resource_name: string;
  project_uuid: string;
  project_slug: string;
  customer_slug: string;
  limits: Record<string, unknown>;
  attributes: Record<string, unknown>;
  created: string;
  error_message: string;
  error_traceback: string;
  provider_rejection_comment: string;
}

/** A team member of a Waldur project. */
export interface FakeTeamMember {
  username: string;
  offering_user_username?: string | null;
  offering_user_state?: string | null;
  role?: string;
  full_name?: string;
  email?: string;
}

/** One stored component usage. */
export interface FakeUsage {
  uuid: string;
  resource_uuid: string;
  type: string;
  usage: string;
  billing_period: string;
  date: string;
}

/** A component of a fake offering. */
export interface FakeComponent {
  type: string;
  name: string;
  billing_type: string;
  measured_unit: string;
  limit_amount?: number | null;
}

/** Who owns a new resource. */
export interface Owner {
  project: string;
  customer: string;
}

/** Options of {@link FakeWaldur}. */
export interface FakeWaldurOptions {
  token?: string;
  now?: () => number;
}

const hex = () => crypto.randomUUID().replaceAll("-", "");
const norm = (uuid: string) => uuid.replaceAll("-", "").toLowerCase();

/** The fake Waldur server. `app` is a Hono app: serve it, or call `app.request` directly. */
export class FakeWaldur {
  readonly app: Hono;
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  readonly token: string;
  readonly offerings = new Map<
    string,
    {
      uuid: string;
      name: string;
      customer_uuid: string;
      components: (FakeComponent & { uuid: string })[];
    }
  >();
  readonly resources = new Map<string, FakeResource>();
  readonly orders = new Map<string, FakeOrder>();
  readonly teams = new Map<string, FakeTeamMember[]>();
  readonly usages: FakeUsage[] = [];
  readonly identities = new Map<
    string,
    { uuid: string; name: string; offering: string; services: string[] }
  >();
  /** Every request served: method, path (no query) and status. */
  readonly requests: RecordedRequest[] = [];
  #now: () => number;

  constructor(options: FakeWaldurOptions = {}) {
    this.token = options.token ?? "waldur-test-token";
    this.#now = options.now ?? (() => new Date().getTime());
    this.app = this.#routes();
  }

  // ---- control API ------------------------------------------------------------------------

  /** Adds an offering with components; returns its uuid. */
  addOffering(name: string, components: FakeComponent[], uuid = hex()): string {
    this.offerings.set(uuid, {
      uuid,
      name,
      customer_uuid: hex(),
      components: components.map((c) => ({ ...c, uuid: hex() })),
    });
    return uuid;
  }

  /** Orders a new resource: a `Creating` resource and a pending-provider Create order. */
  orderCreate(
    offering: string,
    spec: { name: string; slug?: string; limits?: Record<string, unknown> } & Owner,
  ): { order: string; resource: string } {
    const resource = this.#newResource(offering, spec, "Creating", "");
    const order = this.#newOrder("Create", resource, spec.limits ?? {});
    return { order, resource: resource.uuid };
  }

  /** Adds an existing, provisioned resource (state OK) without an order. */
  addResource(
    offering: string,
    spec:
      & { name: string; slug?: string; limits?: Record<string, unknown>; backend_id?: string }
      & Owner,
  ): string {
    return this.#newResource(offering, spec, "OK", spec.backend_id ?? "").uuid;
  }

  /** Orders new limits for a resource. */
  orderUpdate(resourceUuid: string, limits: Record<string, unknown>): string {
    const r = this.#resource(resourceUuid);
    r.state = "Updating";
    return this.#newOrder("Update", r, limits);
  }

  /** Orders the termination of a resource. */
  orderTerminate(resourceUuid: string): string {
    const r = this.#resource(resourceUuid);
    r.state = "Terminating";
    return this.#newOrder("Terminate", r, {});
  }

  /** Sets the team of a Waldur project (by the project's slug or uuid). */
  setTeam(project: string, members: FakeTeamMember[]): void {
    this.teams.set(this.#projectUuid(project), members);
  }

  /** Usages reported for one resource. */
  usagesOf(resourceUuid: string): FakeUsage[] {
    return this.usages.filter((u) => u.resource_uuid === norm(resourceUuid));
  }

  order(uuid: string): FakeOrder {
    const o = this.orders.get(norm(uuid));
    if (!o) throw new Error(`no order ${uuid}`);
    return o;
  }

  resource(uuid: string): FakeResource {
    return this.#resource(uuid);
  }

  /** Requests that changed something (every method but GET and HEAD). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
  }

  // ---- internals ----------------------------------------------------------------------------

  #projects = new Map<
    string,
    { uuid: string; slug: string; customer: { uuid: string; slug: string } }
  >();
  #customers = new Map<string, string>();

  #projectUuid(project: string): string {
    return this.#projects.get(project)?.uuid ?? norm(project);
  }

  #newResource(
    offering: string,
    spec: { name: string; slug?: string; limits?: Record<string, unknown> } & Owner,
    state: ResourceState,
    backendId: string,
  ): FakeResource {
    if (!this.offerings.has(norm(offering))) throw new Error(`no offering ${offering}`);
    let customerUuid = this.#customers.get(spec.customer);
    if (!customerUuid) this.#customers.set(spec.customer, customerUuid = hex());
    let project = this.#projects.get(spec.project);
    if (!project) {
      project = {
        uuid: hex(),
        slug: spec.project,
        customer: { uuid: customerUuid, slug: spec.customer },
      };
      this.#projects.set(spec.project, project);
    }
    const r: FakeResource = {
      uuid: hex(),
      name: spec.name,
      slug: spec.slug ?? spec.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""),
      state,
      backend_id: backendId,
      limits: { ...spec.limits },
      project_uuid: project.uuid,
      project_slug: project.slug,
      project_name: project.slug.replace(/-/g, " "),
      customer_uuid: customerUuid,
      customer_slug: spec.customer,
      customer_name: spec.customer.replace(/-/g, " "),
      offering_uuid: norm(offering),
      backend_metadata: {},
      paused: false,
      downscaled: false,
      restrict_member_access: false,
      error_message: "",
    };
    this.resources.set(r.uuid, r);
    return r;
  }

  #newOrder(type: OrderType, r: FakeResource, limits: Record<string, unknown>): string {
    const o: FakeOrder = {
      uuid: hex(),
      type,
      state: "pending-provider",
      offering_uuid: r.offering_uuid,
      marketplace_resource_uuid: r.uuid,
      resource_uuid: r.uuid,
      resource_name: r.name,
      project_uuid: r.project_uuid,
      project_slug: r.project_slug,
      customer_slug: r.customer_slug,
      limits,
      attributes: { name: r.name },
      created: new Date(this.#now()).toISOString(),
      error_message: "",
      error_traceback: "",
      provider_rejection_comment: "",
    };
    this.orders.set(o.uuid, o);
    return o.uuid;
  }

  #resource(uuid: string): FakeResource {
    const r = this.resources.get(norm(uuid));
    if (!r) throw new Error(`no resource ${uuid}`);
    return r;
  }

  /** What finishing an order does to its resource, as Waldur does it. */
  #finish(o: FakeOrder, outcome: "done" | "erred" | "rejected"): void {
    const r = this.resources.get(o.marketplace_resource_uuid);
    if (!r) return;
    if (outcome === "done") {
      if (o.type === "Create" || o.type === "Restore") r.state = "OK";
      if (o.type === "Update") {
        r.state = "OK";
        r.limits = { ...r.limits, ...o.limits };
      }
      if (o.type === "Terminate") r.state = "Terminated";
    } else if (outcome === "erred") {
      r.state = o.type === "Create" ? "Erred" : "OK";
      r.error_message = o.error_message;
    } else {
      r.state = o.type === "Create" ? "Terminated" : "OK";
    }
  }

  #routes(): Hono {
    const app = new Hono({ strict: true });
    app.use("*", recordRequests(this.requests));
    app.use("*", this.faults.middleware());
    app.use("/api/*", async (c, next) => {
      const auth = c.req.header("authorization") ?? "";
      if (auth !== `Token ${this.token}`) {
        return c.json({
          detail: auth ? "Invalid token." : "Authentication credentials were not provided.",
        }, 401);
      }
      await next();
    });

    app.get(
      "/api/users/me/",
      (c) => c.json({ uuid: "0f0e0d0c0b0a09080706050403020100", username: "berth-agent" }),
    );

    // orders
    app.get("/api/marketplace-orders/", (c) => {
      const states = c.req.queries("state") ?? [];
      const offering = c.req.query("offering_uuid");
      const list = [...this.orders.values()].filter((o) =>
        (offering === undefined || o.offering_uuid === norm(offering)) &&
        (states.length === 0 || states.includes(o.state))
      );
      return paginate(c, list);
    });
    app.get("/api/marketplace-orders/:uuid/", (c) => {
      const o = this.orders.get(norm(c.req.param("uuid")));
      return o ? c.json(o) : notFound(c);
    });
    const transition = (
      action: string,
      from: OrderState,
      to: OrderState,
      apply?: (o: FakeOrder, body: Record<string, unknown>) => void,
    ) => {
      app.post(`/api/marketplace-orders/:uuid/${action}/`, async (c) => {
        const o = this.orders.get(norm(c.req.param("uuid")));
        if (!o) return notFound(c);
        const body = await readJson(c);
        if (body === undefined) return c.json({ detail: "JSON parse error." }, 400);
        if (o.state !== from) {
          return c.json({ detail: `Order state must be ${from}, it is ${o.state}.` }, 400);
        }
        o.state = to;
        apply?.(o, body ?? {});
        if (to === "done" || to === "erred" || to === "rejected") this.#finish(o, to);
        return action === "approve_by_provider"
          ? c.json({ detail: "Order has been approved." }, 200)
          : c.body(null, 200);
      });
    };
    transition("approve_by_provider", "pending-provider", "executing");
    transition("reject_by_provider", "pending-provider", "rejected", (o, b) => {
      o.provider_rejection_comment = typeof b.provider_rejection_comment === "string"
        ? b.provider_rejection_comment
        : "";
    });
    transition("set_state_done", "executing", "done");
    transition("set_state_erred", "executing", "erred", (o, b) => {
      o.error_message = typeof b.error_message === "string" ? b.error_message : "";
      o.error_traceback = typeof b.error_traceback === "string" ? b.error_traceback : "";
    });

    // provider resources
    app.get("/api/marketplace-provider-resources/", (c) => {
      const states = c.req.queries("state") ?? [];
      const offerings = (c.req.query("offering_uuid") ?? "").split(",").filter(Boolean).map(norm);
      const backendId = c.req.query("backend_id");
      const list = [...this.resources.values()].filter((r) =>
        (offerings.length === 0 || offerings.includes(r.offering_uuid)) &&
        (states.length === 0 || states.includes(r.state)) &&
        // django-filter drops an empty filter: `backend_id=` lists every resource
        (backendId === undefined || backendId === "" || r.backend_id === backendId)
      );
      return paginate(c, list);
    });
    app.get("/api/marketplace-provider-resources/:uuid/", (c) => {
      const r = this.resources.get(norm(c.req.param("uuid")));
      return r ? c.json(r) : notFound(c);
    });
    app.get("/api/marketplace-provider-resources/:uuid/team/", (c) => {
      const r = this.resources.get(norm(c.req.param("uuid")));
      if (!r) return notFound(c);
      return c.json((this.teams.get(r.project_uuid) ?? []).map((m) => ({
        uuid: hex(),
        url: `https://waldur.test/api/users/${m.username}/`,
        username: m.username,
        full_name: m.full_name ?? m.username,
        email: m.email ?? `${m.username}@example.org`,
        role: m.role ?? "PROJECT.MEMBER",
        expiration_time: null,
        offering_user_username: m.offering_user_username === undefined
          ? m.username
          : m.offering_user_username,
        offering_user_state: m.offering_user_state === undefined ? "OK" : m.offering_user_state,
      })));
    });
    const resourceAction = (
      action: string,
      body: z.ZodType<Record<string, unknown>>,
      apply: (r: FakeResource, b: Record<string, unknown>) => void,
    ) => {
      app.post(`/api/marketplace-provider-resources/:uuid/${action}/`, async (c) => {
        const r = this.resources.get(norm(c.req.param("uuid")));
        if (!r) return notFound(c);
        const parsed = body.safeParse((await readJson(c)) ?? {});
        if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
        apply(r, parsed.data);
        return action === "set_as_erred" || action === "set_as_ok"
          ? c.body(null, 200)
          : c.json({ status: `${action} done` }, 200);
      });
    };
    resourceAction(
      "set_backend_id",
      z.object({ backend_id: z.string().max(255).optional() }),
      (r, b) => {
        r.backend_id = typeof b.backend_id === "string" ? b.backend_id : "";
      },
    );
    resourceAction(
      "set_limits",
      z.object({ limits: z.record(z.string(), z.unknown()) }),
      (r, b) => {
        r.limits = { ...(b.limits as Record<string, unknown>) };
      },
    );
    resourceAction(
      "set_backend_metadata",
      z.object({ backend_metadata: z.record(z.string(), z.unknown()) }),
      (r, b) => {
        r.backend_metadata = { ...(b.backend_metadata as Record<string, unknown>) };
      },
    );
    resourceAction(
      "set_as_erred",
      z.object({ error_message: z.string().optional(), error_traceback: z.string().optional() }),
      (r, b) => {
        r.state = "Erred";
        r.error_message = typeof b.error_message === "string" ? b.error_message : "";
      },
    );
    resourceAction("set_as_ok", z.object({}), (r) => {
      r.state = "OK";
      r.error_message = "";
    });

    // component usages
    app.get("/api/marketplace-component-usages/", (c) => {
      const resource = c.req.query("resource_uuid");
      const period = c.req.query("billing_period");
      return paginate(
        c,
        this.usages.filter((u) =>
          (resource === undefined || u.resource_uuid === norm(resource)) &&
          (period === undefined || u.billing_period === period)
        ),
      );
    });
    const SetUsage = z.object({
      usages: z.array(z.object({
        type: z.string().min(1),
        amount: z.string().regex(/^-?\d{0,18}(?:\.\d{0,2})?$/),
        description: z.string().optional(),
        recurring: z.boolean().optional(),
      })).min(1),
      resource: z.string().optional(),
      plan_period: z.string().optional(),
      date: z.iso.datetime({ offset: true }).optional(),
    });
    app.post("/api/marketplace-component-usages/set_usage/", async (c) => {
      const parsed = SetUsage.safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      const body = parsed.data;
      const r = body.resource ? this.resources.get(norm(body.resource)) : undefined;
      if (!r) return c.json({ resource: ["Object does not exist."] }, 400);
      const offering = this.offerings.get(r.offering_uuid);
      const date = body.date ?? new Date(this.#now()).toISOString();
      const period = `${date.slice(0, 7)}-01`;
      for (const u of body.usages) {
        if (!offering?.components.some((k) => k.type === u.type)) {
          return c.json({ usages: [`Component ${u.type} is not found.`] }, 400);
        }
      }
      for (const u of body.usages) {
        const existing = this.usages.find((x) =>
          x.resource_uuid === r.uuid && x.type === u.type && x.billing_period === period
        );
        if (existing) {
          existing.usage = u.amount;
          existing.date = date;
        } else {
          this.usages.push({
            uuid: hex(),
            resource_uuid: r.uuid,
            type: u.type,
            usage: u.amount,
            billing_period: period,
            date,
          });
        }
      }
      return c.body(null, 201);
    });

    // provider offerings
    app.get("/api/marketplace-provider-offerings/:uuid/", (c) => {
      const o = this.offerings.get(norm(c.req.param("uuid")));
      return o ? c.json({ ...o, state: "Active" }) : notFound(c);
    });
    const Component = z.object({
      billing_type: z.enum(["fixed", "usage", "limit", "one", "few"]),
      type: z.string().regex(/^[a-zA-Z0-9_\-/:]+$/).max(50),
      name: z.string().min(1).max(150),
      measured_unit: z.string().max(30).optional(),
      limit_amount: z.number().int().nullish(),
    }).loose();
    app.post("/api/marketplace-provider-offerings/:uuid/create_offering_component/", async (c) => {
      const o = this.offerings.get(norm(c.req.param("uuid")));
      if (!o) return notFound(c);
      const parsed = Component.safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      if (o.components.some((k) => k.type === parsed.data.type)) {
        return c.json({ type: ["Component with this type already exists."] }, 400);
      }
      o.components.push({
        ...parsed.data,
        measured_unit: parsed.data.measured_unit ?? "",
        limit_amount: parsed.data.limit_amount ?? null,
        uuid: hex(),
      });
      return c.body(null, 201);
    });
    app.post("/api/marketplace-provider-offerings/:uuid/update_offering_component/", async (c) => {
      const o = this.offerings.get(norm(c.req.param("uuid")));
      if (!o) return notFound(c);
      const parsed = Component.extend({ uuid: z.string() }).safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      const k = o.components.find((x) => norm(x.uuid) === norm(parsed.data.uuid));
      if (!k) return c.json({ uuid: ["Component is not found."] }, 400);
      Object.assign(k, parsed.data, { uuid: k.uuid });
      return c.body(null, 200);
    });

    // agent identities
    const Identity = z.object({ offering: z.string(), name: z.string().min(1).max(150) }).loose();
    const identityJson = (
      i: { uuid: string; name: string; offering: string; services: string[] },
    ) => ({
      uuid: i.uuid,
      url: `https://waldur.test/api/marketplace-site-agent-identities/${i.uuid}/`,
      name: i.name,
      offering: i.offering,
      created: new Date(this.#now()).toISOString(),
      modified: new Date(this.#now()).toISOString(),
      services: i.services.map((name) => ({ name })),
    });
    app.get("/api/marketplace-site-agent-identities/", (c) => {
      const name = c.req.query("name");
      return paginate(
        c,
        [...this.identities.values()].filter((i) => name === undefined || i.name === name).map(
          identityJson,
        ),
      );
    });
    app.post("/api/marketplace-site-agent-identities/", async (c) => {
      const parsed = Identity.safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      const i = {
        uuid: hex(),
        name: parsed.data.name,
        offering: parsed.data.offering,
        services: [],
      };
      this.identities.set(i.uuid, i);
      return c.json(identityJson(i), 201);
    });
    app.put("/api/marketplace-site-agent-identities/:uuid/", async (c) => {
      const i = this.identities.get(norm(c.req.param("uuid")));
      if (!i) return notFound(c);
      const parsed = Identity.safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      return c.json(identityJson(i), 200);
    });
    app.post("/api/marketplace-site-agent-identities/:uuid/register_service/", async (c) => {
      const i = this.identities.get(norm(c.req.param("uuid")));
      if (!i) return notFound(c);
      const parsed = z.object({ name: z.string().min(1).max(150), mode: z.string().nullish() })
        .safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      const fresh = !i.services.includes(parsed.data.name);
      if (fresh) i.services.push(parsed.data.name);
      return c.json({ uuid: hex(), name: parsed.data.name, identity: i.uuid }, fresh ? 201 : 200);
    });

    app.notFound((c) => c.json({ detail: "Not found." }, 404));
    return app;
  }
}

function notFound(c: Context): Response {
  return c.json({ detail: "Not found." }, 404);
}

/** The body as JSON: `null` when empty, `undefined` when it is not JSON. */
async function readJson(c: Context): Promise<Record<string, unknown> | null | undefined> {
  const text = await c.req.text();
  if (text.trim() === "") return null;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? v as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join(".") : "non_field_errors";
    (out[key] ??= []).push(
      issue.code === "invalid_type" ? "This field is required." : issue.message,
    );
  }
  return out;
}

/** DRF LinkHeaderPagination: page, page_size (default 10, max 300), x-result-count and Link. */
function paginate<T>(c: Context, items: T[]): Response {
  const size = Math.min(300, Math.max(1, Number(c.req.query("page_size") ?? 10) || 10));
  const page = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / size));
  if (page > last && items.length > 0) return c.json({ detail: "Invalid page." }, 404);
  const url = new URL(c.req.url);
  const link = (p: number, rel: string) => {
    url.searchParams.set("page", String(p));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links = [link(1, "first")];
  if (page > 1) links.push(link(page - 1, "prev"));
  if (page < last) links.push(link(page + 1, "next"));
  links.push(link(last, "last"));
  c.header("x-result-count", String(items.length));
  c.header("link", links.join(", "));
  return c.json(items.slice((page - 1) * size, page * size));
}
