/**
 * Waldur's marketplace API as the site agent uses it: `Authorization: Token` (or an OIDC
 * client-credentials bearer), `page_size=300` (DRF's maximum) paging bounded by `MAX_LIST_ITEMS`
 * (`pages.ts`: whole lists to the end by `x-result-count`, orders page by page), repeated
 * `state=` params, every response parsed with zod. Paths are relative to the `/api` base.
 */
import { z } from "zod";
import type { Clock } from "../clock.ts";
import type { WaldurConfig } from "../config.ts";
import { BerthError } from "../errors.ts";
import type { Budget } from "../budget.ts";
import { createHttp, type Exchange, type Fetch, type Http, urlPath } from "../http.ts";
import { SingleFlight } from "../single_flight.ts";
import { type Checked, readAll, readPages } from "./pages.ts";
import {
  AgentIdentity,
  AgentService,
  Offering,
  OidcToken,
  Order,
  type OrderState,
  ProjectUser,
  Resource,
  type ResourceState,
  User,
} from "./schemas.ts";

/** Options of {@link createWaldurClient}. */
export interface WaldurClientOptions {
  config: WaldurConfig;
  fetch: Fetch;
  clock: Clock;
  userAgent: string;
  onExchange?: (exchange: Exchange) => void;
  /** Called with every token obtained at run time, so the redactor knows it. */
  onSecret?: (value: string) => void;
  /** The items all whole lists being read at once may hold (shared by every offering). */
  listBudget?: Budget;
}

export type { Checked };

/** One usage amount for `set_usage`. */
export interface UsageItem {
  type: string;
  amount: string;
}

/** The Waldur calls the processors and commands use. */
export interface WaldurClient {
  readonly http: Http;
  /** The token's user (`GET /users/me/`): proves the credentials. */
  me(): Promise<User>;
  /** Orders of an offering in the given states, every page. */
  listOrders(offeringUuid: string, states: readonly OrderState[]): Promise<Checked<Order>>;
  /**
   * Orders of an offering in the given states, page by page: each order once, one page held at
   * a time. Pass `next()` how many orders of the page just yielded left these states (finished),
   * so the orders that moved up are read, not skipped (`readPages` in `pages.ts`).
   */
  orderPages(
    offeringUuid: string,
    states: readonly OrderState[],
  ): AsyncGenerator<Checked<Order>, void, number | undefined>;
  approveOrder(uuid: string): Promise<void>;
  setOrderDone(uuid: string): Promise<void>;
  setOrderErred(uuid: string, message: string, traceback?: string): Promise<void>;
  /**
   * Resources of an offering in the given states (and holding `backendId`, and of the Waldur
   * project `projectUuid`: the list's `project_uuid` filter), every page.
   */
  listResources(
    offeringUuid: string,
    states: readonly ResourceState[],
    filter?: { backendId?: string; projectUuid?: string },
  ): Promise<Checked<Resource>>;
  getResource(uuid: string): Promise<Resource>;
  setResourceBackendId(uuid: string, backendId: string): Promise<void>;
  setResourceLimits(uuid: string, limits: Record<string, number>): Promise<void>;
  setResourceErred(uuid: string, message: string): Promise<void>;
  setResourceOk(uuid: string): Promise<void>;
  /** The team of a resource's Waldur project. */
  getTeam(resourceUuid: string): Promise<ProjectUser[]>;
  /** Upserts the usages of one resource for the period that contains `date`. */
  setUsage(resourceUuid: string, usages: UsageItem[], date: string): Promise<void>;
  getOffering(uuid: string): Promise<Offering>;
  createOfferingComponent(offeringUuid: string, body: Record<string, unknown>): Promise<void>;
  updateOfferingComponent(offeringUuid: string, body: Record<string, unknown>): Promise<void>;
  /**
   * Registers (or refreshes) the agent identity `agent-<offering>` and its services; returns the
   * identity's uuid. Called once at start: the Python agent did this every cycle.
   */
  registerIdentity(
    offeringUuid: string,
    version: string,
    services: readonly string[],
    now: string,
  ): Promise<string>;
}

