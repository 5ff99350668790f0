/**
 * The fake Waldur's in-memory state and control API: offerings with their components, resources
 * and their projects and customers, orders, project teams, component usages and site agent
 * identities; the request log and the faults. The route modules beside this one read and change
 * it; tests and the demo order resources and change things through its methods.
 */
import { Faults } from "../../fault.ts";
import type { RecordedRequest } from "../../fake_recorder.ts";
import type { ORDER_TYPES, OrderState, ResourceState } from "../schemas.ts";
import { FakeEvents, type RoleEvent } from "./events.ts";
import type { FakeRabbitOptions } from "./rabbit.ts";

/** One of Waldur's order types. */
export type OrderType = typeof ORDER_TYPES[number];

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
  /** When the customer approved the order; absent: it needed no approval. */
  consumer_reviewed_at?: string | null;
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

/** An offering as the fake stores it. */
export interface FakeOffering {
  uuid: string;
  name: string;
  customer_uuid: string;
  components: (FakeComponent & { uuid: string })[];
}

/** A site agent identity as the fake stores it. */
export interface FakeIdentity {
  uuid: string;
  name: string;
  offering: string;
  services: string[];
}

/** Who owns a new resource. */
export interface Owner {
  project: string;
  customer: string;
}

/** Options of the fake Waldur. */
export interface FakeWaldurOptions {
  token?: string;
  now?: () => number;
  /**
   * A RabbitMQ management API: event subscriptions then make vhosts, users and queues there, and
   * new orders and team changes publish events into the registered queues (`fake/events.ts`).
   */
  rabbit?: FakeRabbitOptions;
}

/** The user the API token belongs to (`/api/users/me/`; the vhost of its subscriptions). */
export const AGENT_USER = {
  uuid: "0f0e0d0c0b0a09080706050403020100",
  username: "berth-agent",
} as const;

/** A new uuid as Waldur writes it: 32 hex digits, no dashes. */
export function hex(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** A uuid as the fake stores it: without dashes, in lower case. */
export function norm(uuid: string): string {
  return uuid.replaceAll("-", "").toLowerCase();
}

/** What the fake Waldur holds, and the control API over it. */
export class WaldurState {
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  /** The API token (`Authorization: Token …`). */
  readonly token: string;
  /** Offerings by uuid. */
  readonly offerings = new Map<string, FakeOffering>();
  /** Resources by uuid. */
  readonly resources = new Map<string, FakeResource>();
  /** Orders by uuid. */
  readonly orders = new Map<string, FakeOrder>();
  /** Project uuid → its team. */
  readonly teams = new Map<string, FakeTeamMember[]>();
  /** Every component usage reported. */
  readonly usages: FakeUsage[] = [];
  /** Site agent identities by uuid. */
  readonly identities = new Map<string, FakeIdentity>();
  /** Every request served: method, path with query and status. */
  readonly requests: RecordedRequest[] = [];
  /** Event subscriptions, their queues and the events published (`fake/events.ts`). */
  readonly events: FakeEvents;
  #now: () => number;
  #users = new Map<string, string>();
  #projects = new Map<
    string,
    { uuid: string; slug: string; customer: { uuid: string; slug: string } }
  >();
  #customers = new Map<string, string>();

  constructor(options: FakeWaldurOptions = {}) {
    this.token = options.token ?? "waldur-test-token";
    this.#now = options.now ?? (() => new Date().getTime());
    this.events = new FakeEvents(options.rabbit);
  }

  /** The fake's clock, in epoch milliseconds. */
  now(): number {
    return this.#now();
  }

  /** The fake's clock as Waldur writes a date-time. */
  isoNow(): string {
    return new Date(this.#now()).toISOString();
  }

  /**
   * Publishes an `order` event for an order as Waldur does, into every queue registered for its
   * offering; resolves to how many queues took it (0 without RabbitMQ).
   */
  publishOrderEvent(offeringUuid: string, order: { uuid: string; state: string }): Promise<number> {
    return this.events.publish(norm(offeringUuid), "order", {
      order_uuid: norm(order.uuid),
      order_state: order.state,
    });
  }

  /** Publishes a `user_role` event into every queue registered for the offering. */
  publishRoleEvent(offeringUuid: string, event: RoleEvent): Promise<number> {
    return this.events.publish(norm(offeringUuid), "user_role", event);
  }

  /** Waits for the events the fake publishes by itself; throws the first that failed. */
  eventsSettled(): Promise<void> {
    return this.events.settled();
  }

  /** The uuid of the Waldur user with that username (made the first time it is asked). */
  userUuid(username: string): string {
    let uuid = this.#users.get(username);
    if (!uuid) this.#users.set(username, uuid = hex());
    return uuid;
  }

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

  /**
   * Sets the team of a Waldur project (by the project's slug or uuid). With RabbitMQ, each role
   * granted or revoked is a `user_role` event, once per offering with a resource in state OK in
   * the project (a changed role: the old one revoked, the new one granted).
   */
  setTeam(project: string, members: FakeTeamMember[]): void {
    const uuid = this.#projectUuid(project);
    const before = this.teams.get(uuid) ?? [];
    this.teams.set(uuid, members);
    if (!this.events.rabbit) return;
    const role = (m: FakeTeamMember) => m.role ?? "PROJECT.MEMBER";
    const key = (m: FakeTeamMember) => `${m.username}\u0000${role(m)}`;
    const was = new Set(before.map(key));
    const is = new Set(members.map(key));
    const changes = [
      ...before.filter((m) => !is.has(key(m))).map((m) => ({ m, granted: false })),
      ...members.filter((m) => !was.has(key(m))).map((m) => ({ m, granted: true })),
    ];
    const inProject = [...this.resources.values()].filter((r) =>
      r.project_uuid === uuid && r.state === "OK"
    );
    const offerings = [...new Set(inProject.map((r) => r.offering_uuid))];
    for (const offering of offerings) {
      for (const { m, granted } of changes) {
        this.events.publishLater(offering, "user_role", {
          user_uuid: this.userUuid(m.username),
          user_username: m.username,
          project_uuid: uuid,
          project_name: inProject[0]?.project_name ?? "",
          role_name: role(m),
          granted,
        });
      }
    }
  }

  /** Usages reported for one resource. */
  usagesOf(resourceUuid: string): FakeUsage[] {
    return this.usages.filter((u) => u.resource_uuid === norm(resourceUuid));
  }

  /** An order by uuid; throws when there is none. */
  order(uuid: string): FakeOrder {
    const o = this.orders.get(norm(uuid));
    if (!o) throw new Error(`no order ${uuid}`);
    return o;
  }

  /** A resource by uuid; throws when there is none. */
  resource(uuid: string): FakeResource {
    return this.#resource(uuid);
  }

  /** Requests that changed something (every method but GET and HEAD). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
  }

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
      created: this.isoNow(),
      error_message: "",
      error_traceback: "",
      provider_rejection_comment: "",
    };
    this.orders.set(o.uuid, o);
    this.events.publishLater(o.offering_uuid, "order", {
      order_uuid: o.uuid,
      order_state: o.state,
    });
    return o.uuid;
  }

  #resource(uuid: string): FakeResource {
    const r = this.resources.get(norm(uuid));
    if (!r) throw new Error(`no resource ${uuid}`);
    return r;
  }
}
