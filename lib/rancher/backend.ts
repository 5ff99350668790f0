/**
 * The Rancher backend: one Rancher project per Waldur resource (`project_prefix` + slug) in
 * `cluster_id`, with CPU and memory quotas from the resource's limits and a default namespace;
 * with Keycloak, one child group per Waldur project and role under a parent group per cluster,
 * bound to the project with `default_role`, holding the Waldur project team. A pass reads
 * Rancher with a few paged lists, Keycloak with one members read per group; a Keycloak outage
 * never blocks Rancher work, and a group is deleted only when no project still uses it.
 */
import { z } from "zod";
import type {
  Backend,
  BackendContext,
  BackendPlugin,
  Check,
  EnsureResult,
  Limits,
  MemberSync,
  Outcome,
  PlannedAction,
  ResourceSpec,
  UsageResult,
} from "../backend.ts";
import { BerthError, errorMessage, HttpError, isTransient, terminal } from "../errors.ts";
import { createKeycloakClient, type KeycloakClient, KeycloakSettings } from "../keycloak/client.ts";
import {
  adoptedAttributes,
  groupOwnership,
  type GroupState,
  MANAGED_BY,
  PROJECT_ATTRIBUTE,
} from "../keycloak/sync.ts";
import { forEachKeyed, forEachLimit } from "../pool.ts";
import { KeyedLock } from "../keyed_lock.ts";
import { SingleFlight } from "../single_flight.ts";
import { backendFetch, warnKeycloakVerify } from "../tls.ts";
import { createChecks } from "../checks.ts";
import { createRancherClient, type RancherClient } from "./client.ts";
import {
  ANNOTATIONS,
  berthAnnotations,
  childGroup,
  type ChildWant,
  describe,
  findProject,
  type GroupAction,
  type GroupsObserved,
  isUser,
  type KcUser,
  parentGroup,
  planGroups,
  planRancher,
  principal,
  projectName,
  projectOwnership,
  quotaLimit,
  quotaMatches,
  type RancherAction,
  type RancherNaming,
  type RancherObserved,
} from "./plan.ts";
import { parseQuantity } from "./quantity.ts";
import {
  type Namespace,
  namespaceNameProblem,
  type Project,
  PROJECT_ID_KEY,
  type Prtb,
} from "./schemas.ts";
import { requestsByNamespace } from "./usage.ts";

/** `backend_settings` of a Rancher offering (the Python plugin's keys, plus Berth's own). */
export const RancherSettings = z.object({
  backend_url: z.string().url(),
  /** Access key (the Python plugin calls it username). */
  username: z.string().min(1).optional(),
  /** Secret key. */
  password: z.string().min(1).optional(),
  /** Or a bearer token `token-xxxxx:secret`. */
  token: z.string().min(1).optional(),
  cluster_id: z.string().regex(
    /^(local|c-[a-z0-9-]+)$/,
    "a cluster id such as c-m-1234abcd or c-j8276 (not a project id c-…:p-…)",
  ),
  verify_cert: z.boolean().default(true),
  /** PEM file of the CA that signed Rancher's certificate. */
  ca_file: z.string().min(1).optional(),
  project_prefix: z.string().default("waldur-"),
  default_role: z.string().min(1).default("workloads-manage"),
  keycloak_enabled: z.boolean().default(false),
  keycloak_use_user_id: z.boolean().default(true),
  keycloak: KeycloakSettings.optional(),
  /** Name of the cluster's parent group: `{cluster_id}`, `{cluster_hex8}`. */
  keycloak_parent_group: z.string().min(1).default("c_{cluster_hex8}"),
  /** Name of a project's child group: `{project_slug}`, `{project_uuid_hex}`, `{role}`, ... */
  keycloak_child_group: z.string().min(1).default("project_{project_slug}_{role}"),
  /** How Rancher names a Keycloak group principal (`keycloakoidc` provider). */
  group_principal_prefix: z.string().min(1).default("keycloakoidc_group://"),
  namespace_labels: z.record(z.string(), z.string()).default({}),
  /** What Terminate does with a project whose namespaces still hold volume claims. */
  termination: z.enum(["refuse", "purge"]).default("refuse"),
}).strict()
  .refine((s) => s.token !== undefined || (s.username !== undefined && s.password !== undefined), {
    message: "give username and password (the API key's access and secret key), or token",
  })
  .refine((s) => !s.keycloak_enabled || s.keycloak !== undefined, {
    message: "keycloak_enabled: true needs the keycloak: settings",
    path: ["keycloak"],
  });
export type RancherSettings = z.infer<typeof RancherSettings>;

/** One Rancher project as the status page shows it. */
export interface RancherRow extends Record<string, unknown> {
  project: string;
  projectId: string | null;
  resource: string;
  resourceName: string;
  cluster: string;
  cpuRequested: number | null;
  cpuLimit: number | null;
  memoryRequestedBytes: number | null;
  memoryLimitBytes: number | null;
  storageRequestedBytes: number | null;
  namespaces: string[];
  flags: string[];
}

/** One Keycloak group as the status page shows it (the same row the group sync reports). */
export type GroupRow = GroupState;

const GIB = 1024 ** 3;

/** What a Keycloak id looks like (a username that does not is never used as one). */
const KEYCLOAK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The key of the cluster's parent group among remembered Keycloak ids. */
const PARENT_KEY = "\u0000parent";

/** Options that tests and the factory share. */
export interface RancherBackendOptions {
  context: BackendContext<RancherSettings>;
  client?: RancherClient;
  keycloak?: KeycloakClient;
}

/** The Rancher backend. */
export class RancherBackend implements Backend {
  readonly kind = "rancher";
  readonly client: RancherClient;
  readonly naming: RancherNaming;
  readonly #ctx: BackendContext<RancherSettings>;
  readonly #s: RancherSettings;
  readonly #kc: KeycloakClient | undefined;
  readonly #rows = new Map<string, RancherRow>();
  readonly #groups = new Map<string, GroupRow>();
  readonly #adopted = new Set<string>();
  /** Keycloak group ids Berth has seen: the parent (under {@link PARENT_KEY}) and children. */
  readonly #kcIds = new Map<string, string>();
  readonly #kcFlights = new SingleFlight<string>();
  /** The Waldur project each remembered child group was checked (or made) for. */
  readonly #childProjects = new Map<string, string>();
  /** Resources whose project a Terminate removed: their rows stay off the page. */
  readonly #gone = new Set<string>();
  readonly #teamFlights = new SingleFlight<string[]>();
  readonly #creates = new KeyedLock();
  /** Projects this Create just made (their quota is already the one asked for). */
  readonly #created = new Set<string>();
  /** Child groups this process made and nobody has filled yet. */
  readonly #fresh = new Set<string>();