/** Builds a Waldur client for one offering's connection. */
export function createWaldurClient(options: WaldurClientOptions): WaldurClient {
  const { config, clock } = options;
  let bearer: { token: string; until: number } | undefined;

  const tokenHttp = config.oidc
    ? createHttp({ system: "waldur", baseUrl: config.oidc.tokenUrl, fetch: options.fetch, clock })
    : undefined;

  // Requests of one pass ask for a token side by side: one grant serves them all.
  const grants = new SingleFlight<void>();

  async function authHeaders(): Promise<Record<string, string>> {
    const base = { "user-agent": options.userAgent };
    if (config.token !== undefined) return { ...base, authorization: `Token ${config.token}` };
    if (!config.oidc || !tokenHttp) return base;
    if (!bearer || bearer.until <= clock.monotonic()) await grants.run("token", grant);
    return { ...base, authorization: `Bearer ${bearer?.token ?? ""}` };
  }

  async function grant(): Promise<void> {
    if (!config.oidc || !tokenHttp) return;
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: config.oidc.clientId,
      client_secret: config.oidc.clientSecret,
    });
    const { data } = await tokenHttp.request("POST", "", {
      body: form,
      schema: OidcToken,
      action: "get an OIDC token",
    });
    const ttl = Math.max(30, (data.expires_in ?? 300) - 30) * 1000;
    options.onSecret?.(data.access_token);
    bearer = { token: data.access_token, until: clock.monotonic() + ttl };
  }

  const http: Http = createHttp({
    system: "waldur",
    baseUrl: config.apiUrl,
    fetch: options.fetch,
    clock,
    headers: authHeaders,
    ...(options.onExchange ? { onExchange: options.onExchange } : {}),
  });

  const orderPath = (uuid: string, action = "") =>
    urlPath`/marketplace-orders/${waldurUuid(uuid)}/` + (action ? `${action}/` : "");
  const resourcePath = (uuid: string, action = "") =>
    urlPath`/marketplace-provider-resources/${waldurUuid(uuid)}/` + (action ? `${action}/` : "");

  return {
    http,

    /** The token's user (`GET /users/me/`): proves the credentials. */
    async me(): Promise<User> {
      return (await http.request("GET", "/users/me/", {
        schema: User,
        action: "read the API user",
      })).data;
    },

    /** Orders of an offering in the given states, every page. */
    listOrders(offeringUuid: string, states: readonly OrderState[]): Promise<Checked<Order>> {
      return readAll(
        http,
        "/marketplace-orders/",
        Order,
        { offering_uuid: offeringUuid, state: states },
        "list orders",
        options.listBudget,
      );
    },

    orderPages(
      offeringUuid: string,
      states: readonly OrderState[],
    ): AsyncGenerator<Checked<Order>, void, number | undefined> {
      return readPages(
        http,
        "/marketplace-orders/",
        Order,
        { offering_uuid: offeringUuid, state: states },
        "list orders",
      );
    },

    async approveOrder(uuid: string): Promise<void> {
      await http.request("POST", orderPath(uuid, "approve_by_provider"), {
        body: {},
        action: `approve order ${uuid}`,
      });
    },

    async setOrderDone(uuid: string): Promise<void> {
      await http.request("POST", orderPath(uuid, "set_state_done"), {
        action: `set order ${uuid} done`,
      });
    },

    async setOrderErred(uuid: string, message: string, traceback = ""): Promise<void> {
      await http.request("POST", orderPath(uuid, "set_state_erred"), {
        body: { error_message: message, error_traceback: traceback },
        action: `set order ${uuid} erred`,
      });
    },

    /** Resources of an offering in the given states, every page. */
    listResources(
      offeringUuid: string,
      states: readonly ResourceState[],
      filter: { backendId?: string; projectUuid?: string } = {},
    ): Promise<Checked<Resource>> {
      return readAll(
        http,
        "/marketplace-provider-resources/",
        Resource,
        {
          offering_uuid: offeringUuid,
          state: states,
          ...(filter.backendId === undefined ? {} : { backend_id: filter.backendId }),
          ...(filter.projectUuid === undefined ? {} : { project_uuid: filter.projectUuid }),
        },
        filter.backendId !== undefined
          ? `list the resources holding ${filter.backendId}`
          : filter.projectUuid !== undefined
          ? `list the resources of project ${filter.projectUuid}`
          : "list resources",
        options.listBudget,
      );
    },

    async getResource(uuid: string): Promise<Resource> {
      return (await http.request("GET", resourcePath(uuid), {
        schema: Resource,
        action: `read resource ${uuid}`,
      })).data;
    },

    async setResourceBackendId(uuid: string, backendId: string): Promise<void> {
      await http.request("POST", resourcePath(uuid, "set_backend_id"), {
        body: { backend_id: backendId },
        idempotent: true,
        action: `set backend_id of resource ${uuid}`,
      });
    },

    async setResourceLimits(uuid: string, limits: Record<string, number>): Promise<void> {
      await http.request("POST", resourcePath(uuid, "set_limits"), {
        body: { limits },
        idempotent: true,
        action: `set limits of resource ${uuid}`,
      });
    },

    async setResourceErred(uuid: string, message: string): Promise<void> {
      await http.request("POST", resourcePath(uuid, "set_as_erred"), {
        body: { error_message: message, error_traceback: "" },
        idempotent: true,
        action: `mark resource ${uuid} erred`,
      });
    },

    async setResourceOk(uuid: string): Promise<void> {
      await http.request("POST", resourcePath(uuid, "set_as_ok"), {
        idempotent: true,
        action: `mark resource ${uuid} OK`,
      });
    },

    /** The team of a resource's Waldur project. */
    async getTeam(resourceUuid: string): Promise<ProjectUser[]> {
      return (await http.request("GET", resourcePath(resourceUuid, "team"), {
        schema: z.array(ProjectUser),
        action: `read the team of resource ${resourceUuid}`,
      })).data;
    },

    /** Upserts the usages of one resource for the period that contains `date`. */
    async setUsage(resourceUuid: string, usages: UsageItem[], date: string): Promise<void> {
      await http.request("POST", "/marketplace-component-usages/set_usage/", {
        body: { usages, resource: resourceUuid, date },
        idempotent: true,
        action: `report usage of resource ${resourceUuid}`,
      });
    },

    async getOffering(uuid: string): Promise<Offering> {
      return (await http.request(
        "GET",
        urlPath`/marketplace-provider-offerings/${waldurUuid(uuid)}/`,
        {
          schema: Offering,
          action: `read offering ${uuid}`,
        },
      )).data;
    },

    async createOfferingComponent(
      offeringUuid: string,
      body: Record<string, unknown>,
    ): Promise<void> {
      await http.request(
        "POST",
        urlPath`/marketplace-provider-offerings/${
          waldurUuid(offeringUuid)
        }/create_offering_component/`,
        {
          body,
          action: `create component ${String(body.type)}`,
        },
      );
    },

    async updateOfferingComponent(
      offeringUuid: string,
      body: Record<string, unknown>,
    ): Promise<void> {
      await http.request(
        "POST",
        urlPath`/marketplace-provider-offerings/${
          waldurUuid(offeringUuid)
        }/update_offering_component/`,
        {
          body,
          idempotent: true,
          action: `update component ${String(body.type)}`,
        },
      );
    },

    /**
     * Registers (or refreshes) the agent identity `agent-<offering>` and its services. Called
     * once at start: the Python agent did this every cycle.
     */
    async registerIdentity(
      offeringUuid: string,
      version: string,
      services: readonly string[],
      now: string,
    ): Promise<string> {
      const name = `agent-${offeringUuid}`;
      const found = await http.request("GET", "/marketplace-site-agent-identities/", {
        query: { name },
        schema: z.array(AgentIdentity),
        action: "look up the agent identity",
      });
      const body = {
        offering: offeringUuid,
        name,
        version,
        last_restarted: now,
        dependencies: [{ package: "berth", version }],
        config_file_path: "",
        config_file_content: "",
      };
      const existing = found.data.find((i) => i.name === name);
      const identity = existing
        ? (await http.request(
          "PUT",
          urlPath`/marketplace-site-agent-identities/${waldurUuid(existing.uuid)}/`,
          {
            body,
            schema: AgentIdentity,
            action: "update the agent identity",
          },
        )).data
        : (await http.request("POST", "/marketplace-site-agent-identities/", {
          body,
          schema: AgentIdentity,
          action: "register the agent identity",
        })).data;
      for (const service of services) {
        await http.request(
          "POST",
          urlPath`/marketplace-site-agent-identities/${
            waldurUuid(identity.uuid)
          }/register_service/`,
          {
            body: { name: service, mode: service },
            schema: AgentService,
            idempotent: true,
            action: `register service ${service}`,
          },
        );
      }
      return identity.uuid;
    },
  };
}

/** A Waldur uuid (hex, with or without dashes) as a path segment, or a refusal. */
function waldurUuid(uuid: string): string {
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(uuid)) {
    throw new BerthError(`refusing ${JSON.stringify(uuid.slice(0, 80))} as a Waldur uuid`, {
      system: "waldur",
      transient: false,
    });
  }
  return uuid;
}
