/**
 * Turns what Waldur says about a resource into a validated {@link ResourceSpec}. Limits are
 * checked here, per resource, so one hostile order (a negative, huge or non-numeric limit)
 * becomes one clear terminal error instead of breaking the pass.
 */
import type { Limits, ResourceSpec } from "./backend.ts";
import { terminal } from "./errors.ts";
import type { Resource } from "./waldur/schemas.ts";

/** Waldur stores limits as 32-bit integers. */
const MAX_LIMIT = 2_147_483_647;

/** Validates a limits object from Waldur; `where` names it in errors ("order limits"). */
export function parseLimits(raw: unknown, where: string): Limits {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw terminal("waldur", `${where}: expected an object of numbers`);
  }
  const out: Limits = {};
  for (const [key, value] of Object.entries(raw)) {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n)) {
      throw terminal("waldur", `${where}.${key}: expected a number`);
    }
    if (n < 0) throw terminal("waldur", `${where}.${key}: must not be negative`);
    if (n > MAX_LIMIT) {
      throw terminal("waldur", `${where}.${key}: larger than Waldur allows (${MAX_LIMIT})`);
    }
    out[key] = n;
  }
  return out;
}

/** True when `raw` says anything about limits (an empty object or nothing says nothing). */
export function hasLimits(raw: unknown): boolean {
  if (raw === undefined || raw === null) return false;
  return typeof raw !== "object" || Array.isArray(raw) || Object.keys(raw).length > 0;
}

/**
 * What a Waldur project or customer slug may hold. Those slugs name OIDC and Keycloak groups
 * (where `/` is a path separator) and Rancher principals, so anything else is refused here,
 * before any backend sees it. (The resource's own slug is checked by each backend's name rules.)
 */
const OWNER_SLUG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

/** The spec of a Waldur resource with the given limits. */
export function toSpec(resource: Resource, limits: Limits): ResourceSpec {
  if (resource.slug === "") throw terminal("waldur", `resource ${resource.uuid} has no slug`);
  const owners: [string, string][] = [
    ["project", resource.project_slug],
    ["customer", resource.customer_slug],
  ];
  for (const [what, slug] of owners) {
    if (slug !== "" && !OWNER_SLUG.test(slug)) {
      throw terminal(
        "waldur",
        `resource ${resource.uuid}: the ${what} slug ${JSON.stringify(slug.slice(0, 64))} is not ` +
          "a slug (letters, digits, '-', '_' and '.'); it would name groups and paths",
      );
    }
  }
  return {
    uuid: resource.uuid,
    name: resource.name,
    slug: resource.slug,
    projectUuid: resource.project_uuid,
    projectSlug: resource.project_slug,
    projectName: resource.project_name,
    customerUuid: resource.customer_uuid,
    customerSlug: resource.customer_slug,
    customerName: resource.customer_name,
    backendId: resource.backend_id,
    limits,
  };
}

/** True when both hold the same amounts for the same components. */
export function sameLimits(a: Limits, b: Limits): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