  constructor(options: RancherBackendOptions) {
    this.#ctx = options.context;
    this.#s = options.context.settings;
    this.#kc = options.keycloak;
    const kinds: Record<string, "cpu" | "memory" | "storage"> = {};
    for (const [key, c] of Object.entries(this.#ctx.components)) {
      const type = typeof c.type === "string" ? c.type : key;
      if (type === "cpu") kinds[key] = "cpu";
      else if (type === "ram" || type === "memory") kinds[key] = "memory";
      else if (type === "storage") kinds[key] = "storage";
    }
    this.naming = {
      clusterId: this.#s.cluster_id,
      projectPrefix: this.#s.project_prefix,
      role: this.#s.default_role,
      parentTemplate: this.#s.keycloak_parent_group,
      childTemplate: this.#s.keycloak_child_group,
      principalPrefix: this.#s.group_principal_prefix,
      kinds,
    };
    this.client = options.client ?? createRancherClient({
      url: this.#s.backend_url,
      auth: this.#s.token
        ? { token: this.#s.token }
        : { accessKey: this.#s.username ?? "", secretKey: this.#s.password ?? "" },
      fetch: this.#ctx.fetch,
      clock: this.#ctx.clock,
      onExchange: this.#ctx.onExchange,
    });
  }

  get #cluster(): string {
    return this.#s.cluster_id;
  }

  get #bindGroups(): boolean {
    return this.#s.keycloak_enabled;
  }

  // ---- orders ------------------------------------------------------------------------------

  get needsTeam(): boolean {
    return this.#kc !== undefined;
  }

  async ensure(resource: ResourceSpec, team?: readonly string[]): Promise<EnsureResult> {
    const name = projectName(resource, this.naming);
    const problem = namespaceNameProblem(name);
    if (problem) {
      throw terminal("rancher", `cannot create Rancher project for ${resource.name}: ${problem}`);
    }
    const quota = quotaLimit(resource.limits, this.naming);
    // One Create per project name at a time: two orders of one slug side by side would each find
    // no project and make one (Rancher allows two of a name); the second now finds the first's.
    let project = await this.#creates.run(name, async () => {
      const found = await this.#resolve(resource);
      if (found) return found;
      const made = await this.client.createProject({
        name,
        clusterId: this.#cluster,
        description: `${resource.name} (Customer: ${
          resource.customerName || resource.customerSlug
        }, Project: ${resource.projectName || resource.projectSlug})`,
        annotations: berthAnnotations(resource),
        resourceQuota: quota ? { limit: quota } : null,
        namespaceDefaultResourceQuota: quota ? { limit: quota } : null,
      });
      this.#audit(
        "create project",
        name,
        `${made.id}${quota ? `, ${describeQuota(quota)}` : ""}`,
      );
      this.#created.add(made.id);
      return made;
    });
    const adopted = this.#adopted.has(project.id);
    if (!this.#created.delete(project.id) && !quotaMatches(project, quota)) {
      project = await this.client.updateProject(project.id, {
        resourceQuota: quota ? { limit: quota } : null,
        namespaceDefaultResourceQuota: quota ? { limit: quota } : null,
      });
      this.#audit("set quota", name, quota ? describeQuota(quota) : "no quota");
    }
    const namespaces = await this.#ensureNamespace(project, name);
    if (this.#kc) {
      // The group before the binding: one that is another Waldur project's is refused before
      // its team gets access. An outage is reported and the membership pass makes the groups.
      try {
        const childId = await this.#ensureGroups(resource);
        if (team) {
          // orders of one Waldur project side by side: one read and one add per member
          const unknown = await this.#teamFlights.run(
            `${childId}\u0000${team.join("\u0000")}`,
            () => this.#addTeam(resource, childId, team),
          );
          if (unknown.length > 0) {
            this.#ctx.log.info(
              `Keycloak group ${childGroup(resource, this.naming)}: ${
                unknown.join(", ")
              } not in realm ${this.#realm} yet (added by the membership pass once they exist)`,
            );
          }
        }
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.#keycloakFailed(childGroup(resource, this.naming), error, "create");
      }
    }
    if (this.#bindGroups) await this.#ensureBinding(project, resource);
    this.#row(resource, project, { namespaces });
    this.#publish();
    return { backendId: project.id, limits: { ...resource.limits }, adopted };
  }

  async setLimits(resource: ResourceSpec, limits: Limits): Promise<void> {
    const project = await this.#resolve(resource);
    if (!project) {
      throw terminal(
        "rancher",
        `cannot change the quota of ${
          projectName(resource, this.naming)
        }: the Rancher project does not exist`,
      );
    }
    const quota = quotaLimit(limits, this.naming);
    if (!quotaMatches(project, quota)) {
      try {
        const updated = await this.client.updateProject(project.id, {
          resourceQuota: quota ? { limit: quota } : null,
          namespaceDefaultResourceQuota: quota ? { limit: quota } : null,
        });
        this.#row({ ...resource, limits }, updated, {});
      } catch (error) {
        if (error instanceof HttpError && error.status === 422) {
          throw terminal(
            "rancher",
            `Rancher refused the quota ${
              quota ? describeQuota(quota) : "(none)"
            } for ${project.name}: ${error.bodyExcerpt}`,
            error,
          );
        }
        throw error;
      }
      this.#audit("set quota", project.name, quota ? describeQuota(quota) : "no quota");
    }
    this.#publish();
  }

  async remove(resource: ResourceSpec): Promise<"deleted" | "absent"> {
    // Without a backend_id, Waldur names no project for this resource: only one annotated for it
    // (made by Berth, then a crash) is its own; an unannotated look-alike is never adopted to be
    // deleted.
    const project = await this.#resolve(resource, { adopt: resource.backendId !== "" });
    let result: "deleted" | "absent" = "absent";
    if (project) {
      if (this.#s.termination === "refuse") {
        const held = await this.#claimsHeld(project);
        if (held) {
          throw terminal(
            "rancher",
            `${held}; it was not deleted (termination: refuse). Delete the claims, or set ` +
              "termination: purge",
          );
        }
      }
      try {
        await this.client.deleteProject(project.id);
        result = "deleted";
        this.#audit("delete project", project.name, project.id);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 404)) throw error;
      }
      this.#rows.delete(project.id);
    }
    this.#gone.add(resource.uuid);
    if (this.#kc) {
      try {
        await this.#releaseGroup(resource, project?.id ?? "");
      } catch (error) {
        this.#keycloakFailed(childGroup(resource, this.naming), error, "clean up");
      }
    }
    this.#publish();
    return result;
  }

  /** What the project's volume claims hold, in words, or null when it holds none. */
  async #claimsHeld(project: Project): Promise<string | null> {
    const pName = project.id.split(":")[1] ?? "";
    // Only the project's own namespaces are read: a cluster-wide list per Terminate is waste.
    const claims = [];
    for (const ns of await this.client.listNamespaces(this.#cluster, pName)) {
      claims.push(...await this.client.listPvcs(this.#cluster, ns.metadata.name));
    }
    if (claims.length === 0) return null;
    let bytes = 0;
    for (const c of claims) {
      try {
        bytes += parseQuantity(c.spec.resources?.requests?.storage ?? "0");
      } catch { /* counted, not sized */ }
    }
    return `Rancher project ${project.name} still holds ${claims.length} persistent volume ${
      claims.length === 1 ? "claim" : "claims"
    } (${(bytes / GIB).toFixed(2)} GB) in ${
      [...new Set(claims.map((c) => c.metadata.namespace))].join(", ")
    }`;
  }

  async removalBlocker(resource: ResourceSpec): Promise<string | null> {
    const id = resource.backendId;
    if (!id.startsWith(`${this.#cluster}:`)) return `backend_id ${id} is not in ${this.#cluster}`;
    const project = await this.client.project(id);
    if (!project) return null;
    const owned = projectOwnership(resource, project, this.naming);
    if (owned.kind === "refused") return owned.why;
    return this.#s.termination === "refuse" ? await this.#claimsHeld(project) : null;
  }

  /**
   * The project a resource may act on, or null when it has none: found by its backend_id (which
   * must name a project of the configured cluster), else by its derived name. A project that is
   * not its own ({@link projectOwnership}), or that another resource of the offering holds in
   * Waldur, is a terminal refusal; an adoptable one is annotated for it first, and audited.
   */
  async #resolve(resource: ResourceSpec, options = { adopt: true }): Promise<Project | null> {
    let project: Project | null = null;
    const id = resource.backendId;
    if (id) {
      if (!id.startsWith(`${this.#cluster}:`)) {
        throw terminal(
          "rancher",
          `backend_id ${JSON.stringify(id.slice(0, 80))} is not a project of the configured ` +
            `cluster ${this.#cluster}; nothing was changed`,
        );
      }
      project = await this.client.project(id);
    }
    if (!project) {
      const name = projectName(resource, this.naming);
      const same = (await this.client.listProjects(this.#cluster, name)).filter((p) =>
        p.name === name
      );
      // With a backend_id whose project is gone, only one annotated for this resource counts:
      // a look-alike made since is not what Waldur's resource had.
      project = same.find((p) => p.annotations?.[ANNOTATIONS.resource] === resource.uuid) ??
        (id ? null : same.find((p) => !p.annotations?.[ANNOTATIONS.resource]) ?? same[0]) ??
        null;
    }
    if (!project) return null;
    const owned = projectOwnership(resource, project, this.naming);
    if (!options.adopt && owned.kind !== "own") return null;
    if (owned.kind === "refused") throw terminal("rancher", owned.why);
    const others = (await this.#ctx.claimedBy(project.id)).filter((u) => u !== resource.uuid);
    if (others.length > 0) {
      throw terminal(
        "rancher",
        `Rancher project ${project.id} (${project.name}) is held by another resource of this ` +
          `offering (${others.join(", ")}); nothing was changed`,
      );
    }
    if (owned.kind === "adopt") {
      project = await this.client.updateProject(project.id, {
        annotations: { ...project.annotations, ...berthAnnotations(resource) },
      });
      this.#adopted.add(project.id);
      this.#ctx.log.warn(
        `Rancher project ${project.name} (${project.id}) had no Berth annotation; adopted for ` +
          `resource ${resource.name}`,
        { project: project.id, resource: resource.uuid },
      );
      this.#audit("adopt project", project.name, `${project.id} for ${resource.uuid}`);
    }
    return project;
  }

  /** The project's namespaces; creates the default one when it has none. */
  async #ensureNamespace(project: Project, name: string): Promise<string[]> {
    const pName = project.id.split(":")[1] ?? "";
    const existing = await this.client.listNamespaces(this.#cluster, pName);
    if (existing.length > 0) return existing.map((n) => n.metadata.name).sort();
    await this.#createNamespace(project.id, name);
    return [name];
  }

  async #createNamespace(projectId: string, name: string): Promise<void> {
    try {
      await this.client.createNamespace(this.#cluster, {
        name,
        labels: { ...this.#s.namespace_labels },
        annotations: { [PROJECT_ID_KEY]: projectId, [ANNOTATIONS.managed]: "true" },
      });
      this.#audit("create namespace", name, `in ${projectId}`);
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 409)) throw error;
      const ns = await this.client.namespace(this.#cluster, name);
      const owner = ns?.metadata.annotations?.[PROJECT_ID_KEY];
      if (owner !== projectId) {
        throw terminal(
          "kubernetes",
          `namespace ${name} already exists ${
            owner ? `in project ${owner}` : "outside any project"
          }; ` +
            `cannot make it the default namespace of ${projectId}`,
          error,
        );
      }
    }
  }

  /** Binds the resource's child group to its project with the role, if not yet bound. */
  async #ensureBinding(project: Project, resource: ResourceSpec): Promise<void> {
    const want = principal(childGroup(resource, this.naming), this.naming);
    const bindings = await this.client.listPrtbs(project.id);
    if (
      bindings.some((b) => b.groupPrincipalId === want && b.roleTemplateId === this.naming.role)
    ) return;
    await this.#bind(project.id, project.name, want);
  }

  async #bind(projectId: string, project: string, groupPrincipal: string): Promise<void> {
    try {
      await this.client.createPrtb({
        projectId,
        roleTemplateId: this.naming.role,
        groupPrincipalId: groupPrincipal,
      });
    } catch (error) {
      if (error instanceof HttpError && error.status === 422) {
        throw terminal(
          "rancher",
          `Rancher refused to bind ${groupPrincipal} to ${project} as ${this.naming.role}: ${error.bodyExcerpt}`,
          error,
        );
      }
      throw error;
    }
    this.#audit("bind group", project, `${groupPrincipal} as ${this.naming.role}`);
  }

  /**
   * The resource's child group (and the cluster's parent), found or made once: orders of one
   * Waldur project running side by side share one lookup and one create, a known id needs no
   * lookup, and the parent is looked up once, not once per order. Resolves the child's id.
   */
  #ensureGroups(resource: ResourceSpec): Promise<string> {
    const child = childGroup(resource, this.naming);
    const known = this.#kcIds.get(child);
    const holder = this.#childProjects.get(child);
    if (known !== undefined && holder !== undefined) {
      // a remembered group is checked like a found one: another Waldur project's is refused
      if (holder !== resource.projectUuid) {
        return Promise.reject(this.#conflict(child, holder, resource.projectUuid));
      }
      return Promise.resolve(known);
    }
    return this.#kcFlights.run(`${child}\u0000${resource.projectUuid}`, async () => {
      const id = await this.#retryOnGone(() => this.#findOrMakeChild(resource, child));
      this.#kcIds.set(child, id);
      this.#childProjects.set(child, resource.projectUuid);
      return id;
    });
  }

  #conflict(child: string, holder: string, projectUuid: string): BerthError {
    return terminal(
      "keycloak",
      `Keycloak group /${parentGroup(this.naming)}/${child} belongs to Waldur project ${holder}, ` +
        `not ${projectUuid}: binding it would give that project's team access; nothing was ` +
        "bound. Give the projects distinct slugs or use {project_uuid_hex} in keycloak_child_group",
    );
  }

  /** The cluster's parent group id, looked up (or made) once and remembered. */
  #parentId(): Promise<string> {
    const known = this.#kcIds.get(PARENT_KEY);
    if (known !== undefined) return Promise.resolve(known);
    return this.#kcFlights.run(PARENT_KEY, async () => {
      const name = parentGroup(this.naming);
      const id = (await this.#need().findGroup(name))?.id ?? await this.#createParent(name);
      this.#kcIds.set(PARENT_KEY, id);
      return id;
    });
  }

  /** Runs `work`; when Keycloak answers 404 (a remembered group deleted by hand), forgets and retries once. */
  async #retryOnGone<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404)) throw error;
      this.#kcIds.clear();
      this.#childProjects.clear();
      return await work();
    }
  }

  async #findOrMakeChild(resource: ResourceSpec, child: string): Promise<string> {
    const kc = this.#need();
    const parentName = parentGroup(this.naming);
    const parentId = await this.#parentId();
    const found = await kc.findChild(parentId, child);
    if (found) {
      const owned = groupOwnership(
        found.attributes?.[PROJECT_ATTRIBUTE]?.[0],
        resource.projectUuid,
      );
      if (typeof owned === "object") {
        throw this.#conflict(child, owned.conflict, resource.projectUuid);
      }
      if (owned === "adopt") {
        await kc.setAttributes(
          found.id,
          child,
          adoptedAttributes(found.attributes, resource.projectUuid),
        );
        this.#audit("adopt group", `/${parentName}/${child}`, `realm ${this.#realm}`, "keycloak");
      }
      return found.id;
    }
    const id = await kc.createChild(parentId, child, {
      ...MANAGED_BY,
      [PROJECT_ATTRIBUTE]: [resource.projectUuid],
    });
    this.#fresh.add(id);
    this.#audit("create group", `/${parentName}/${child}`, `realm ${this.#realm}`, "keycloak");
    return id;
  }

  /**
   * Puts the team into a new resource's child group at Create, so access does not wait for the
   * membership pass: adds who is missing (removals are the membership pass's, which sees every
   * resource of the project). Resolves the usernames Keycloak does not know.
   */
  async #addTeam(
    resource: ResourceSpec,
    childId: string,
    team: readonly string[],
  ): Promise<string[]> {
    const kc = this.#need();
    const group = childGroup(resource, this.naming);
    const path = `/${parentGroup(this.naming)}/${group}`;
    const byId = this.#s.keycloak_use_user_id;
    // a group made a moment ago has no members: nothing to read
    const fresh = this.#fresh.delete(childId);
    const members = fresh
      ? []
      : (await kc.members(childId)).map((m) => ({ id: m.id, username: m.username }));
    const unknown: string[] = [];
    for (const u of team) {
      if (members.some((m) => isUser(m, u, byId))) continue;
      // With keycloak_use_user_id the username is the user's id: added directly, no lookup
      // (a 404 is a user Keycloak does not know by that id; then it is looked up by username).
      if (byId && KEYCLOAK_ID.test(u)) {
        try {
          await kc.addToGroup(u, childId);
          members.push({ id: u, username: u });
          this.#audit("add group member", path, u, "keycloak");
          continue;
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 404)) throw error;
        }
      }
      const user = await kc.userByUsername(u);
      if (!user) {
        unknown.push(u);
        continue;
      }
      await kc.addToGroup(user.id, childId);
      members.push({ id: user.id, username: user.username });
      this.#audit("add group member", path, user.username, "keycloak");
    }
    return unknown;
  }

  async #createParent(name: string): Promise<string> {
    const id = await this.#need().createGroup(name, {
      ...MANAGED_BY,
      description: [`Cluster access group for ${this.#cluster}`],
    });
    this.#audit("create group", `/${name}`, `realm ${this.#realm}`, "keycloak");
    return id;
  }

  /**
   * After a project is gone: deletes its child group when no other project of the cluster uses
   * it (bound to it, or of the same Waldur project), then the parent when it has no children.
   */
  async #releaseGroup(resource: ResourceSpec, goneProjectId: string): Promise<void> {
    const kc = this.#need();
    const child = childGroup(resource, this.naming);
    const want = principal(child, this.naming);
    const [projects, bindings] = await Promise.all([
      this.client.listProjects(this.#cluster),
      this.client.listPrtbs(),
    ]);
    const live = new Set(projects.map((p) => p.id));
    live.delete(goneProjectId);
    const bound = bindings.some((b) => b.groupPrincipalId === want && live.has(b.projectId));
    const sibling = projects.some((p) =>
      p.id !== goneProjectId && p.annotations?.[ANNOTATIONS.project] === resource.projectUuid
    );
    if (bound || sibling) {
      this.#ctx.log.info(
        `Keycloak group ${child} kept: another resource of project ${resource.projectSlug} uses it`,
      );
      return;
    }
    const parentName = parentGroup(this.naming);
    const parent = await kc.findGroup(parentName);
    if (!parent) return;
    const children = await kc.children(parent.id);
    const found = children.find((g) => g.name === child);
    if (found) {
      await kc.deleteGroup(found.id);
      this.#groups.delete(`/${parentName}/${child}`);
      this.#audit("delete group", `/${parentName}/${child}`, "no resource uses it", "keycloak");
    }
    if (
      children.filter((g) => g.name !== child).length === 0 &&
      parent.attributes?.managed_by?.[0] === "berth"
    ) {
      await kc.deleteGroup(parent.id);
      this.#audit("delete group", `/${parentName}`, "no child groups left", "keycloak");
    }
  }

  // ---- membership --------------------------------------------------------------------------

  /** Reads what a Rancher plan needs: projects, namespaces and bindings, as paged lists. */
  async observe(): Promise<RancherObserved & { all: Prtb[] }> {
    const [projects, namespaces, prtbs] = await Promise.all([
      this.client.listProjects(this.#cluster),
      this.client.listNamespaces(this.#cluster),
      this.#bindGroups ? this.client.listPrtbs() : Promise.resolve([] as Prtb[]),
    ]);
    const byProject = new Map<string, Namespace[]>();
    for (const n of namespaces) {
      const p = n.metadata.labels?.[PROJECT_ID_KEY] ??
        n.metadata.annotations?.[PROJECT_ID_KEY]?.split(":")[1];
      if (p) byProject.set(p, [...byProject.get(p) ?? [], n]);
    }
    const bindings = new Map<string, Prtb[]>();
    for (const b of prtbs) bindings.set(b.projectId, [...bindings.get(b.projectId) ?? [], b]);
    return {
      projects: new Map(projects.map((p) => [p.id, p])),
      namespaces: byProject,
      prtbs: bindings,
      all: prtbs,
    };
  }

  /** The child groups the resources want, one per Waldur project. */
  #wants(items: readonly MemberSync[]): ChildWant[] {
    const wants = new Map<string, ChildWant & { names: Set<string> }>();
    for (const i of items) {
      const group = childGroup(i.resource, this.naming);
      const w = wants.get(group) ??
        {
          group,
          projectUuid: i.resource.projectUuid,
          resources: [],
          usernames: [],
          names: new Set<string>(),
        };
      w.resources.push(i.resource.uuid);
      for (const u of i.usernames) w.names.add(u);
      wants.set(group, w);
    }
    return [...wants.values()].map(({ names, ...w }) => ({ ...w, usernames: [...names].sort() }));
  }

  /** Reads the parent, its children, one members list per wanted group, and unknown users. */
  async observeGroups(wants: readonly ChildWant[]): Promise<GroupsObserved> {
    const kc = this.#need();
    const parent = await kc.findGroup(parentGroup(this.naming));
    const children = parent ? await kc.children(parent.id) : [];
    const childMap = new Map(children.map((g) => [g.name, {
      id: g.id,
      managed: g.attributes?.managed_by?.[0] === "berth",
      projectUuid: g.attributes?.[PROJECT_ATTRIBUTE]?.[0] ?? "",
      ...(g.attributes ? { attributes: g.attributes } : {}),
    }]));
    const members = new Map<string, KcUser[] | Error>();
    await forEachLimit(
      wants.filter((w) => childMap.has(w.group)),
      this.#ctx.concurrency,
      async (w) => {
        try {
          members.set(
            w.group,
            (await kc.members(childMap.get(w.group)?.id ?? "")).map((u) => ({
              id: u.id,
              username: u.username,
            })),
          );
        } catch (error) {
          members.set(w.group, error instanceof Error ? error : new Error(String(error)));
        }
      },
    );
    const unknown = new Set<string>();
    for (const w of wants) {
      const have = members.get(w.group);
      for (const u of w.usernames) {
        if (Array.isArray(have) && have.some((m) => isUser(m, u, this.#s.keycloak_use_user_id))) {
          continue;
        }
        unknown.add(u);
      }
    }
    const users = new Map<string, KcUser | null | Error>();
    await forEachLimit([...unknown], this.#ctx.concurrency, async (u) => {
      try {
        const found = (this.#s.keycloak_use_user_id ? await kc.userById(u) : null) ??
          await kc.userByUsername(u);
        users.set(u, found ? { id: found.id, username: found.username } : null);
      } catch (error) {
        users.set(u, error instanceof Error ? error : new Error(String(error)));
      }
    });
    return {
      parent: parent
        ? { id: parent.id, managed: parent.attributes?.managed_by?.[0] === "berth" }
        : null,
      children: childMap,
      members,
      users,
    };
  }

  async reconcile(all: readonly MemberSync[]): Promise<Map<string, Outcome>> {
    // Resources of two Waldur projects whose child group would be one (the same project slug):
    // their team would get the other's projects. Nothing is done for them, and they say why.
    const shared = this.#sharedGroups(all.map((i) => i.resource));
    const items = all.filter((i) => !shared.has(i.resource.uuid));
    const resources = items.map((i) => i.resource);
    const observed = await this.observe();
    const { actions, problems } = planRancher(resources, observed, this.naming, {
      bindGroups: this.#bindGroups,
    });
    const outcomes = new Map<string, Outcome>();
    for (const r of resources) outcomes.set(r.uuid, { ok: true, changes: 0 });
    for (const [uuid, problem] of problems) {
      outcomes.set(uuid, { ok: false, error: terminal("rancher", problem) });
    }
    const count = (uuids: readonly string[], error?: unknown) => {
      for (const uuid of uuids) {
        const o = outcomes.get(uuid);
        if (error !== undefined) outcomes.set(uuid, { ok: false, error });
        else if (o?.ok) outcomes.set(uuid, { ok: true, changes: o.changes + 1 });
      }
    };
    await forEachKeyed(actions, (a) => a.projectId, this.#ctx.concurrency, async (action) => {
      try {
        await this.#applyRancher(action);
        count(action.resources);
      } catch (error) {
        count(action.resources, error);
      }
    });
    if (this.#kc) await this.#syncGroups(items, observed, outcomes, count);
    for (const [uuid, why] of shared) outcomes.set(uuid, { ok: false, error: why });
    this.#observeRows(resources, observed, actions);
    this.#publish();
    return outcomes;
  }

  /** Resources whose child group other Waldur projects' resources want too, with why. */
  #sharedGroups(resources: readonly ResourceSpec[]): Map<string, BerthError> {
    const out = new Map<string, BerthError>();
    if (!this.#bindGroups) return out;
    const byGroup = Map.groupBy(resources, (r) => childGroup(r, this.naming));
    for (const [group, rs] of byGroup) {
      const projects = [...new Set(rs.map((r) => r.projectUuid))];
      if (projects.length < 2) continue;
      const why = terminal(
        "keycloak",
        `Keycloak group ${group} would hold the teams of ${projects.length} Waldur projects ` +
          `(${projects.join(", ")}), each getting the others' projects; nothing was changed. ` +
          "Give the projects distinct slugs or use {project_uuid_hex} in keycloak_child_group",
      );
      for (const r of rs) out.set(r.uuid, why);
    }
    return out;
  }

  async #syncGroups(
    items: readonly MemberSync[],
    observed: RancherObserved & { all: Prtb[] },
    outcomes: Map<string, Outcome>,
    count: (uuids: readonly string[], error?: unknown) => void,
  ): Promise<void> {
    const wants = this.#wants(items);
    const parentName = parentGroup(this.naming);
    let plan;
    let groups;
    try {
      groups = await this.observeGroups(wants);
      plan = planGroups(parentName, wants, groups, this.#groupOptions(observed));
      for (const w of wants) {
        const m = groups.members.get(w.group);
        this.#groupRow(parentName, w.group, {
          members: Array.isArray(m) ? m.length : groups.children.has(w.group) ? null : 0,
          added: [],
          removed: [],
          missing: plan.missing.get(w.group) ?? [],
          error: plan.problems.get(w.group) ?? "",
        });
      }
    } catch (error) {
      // Keycloak is down: Rancher work is done; these resources show the Keycloak error.
      for (const w of wants) {
        for (const uuid of w.resources) {
          if (outcomes.get(uuid)?.ok) outcomes.set(uuid, { ok: false, error });
        }
        this.#keycloakFailed(w.group, error, "sync");
      }
      return;
    }
    for (const [group, problem] of plan.problems) {
      const w = wants.find((x) => x.group === group);
      if (w) {
        count(
          w.resources,
          new BerthError(`keycloak: group ${group}: ${problem}`, {
            system: "keycloak",
            transient: true,
          }),
        );
      }
    }
    for (const [group, users] of plan.missing) {
      this.#ctx.log.warn(
        `Keycloak group ${group}: ${users.join(", ")} not found in realm ${this.#realm}; not added`,
      );
    }
    // The groups the observation found need no lookup to be changed.
    const ids = new Map<string, string>();
    for (const [name, child] of groups.children) ids.set(name, child.id);
    if (groups.parent) ids.set("\u0000parent", groups.parent.id);
    const apply = async (action: GroupAction) => {
      const resources = "resources" in action ? action.resources : [];
      try {
        await this.#applyGroup(action, ids);
        count(resources);
      } catch (error) {
        count(resources, error);
        this.#keycloakFailed(action.group, error, action.kind);
      }
    };
    // The parent first and last; the child groups side by side, each one's actions in order.
    const isParent = (a: GroupAction) => a.kind === "create-parent" || a.kind === "delete-parent";
    for (const a of plan.actions.filter((a) => a.kind === "create-parent")) await apply(a);
    await forEachKeyed(
      plan.actions.filter((a) => !isParent(a)),
      (a) => a.group,
      this.#ctx.concurrency,
      apply,
    );
    for (const a of plan.actions.filter((a) => a.kind === "delete-parent")) await apply(a);
  }

  #groupOptions(observed: RancherObserved & { all: Prtb[] }) {
    const inUse = new Set<string>();
    for (const b of observed.all) {
      if (
        b.groupPrincipalId?.startsWith(this.naming.principalPrefix) &&
        observed.projects.has(b.projectId)
      ) {
        inUse.add(b.groupPrincipalId.slice(this.naming.principalPrefix.length));
      }
    }
    const liveProjects = new Set<string>();
    for (const p of observed.projects.values()) {
      const uuid = p.annotations?.[ANNOTATIONS.project];
      if (uuid) liveProjects.add(uuid);
    }
    return { byId: this.#s.keycloak_use_user_id, inUse, liveProjects };
  }

  async #applyRancher(action: RancherAction): Promise<void> {
    const { target, detail } = describe(action);
    switch (action.kind) {
      case "set-quota":
        await this.client.updateProject(action.projectId, {
          resourceQuota: action.quota ? { limit: action.quota } : null,
          namespaceDefaultResourceQuota: action.quota ? { limit: action.quota } : null,
        });
        this.#audit("repair quota", target, detail);
        return;
      case "adopt-project":
        await this.client.updateProject(action.projectId, { annotations: action.annotations });
        this.#adopted.add(action.projectId);
        this.#audit("adopt project", target, detail);
        return;
      case "create-namespace":
        await this.#createNamespace(action.projectId, action.namespace);
        return;
      case "create-binding":
        await this.#bind(action.projectId, action.project, action.principal);
        return;
      case "delete-binding":
        await this.client.deletePrtb(action.prtbId);
        this.#audit("delete binding", target, detail);
        return;
    }
  }

  async #applyGroup(action: GroupAction, ids: Map<string, string>): Promise<void> {
    const kc = this.#need();
    const parentName = parentGroup(this.naming);
    const parentId = async () => {
      let id = ids.get("\u0000parent");
      if (!id) {
        id = (await kc.findGroup(parentName))?.id ?? await this.#createParent(parentName);
        ids.set("\u0000parent", id);
      }
      return id;
    };
    const childId = async (group: string) => {
      let id = ids.get(group);
      if (!id) {
        id = (await kc.findChild(await parentId(), group))?.id;
        if (!id) {
          throw new BerthError(`keycloak: group ${group} vanished`, {
            system: "keycloak",
            transient: true,
          });
        }
        ids.set(group, id);
      }
      return id;
    };
    const path = `/${parentName}/${action.group}`;
    const row = this.#groups.get(path);
    switch (action.kind) {
      case "create-parent":
        await parentId();
        return;
      case "create-child": {
        const id = await kc.createChild(await parentId(), action.group, {
          ...MANAGED_BY,
          waldur_project_uuid: [action.projectUuid],
        });
        ids.set(action.group, id);
        this.#audit("create group", path, `realm ${this.#realm}`, "keycloak");
        return;
      }
      case "adopt-child":
        await kc.setAttributes(action.id, action.group, action.attributes);
        ids.set(action.group, action.id);
        this.#audit("adopt group", path, describe(action).detail, "keycloak");
        return;
      case "add-member":
        await kc.addToGroup(action.user.id, await childId(action.group));
        this.#audit("add group member", path, action.user.username, "keycloak");
        if (row) {
          row.added.push(action.user.username);
          row.members = (row.members ?? 0) + 1;
        }
        return;
      case "remove-member":
        await kc.removeFromGroup(action.user.id, await childId(action.group));
        this.#audit("remove group member", path, action.user.username, "keycloak");
        if (row) {
          row.removed.push(action.user.username);
          row.members = Math.max(0, (row.members ?? 1) - 1);
        }
        return;
      case "delete-child":
        await kc.deleteGroup(action.id);
        this.#groups.delete(path);
        this.#audit("delete group", path, "no resource uses it", "keycloak");
        return;
      case "delete-parent":
        await kc.deleteGroup(action.id);
        this.#audit("delete group", `/${parentName}`, "no child groups left", "keycloak");
        return;
    }
  }

  async plan(items: readonly MemberSync[]): Promise<PlannedAction[]> {
    const resources = items.map((i) => i.resource);
    const observed = await this.observe();
    const { actions, problems } = planRancher(resources, observed, this.naming, {
      bindGroups: this.#bindGroups,
    });
    const out: PlannedAction[] = actions.map((a) => ({ action: a.kind, ...describe(a) }));
    for (const r of resources) {
      const problem = problems.get(r.uuid);
      if (problem) {
        out.push({ target: projectName(r, this.naming), action: "problem", detail: problem });
      }
    }
    if (this.#kc) {
      const wants = this.#wants(items);
      try {
        const g = planGroups(
          parentGroup(this.naming),
          wants,
          await this.observeGroups(wants),
          this.#groupOptions(observed),
        );
        out.push(...g.actions.map((a) => ({ action: `keycloak ${a.kind}`, ...describe(a) })));
        for (const [group, users] of g.missing) {
          out.push({
            target: group,
            action: "missing-users",
            detail: `${users.join(", ")} not in realm ${this.#realm}`,
          });
        }
        for (const [group, problem] of g.problems) {
          out.push({ target: group, action: "problem", detail: problem });
        }
      } catch (error) {
        out.push({
          target: parentGroup(this.naming),
          action: "problem",
          detail: errorMessage(error),
        });
      }
    }
    return out;
  }

  // ---- usage -------------------------------------------------------------------------------

  async usage(resources: readonly ResourceSpec[]): Promise<Map<string, UsageResult>> {
    const out = new Map<string, UsageResult>();
    let lists;
    try {
      lists = await Promise.all([
        this.client.listProjects(this.#cluster),
        this.client.listNamespaces(this.#cluster),
        this.client.listActivePods(this.#cluster),
        this.client.listPvcs(this.#cluster),
      ]);
    } catch (error) {
      for (const r of resources) out.set(r.uuid, { ok: false, error });
      return out;
    }
    const [projects, namespaces, pods, pvcs] = lists;
    const byNs = requestsByNamespace(pods, pvcs);
    const nsOf = new Map<string, string[]>();
    for (const n of namespaces) {
      const p = n.metadata.labels?.[PROJECT_ID_KEY] ??
        n.metadata.annotations?.[PROJECT_ID_KEY]?.split(":")[1];
      if (p) nsOf.set(p, [...nsOf.get(p) ?? [], n.metadata.name]);
    }
    const projectMap = new Map(projects.map((p) => [p.id, p]));
    for (const r of resources) {
      const p = findProject(r, projectMap, this.naming);
      if (!p) {
        out.set(r.uuid, {
          ok: false,
          error: terminal(
            "rancher",
            `Rancher project ${
              r.backendId || projectName(r, this.naming)
            } not found; usage not read`,
          ),
        });
        this.#placeholder(r, ["missing"]);
        continue;
      }
      const names = (nsOf.get(p.id.split(":")[1] ?? "") ?? []).sort();
      let cpu = 0;
      let memory = 0;
      let storage = 0;
      let failed: Error | undefined;
      for (const ns of names) {
        const q = byNs.get(ns);
        if (q instanceof Error) {
          failed = new BerthError(`${p.name}, namespace ${ns}: ${q.message}`, {
            system: "kubernetes",
            transient: false,
          });
        } else if (q) {
          cpu += q.cpuCores;
          memory += q.memoryBytes;
          storage += q.storageBytes;
        }
      }
      if (failed) {
        out.set(r.uuid, { ok: false, error: failed });
        continue;
      }
      const amounts: Record<string, number> = {};
      for (const [component, kind] of Object.entries(this.naming.kinds)) {
        amounts[component] = kind === "cpu"
          ? cpu
          : kind === "memory"
          ? memory / GIB
          : storage / GIB;
      }
      out.set(r.uuid, { ok: true, amounts });
      this.#row(r, p, {
        namespaces: names,
        cpuRequested: cpu,
        memoryRequestedBytes: memory,
        storageRequestedBytes: storage,
      });
    }
    this.#publish();
    return out;
  }

  // ---- diagnose ----------------------------------------------------------------------------

  async diagnose(): Promise<Check[]> {
    const { checks, probe } = createChecks();
    const ok = await probe("rancher cluster", async () => {
      const c = await this.client.cluster(this.#cluster);
      if (c.state && c.state !== "active") {
        throw new Error(`cluster ${c.id} (${c.name}) is ${c.state}, not active`);
      }
      return `${c.id} (${c.name}) is ${c.state ?? "reachable"}${
        c.version?.gitVersion ? `, Kubernetes ${c.version.gitVersion}` : ""
      }`;
    });
    if (!ok) return checks;
    await probe(
      "rancher projects",
      async () =>
        `${(await this.client.listProjects(this.#cluster)).length} projects in ${this.#cluster}`,
    );
    if (this.#bindGroups) {
      await probe(
        "rancher role bindings",
        async () => `${(await this.client.listPrtbs()).length} project role bindings readable`,
      );
    }
    await probe(
      "kubernetes namespaces",
      async () =>
        `${
          (await this.client.listNamespaces(this.#cluster)).length
        } namespaces readable through the Rancher proxy`,
    );
    await probe("kubernetes pods and claims", async () => {
      const [pods, pvcs] = await Promise.all([
        this.client.listActivePods(this.#cluster),
        this.client.listPvcs(this.#cluster),
      ]);
      return `${pods.length} active pods, ${pvcs.length} volume claims readable (usage)`;
    });
    if (this.#kc) {
      const kc = this.#kc;
      await probe("keycloak", async () => {
        const realm = await kc.realm();
        const parent = await kc.findGroup(parentGroup(this.naming));
        return `realm ${realm.realm} readable; parent group ${parentGroup(this.naming)} ${
          parent ? "exists" : "will be created"
        }`;
      });
    }
    return checks;
  }

  // ---- status ------------------------------------------------------------------------------

  #observeRows(
    resources: readonly ResourceSpec[],
    observed: RancherObserved,
    actions: readonly RancherAction[],
  ): void {
    for (const r of resources) {
      const p = findProject(r, observed.projects, this.naming);
      if (!p) {
        this.#placeholder(r, ["missing"]);
        continue;
      }
      const names = (observed.namespaces.get(p.id.split(":")[1] ?? "") ?? []).map((n) =>
        n.metadata.name
      );
      for (const a of actions) {
        if (a.kind === "create-namespace" && a.projectId === p.id) names.push(a.namespace);
      }
      this.#row(r, p, { namespaces: [...new Set(names)].sort() });
    }
  }

  #placeholder(r: ResourceSpec, flags: string[]): void {
    if (this.#gone.has(r.uuid)) return;
    const name = projectName(r, this.naming);
    const key = r.backendId || name;
    this.#rows.set(key, {
      project: name,
      projectId: r.backendId || null,
      resource: r.uuid,
      resourceName: r.name,
      cluster: this.#cluster,
      cpuRequested: null,
      cpuLimit: limitOf(quotaLimit(r.limits, this.naming), "cpu"),
      memoryRequestedBytes: null,
      memoryLimitBytes: limitOf(quotaLimit(r.limits, this.naming), "memory"),
      storageRequestedBytes: null,
      namespaces: [],
      flags,
    });
  }

  #row(r: ResourceSpec, p: Project, patch: Partial<RancherRow>): void {
    // a pass that read the project before a Terminate deleted it does not bring its row back
    if (this.#gone.has(r.uuid)) return;
    const previous = this.#rows.get(p.id);
    // The resource's limits when the caller knows them (orders, membership), else Rancher's.
    const quota = Object.keys(r.limits).length > 0
      ? quotaLimit(r.limits, this.naming)
      : p.resourceQuota?.limit ?? null;
    const row: RancherRow = {
      project: p.name,
      projectId: p.id,
      resource: r.uuid,
      resourceName: r.name,
      cluster: this.#cluster,
      cpuRequested: null,
      memoryRequestedBytes: null,
      storageRequestedBytes: null,
      namespaces: [],
      ...previous,
      cpuLimit: limitOf(quota, "cpu"),
      memoryLimitBytes: limitOf(quota, "memory"),
      ...patch,
      flags: [],
    };
    if (this.#adopted.has(p.id)) row.flags.push("adopted");
    if (row.cpuLimit !== null && row.cpuRequested !== null && row.cpuRequested > row.cpuLimit) {
      row.flags.push("cpu over quota");
    }
    if (
      row.memoryLimitBytes !== null && row.memoryRequestedBytes !== null &&
      row.memoryRequestedBytes > row.memoryLimitBytes
    ) {
      row.flags.push("memory over quota");
    }
    if (r.backendId !== p.id) this.#rows.delete(r.backendId || projectName(r, this.naming));
    this.#rows.set(p.id, row);
  }

  #groupRow(
    parentName: string,
    group: string,
    row: {
      members: number | null;
      added: string[];
      removed: string[];
      missing: string[];
      error: string;
    },
  ): void {
    const path = `/${parentName}/${group}`;
    this.#groups.set(path, { path, ...row });
  }

  #keycloakFailed(group: string, error: unknown, what: string): void {
    const message = errorMessage(error);
    // an outage Berth rides out is a warning, not an error: the pass retries it
    (isTransient(error) ? this.#ctx.log.warn : this.#ctx.log.error)(
      `keycloak: cannot ${what} group ${group}; Rancher work went on and it is retried next pass: ${message}`,
    );
    const path = `/${parentGroup(this.naming)}/${group}`;
    const previous = this.#groups.get(path);
    this.#groups.set(path, {
      path,
      members: previous?.members ?? null,
      added: previous?.added ?? [],
      removed: previous?.removed ?? [],
      missing: previous?.missing ?? [],
      error: message,
    });
    this.#publish();
  }

  /** The status rows, for tests and the page. */
  rows(): RancherRow[] {
    return [...this.#rows.values()].sort((a, b) => a.project.localeCompare(b.project));
  }

  /** The Keycloak group rows. */
  groupRows(): GroupRow[] {
    return [...this.#groups.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  #publish(): void {
    const at = this.#ctx.clock.now();
    this.#ctx.publish(() => ({
      kind: "rancher",
      at,
      rows: this.rows(),
      ...(this.#kc ? { groups: this.groupRows() } : {}),
    }));
  }

  get #realm(): string {
    return this.#s.keycloak?.keycloak_realm ?? "";
  }

  #need(): KeycloakClient {
    if (!this.#kc) throw terminal("config", "keycloak is not configured for this offering");
    return this.#kc;
  }

  #audit(
    action: string,
    target: string,
    detail: string,
    system: "rancher" | "keycloak" = "rancher",
  ): void {
    this.#ctx.audit({ system, action, target, result: "ok", ...(detail ? { detail } : {}) });
  }
}

