/**
 * zod schemas of the Waldur objects Berth reads (Waldur 8.0.5 OpenAPI). Only the fields Berth
 * uses are declared; unknown fields pass. Limits stay `unknown` here: the processors validate
 * them per order so one hostile order cannot break the whole list.
 */
import { z } from "zod";

/** Every state a Waldur marketplace order can be in. */
export const ORDER_STATES = [
  "pending-consumer",
  "pending-provider",
  "pending-project",
  "pending-start-date",
  "executing",
  "done",
  "erred",
  "canceled",
  "rejected",
] as const;
/** One of {@link ORDER_STATES}. */
export type OrderState = typeof ORDER_STATES[number];

/** The kinds of marketplace order Berth handles. */
export const ORDER_TYPES = ["Create", "Update", "Terminate", "Restore"] as const;
/** One of {@link ORDER_TYPES}. */
export type OrderType = typeof ORDER_TYPES[number];

/** Every state a Waldur marketplace resource can be in. */
export const RESOURCE_STATES = [
  "Creating",
  "OK",
  "Erred",
  "Updating",
  "Terminating",
  "Terminated",
] as const;
/** One of {@link RESOURCE_STATES}. */
export type ResourceState = typeof RESOURCE_STATES[number];

const text = z.string().nullish().transform((v) => v ?? "");

/** A marketplace order of the offering: what to create, update, terminate or restore. */
export const Order = z.object({
  uuid: z.string().min(1),
  type: z.enum(ORDER_TYPES),
  state: z.enum(ORDER_STATES),
  marketplace_resource_uuid: z.string().nullish(),
  resource_uuid: z.string().nullish(),
  resource_name: text,
  project_uuid: text,
  project_slug: text,
  customer_slug: text,
  limits: z.unknown().optional(),
  attributes: z.unknown().optional(),
  created: text,
  /** When the customer approved the order (null or absent when it needed no approval). */
  consumer_reviewed_at: text,
  error_message: text,
});
export type Order = z.infer<typeof Order>;

/** A marketplace resource of the offering; `backend_id` names what Berth made for it. */
export const Resource = z.object({
  uuid: z.string().min(1),
  name: text,
  slug: text,
  state: z.enum(RESOURCE_STATES),
  backend_id: text,
  limits: z.unknown().optional(),
  project_uuid: text,
  project_slug: text,
  project_name: text,
  customer_uuid: text,
  customer_slug: text,
  customer_name: text,
  offering_uuid: text,
  paused: z.boolean().nullish(),
  downscaled: z.boolean().nullish(),
  restrict_member_access: z.boolean().nullish(),
});
export type Resource = z.infer<typeof Resource>;

/** A member of a resource's project (its team), with the offering user's username if any. */
export const ProjectUser = z.object({
  uuid: z.string(),
  username: z.string(),
  full_name: text,
  email: text,
  role: text,
  offering_user_username: z.string().nullish(),
  offering_user_state: z.string().nullish(),
});
export type ProjectUser = z.infer<typeof ProjectUser>;

/** One accounting component of an offering as Waldur has it (`type` is the component key). */
export const OfferingComponent = z.object({
  uuid: z.string(),
  type: z.string(),
  name: z.string(),
  billing_type: z.string(),
  measured_unit: text,
  limit_amount: z.number().nullish(),
});
export type OfferingComponent = z.infer<typeof OfferingComponent>;

/** The offering Berth serves, with its components (`berth diagnose`, `load-components`). */
export const Offering = z.object({
  uuid: z.string(),
  name: text,
  state: text,
  customer_uuid: text,
  components: z.array(OfferingComponent).default([]),
});
export type Offering = z.infer<typeof Offering>;

/** The API token's own user (`/users/me/`), read to prove the credentials. */
export const User = z.object({ uuid: z.string(), username: z.string() });
export type User = z.infer<typeof User>;

/** Berth's site-agent identity in Waldur, registered (or updated) at start. */
export const AgentIdentity = z.object({ uuid: z.string(), name: z.string() });
/** A loop registered as a service of the agent identity. */
export const AgentService = z.object({ uuid: z.string(), name: z.string() });

/** The OIDC token endpoint's answer (client-credentials grant) when no API token is set. */
export const OidcToken = z.object({ access_token: z.string(), expires_in: z.number().optional() });

/** An item of a list that did not match its schema, kept so the caller can report it. */
export interface Rejected {
  uuid?: string;
  problem: string;
}
