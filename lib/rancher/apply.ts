/**
 * The one place a planned Rancher action is performed, for orders and the membership pass alike:
 * each action is one or two requests and one audit event. A refusal Rancher gives (422, a
 * namespace of that name elsewhere) is a terminal error in words an operator can act on.
 */
import { HttpError, terminal } from "../errors.ts";
import type { RancherClient } from "./client.ts";
import { ANNOTATIONS } from "./naming.ts";
import { describe, describeQuota, type RancherAction } from "./plan.ts";
import { type Project, PROJECT_ID_KEY } from "./schemas.ts";

/** What {@link applyRancher} works with. */
export interface RancherApplyContext {
  client: RancherClient;
  cluster: string;
  namespaceLabels: Readonly<Record<string, string>>;
  /** Projects Berth adopted (their rows say so). */
  adopted: Set<string>;
  /** `resource`: the Waldur resource the change was made for, when it was one. */
  audit: (action: string, target: string, detail: string, resource?: string) => void;
}

/**
 * Performs one action. `projects` holds, by resource uuid, the project each resource's earlier
 * actions made or changed: a `create-project` puts the new one there, and the actions planned
 * for it (`projectId` "") find it there.
 */
export async function applyRancher(
  ctx: RancherApplyContext,
  action: RancherAction,
  projects: Map<string, Project>,
): Promise<void> {
  const { client } = ctx;
  const { target, detail } = describe(action);
  const resource = action.resources[0] ?? "";
  const audit = (what: string, on: string, text: string): void =>
    ctx.audit(what, on, text, resource || undefined);
  const projectId = "projectId" in action
    ? action.projectId || projects.get(resource)?.id || ""
    : "";
  switch (action.kind) {
    case "create-project": {
      const quota = action.quota ? { limit: action.quota } : null;
      const made = await client.createProject({
        name: action.project,
        clusterId: ctx.cluster,
        description: action.description,
        annotations: action.annotations,
        resourceQuota: quota,
        namespaceDefaultResourceQuota: quota,
      });
      projects.set(resource, made);
      audit(
        "create project",
        action.project,
        `${made.id}${action.quota ? `, ${describeQuota(action.quota)}` : ""}`,
      );
      return;
    }
    case "set-quota": {
      const quota = action.quota ? { limit: action.quota } : null;
      try {
        projects.set(
          resource,
          await client.updateProject(projectId, {
            resourceQuota: quota,
            namespaceDefaultResourceQuota: quota,
          }),
        );
      } catch (error) {
        if (error instanceof HttpError && error.status === 422) {
          throw terminal(
            "rancher",
            `Rancher refused the quota ${
              action.quota ? describeQuota(action.quota) : "(none)"
            } for ${action.project}: ${error.bodyExcerpt}`,
            error,
          );
        }
        throw error;
      }
      audit(action.repair ? "repair quota" : "set quota", target, describeQuota(action.quota));
      return;
    }
    case "adopt-project":
      projects.set(
        resource,
        await client.updateProject(projectId, { annotations: action.annotations }),
      );
      ctx.adopted.add(projectId);
      audit("adopt project", target, detail);
      return;
    case "create-namespace":
      await createNamespace(ctx, projectId, action.namespace);
      return;
    case "create-binding":
      try {
        await client.createPrtb({
          projectId,
          roleTemplateId: action.role,
          groupPrincipalId: action.principal,
        });
      } catch (error) {
        if (error instanceof HttpError && error.status === 422) {
          throw terminal(
            "rancher",
            `Rancher refused to bind ${action.principal} to ${action.project} as ${action.role}: ${error.bodyExcerpt}`,
            error,
          );
        }
        throw error;
      }
      audit("bind group", action.project, `${action.principal} as ${action.role}`);
      return;
    case "delete-binding":
      await client.deletePrtb(action.prtbId);
      audit("delete binding", target, detail);
      return;
    case "delete-project":
      await client.deleteProject(action.projectId);
      audit("delete project", action.project, action.projectId);
      return;
  }
}

/** Creates a project's default namespace; one of that name already in the project is fine. */
async function createNamespace(
  ctx: RancherApplyContext,
  projectId: string,
  name: string,
): Promise<void> {
  try {
    await ctx.client.createNamespace(ctx.cluster, {
      name,
      labels: { ...ctx.namespaceLabels },
      annotations: { [PROJECT_ID_KEY]: projectId, [ANNOTATIONS.managed]: "true" },
    });
    ctx.audit("create namespace", name, `in ${projectId}`);
  } catch (error) {
    if (!(error instanceof HttpError && error.status === 409)) throw error;
    const ns = await ctx.client.namespace(ctx.cluster, name);
    const owner = ns?.metadata.annotations?.[PROJECT_ID_KEY];
    if (owner !== projectId) {
      throw terminal(
        "kubernetes",
        `namespace ${name} already exists ${
          owner ? `in project ${owner}` : "outside any project"
        }; cannot make it the default namespace of ${projectId}`,
        error,
      );
    }
  }
}
