/**
 * zod schemas of the Waldur objects Berth reads (Waldur 8.0.5 OpenAPI). Only the fields Berth
 * uses are declared; unknown fields pass. Limits stay `unknown` here: the processors validate
 * them per order so one hostile order cannot break the whole list.
 */
import { z } from "zod";

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
export type OrderState = typeof ORDER_STATES[number];

export const ORDER_TYPES = ["Create", "Update", "Terminate", "Restore"] as const;
export type OrderType = typeof ORDER_TYPES[number];

export const RESOURCE_STATES = [
  "Creating",
  "OK",
  "Erred",
  "Updating",
  "Terminating",
  "Terminated",
] as const;
export type ResourceState = typeof RESOURCE_STATES[number];

const text = z.string().nullish().transform((v) => v ?? "");

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
  error_message: text,
});
export type Order = z.infer<typeof Order>;

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

export const OfferingComponent = z.object({
  uuid: z.string(),
  type: z.string(),
  name: z.string(),
  billing_type: z.string(),
  measured_unit: text,
  limit_amount: z.number().nullish(),
});
export type OfferingComponent = z.infer<typeof OfferingComponent>;

export const Offering = z.object({
  uuid: z.string(),
  name: text,
  state: text,
  customer_uuid: text,
  components: z.array(OfferingComponent).default([]),
});
export type Offering = z.infer<typeof Offering>;

export const User = z.object({ uuid: z.string(), username: z.string() });
export type User = z.infer<typeof User>;

export const AgentIdentity = z.object({ uuid: z.string(), name: z.string() });
export const AgentService = z.object({ uuid: z.string(), name: z.string() });

export const OidcToken = z.object({ access_token: z.string(), expires_in: z.number().optional() });

/** An item of a list that did not match its schema, kept so the caller can report it. */
export interface Rejected {
  uuid?: string;
  problem: string;
}
