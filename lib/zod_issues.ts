/** zod issues as the operator reads them: `offerings[1].backend_settings.cluster_id: Required`. */
import type { z } from "zod";

/** zod issues as `path: message; path: message`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`).join("; ") +
    (issues.length > 5 ? `; and ${issues.length - 5} more` : "");
}

/** A zod path as `offerings[1].backend_settings.cluster_id`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}
