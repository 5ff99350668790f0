/** A resource as the backends see it, for tests that build one by hand. */
import type { ResourceSpec } from "../lib/backend.ts";

/** Resource `slug` of Waldur project `project`, its backend id `waldur-<slug>`. */
export function resourceSpec(
  slug: string,
  project: string,
  limits: Record<string, number>,
): ResourceSpec {
  return {
    uuid: `u-${slug}`,
    name: slug,
    slug,
    projectUuid: `p-${project}`,
    projectSlug: project,
    projectName: project,
    customerUuid: "c",
    customerSlug: "c",
    customerName: "c",
    backendId: `waldur-${slug}`,
    limits,
  };
}