function describeQuota(
  q: { limitsCpu?: string | undefined; limitsMemory?: string | undefined },
): string {
  return [q.limitsCpu && `cpu ${q.limitsCpu}`, q.limitsMemory && `memory ${q.limitsMemory}`].filter(
    Boolean,
  ).join(", ");
}

/** A quota's CPU (cores) or memory (bytes) limit, or null. */
function limitOf(
  q: { limitsCpu?: string | undefined; limitsMemory?: string | undefined } | null,
  kind: "cpu" | "memory",
): number | null {
  const v = kind === "cpu" ? q?.limitsCpu : q?.limitsMemory;
  return v === undefined ? null : parseQuantity(v);
}

/** The `rancher` backend_type. */
export const rancherPlugin: BackendPlugin<RancherSettings> = {
  type: "rancher",
  settings: RancherSettings,
  scope: (s) => ({
    where: `projects in cluster ${s.cluster_id} of ${
      s.backend_url.replace(/\/+$/, "").toLowerCase()
    }`,
    prefix: s.project_prefix,
  }),
  create: (context) => {
    const s = context.settings;
    const fetch = backendFetch(context, {
      server: "Rancher",
      verifyCert: s.verify_cert,
      caFile: s.ca_file,
    });
    const kc = s.keycloak_enabled ? s.keycloak : undefined;
    if (!kc) return new RancherBackend({ context: { ...context, fetch } });
    warnKeycloakVerify(context, kc.keycloak_ssl_verify);
    const keycloak = createKeycloakClient({
      settings: kc,
      fetch: context.fetch,
      clock: context.clock,
      onExchange: context.onExchange,
      onSecret: context.onSecret,
    });
    return new RancherBackend({ context: { ...context, fetch }, keycloak });
  },
};
