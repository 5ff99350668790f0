/**
 * The Harbor calls for the team robot accounts and the users (issue 19), on the client's own
 * request and paging: system-level robots (`/robots`: list, read, create, update, refresh the
 * secret, delete), users (`/users`: exact lookup, read with the OIDC identity, delete) and the
 * robot name prefix. `createHarborClient` (client.ts) builds them in; they live here to keep the
 * client one job.
 *
 * What Harbor 2.15 does here: a robot's name is stored without Harbor's prefix (`q=name=` matches
 * that) and shown with it; a create always generates the secret (a `secret` in the body is
 * ignored) and answers it once; `PATCH` with an empty body generates a new secret and answers it
 * (with one, sets it and answers none), without touching the expiry; `PUT` takes the whole robot,
 * and a new duration counts from the robot's creation. No robot account may `PUT` or `PATCH` a
 * robot since Harbor 2.12 (`robot update` is not grantable): only an admin credential, or a robot
 * created before 2.12, can. A robot creating a robot may grant only accesses it holds itself.
 */
import type { z } from "zod";
import { BerthError, HttpError } from "../errors.ts";
import { type HttpResponse, type QueryValue, urlPath } from "../http.ts";
import {
  Configurations,
  HarborUser,
  Robot,
  RobotCreated,
  type RobotPermission,
  RobotSecret,
} from "./schemas.ts";

/** Harbor's robot name prefix when nothing says otherwise (its `robot_name_prefix` default). */
export const DEFAULT_ROBOT_PREFIX = "robot$";
/** Berth's robot accounts are named `berth-<project slug>` (before Harbor's prefix). */
export const BERTH_ROBOT_NAME_PREFIX = "berth-";

/** The robot account and user calls of the Harbor client. */
export interface HarborAccounts {
  /**
   * Harbor's robot name prefix (`robot$` unless configured): learned from a robot Harbor named
   * (an exact lookup or a create), else `robot_name_prefix` of `GET /configurations` (admin
   * only: a robot account is refused it), else {@link DEFAULT_ROBOT_PREFIX}.
   */
  robotPrefix(): Promise<string>;
  /**
   * System-level robots: with `name` (without Harbor's prefix) the one of exactly that name
   * (`q=name=`), else every robot whose name starts with {@link BERTH_ROBOT_NAME_PREFIX}.
   */
  robots(name?: string): Promise<Robot[]>;
  /** The robot of this id, or null. */
  robot(id: number): Promise<Robot | null>;
  /** Creates a system-level robot; its secret is in the answer, and only there. 409 on a taken name. */
  createRobot(robot: RobotInit): Promise<RobotCreated>;
  /**
   * Replaces a robot's description, disable, duration and permissions (`PUT`: the whole robot,
   * its `name` and `level` as Harbor shows them). A new duration counts from the robot's creation.
   */
  updateRobot(id: number, robot: RobotUpdate): Promise<void>;
  /** Has Harbor generate a new secret for the robot (its expiry stays); resolves it. */
  refreshRobotSecret(id: number): Promise<string>;
  deleteRobot(id: number): Promise<void>;
  /** The users of exactly this username (a list answer: no `oidc_user_meta`). */
  usersNamed(username: string): Promise<HarborUser[]>;
  /** The user of this id with its `oidc_user_meta` (`subiss`), or null. */
  user(id: number): Promise<HarborUser | null>;
  /** Marks a user deleted (Harbor renames it `name#id` and drops its memberships). */
  deleteUser(id: number): Promise<void>;
}

/** What {@link HarborAccounts.createRobot} sends: a system-level robot, enabled. */
export interface RobotInit {
  /** Without Harbor's prefix; Harbor's project-name rule applies. */
  name: string;
  description: string;
  /** Days, or −1 for never. */
  duration: number;
  permissions: RobotPermission[];
}

/** What {@link HarborAccounts.updateRobot} sends: a robot as read, with the changes made. */
export type RobotUpdate = Pick<
  Robot,
  "name" | "level" | "description" | "disable" | "duration" | "permissions"
>;

/** One Harbor request of the client: its `action` names it in errors; `refused` words a 403. */
export type HarborCall = <T>(
  method: string,
  path: string,
  action: string,
  opts?: {
    query?: Record<string, QueryValue>;
    body?: unknown;
    headers?: Record<string, string>;
    schema?: z.ZodType<T>;
    /** What a 403 means for this call, when more than a missing permission. */
    refused?: string;
  },
) => Promise<HttpResponse<T>>;

/** Every page of one Harbor list, bounded as the client bounds every list. */
export type HarborListAll = <T>(
  path: string,
  schema: z.ZodType<T>,
  action: string,
  query?: Record<string, QueryValue>,
) => Promise<T[]>;

/** The calls of {@link HarborAccounts}, on the client's request, paging and id check. */
export function harborAccounts(transport: {
  call: HarborCall;
  listAll: HarborListAll;
  /** Berth's account, for the words of a refusal. */
  username: string;
  /** A Harbor id as a path segment (refuses anything but a positive integer). */
  harborId: (id: number) => number;
}): HarborAccounts {
  const { call, listAll, username, harborId } = transport;
  /** Harbor's robot name prefix: learned from Harbor's own answers, or configured, or the default. */
  let prefix: string | undefined;
  /** Remembers the prefix of `shown`, the name Harbor gives the robot it stores as `name`. */
  const learnPrefix = (shown: string, name: string) => {
    if (shown.endsWith(name)) prefix = shown.slice(0, -name.length);
  };
  async function robotPrefix(): Promise<string> {
    if (prefix !== undefined) return prefix;
    let configured: string | undefined;
    try {
      configured = (await call("GET", "/configurations", "read the robot name prefix", {
        schema: Configurations,
      })).data.robot_name_prefix?.value;
    } catch (error) {
      // A robot account may not read the configuration (Harbor grants no robot
      // `configuration read`); a refused credential is an error like any other.
      if (!(error instanceof HttpError) || (error.status !== 403 && error.status !== 404)) {
        throw error;
      }
    }
    prefix ??= configured || DEFAULT_ROBOT_PREFIX;
    return prefix;
  }
  const robotPath = (id: number) => urlPath`/robots/${harborId(id)}`;
  const userPath = (id: number) => urlPath`/users/${harborId(id)}`;

  return {
    robotPrefix,
    robots: async (name) => {
      if (name !== undefined) {
        // Harbor matches `q=name=` against the stored name (without its prefix), exactly.
        const found = await listAll("/robots", Robot, `look up robot ${name}`, {
          q: exactQuery("name", name),
        });
        const exact = found.filter((r) => r.level === "system" && r.name.endsWith(name));
        for (const r of exact) learnPrefix(r.name, name);
        return exact;
      }
      const listed = await listAll("/robots", Robot, "list Berth's robots", {
        q: `name=~${BERTH_ROBOT_NAME_PREFIX}`,
      });
      const start = (await robotPrefix()) + BERTH_ROBOT_NAME_PREFIX;
      return listed.filter((r) => r.level === "system" && r.name.startsWith(start));
    },
    robot: (id) =>
      nullOn404(
        call("GET", robotPath(id), `read robot ${id}`, { schema: Robot }).then((res) => res.data),
      ),
    createRobot: async (robot) => {
      const created = (await call("POST", "/robots", `create robot ${robot.name}`, {
        body: {
          name: robot.name,
          description: robot.description,
          level: "system",
          disable: false,
          duration: robot.duration,
          permissions: robot.permissions.map(permissionBody),
        },
        schema: RobotCreated,
        refused: `the robot account ${username} may not create it (HTTP 403): it needs ` +
          "the system permission robot create and, itself, every access it grants (on all " +
          "projects: repository pull)",
      })).data;
      learnPrefix(created.name, robot.name);
      return created;
    },
    updateRobot: async (id, robot) => {
      await call("PUT", robotPath(id), `update robot ${robot.name}`, {
        body: {
          name: robot.name,
          level: robot.level,
          description: robot.description ?? "",
          disable: robot.disable,
          ...(robot.duration === undefined || robot.duration === null
            ? {}
            : { duration: robot.duration }),
          permissions: robot.permissions.map(permissionBody),
        },
        refused: noRobotUpdate(username),
      });
    },
    refreshRobotSecret: async (id) => {
      const action = `refresh the secret of robot ${id}`;
      // An empty body has Harbor generate the secret; one it is given it keeps and does not echo.
      const res = await call("PATCH", robotPath(id), action, {
        body: {},
        schema: RobotSecret,
        refused: noRobotUpdate(username),
      });
      if (!res.data.secret) {
        throw new BerthError(`harbor: ${action}: the answer carries no secret`, {
          system: "harbor",
          transient: true,
        });
      }
      return res.data.secret;
    },
    deleteRobot: async (id) => {
      await call("DELETE", robotPath(id), `delete robot ${id}`);
    },
    usersNamed: async (name) => {
      const found = await listAll("/users", HarborUser, `look up user ${name}`, {
        q: exactQuery("username", name),
      });
      return found.filter((u) => u.username === name);
    },
    user: (id) =>
      nullOn404(
        call("GET", userPath(id), `read user ${id}`, { schema: HarborUser }).then((res) =>
          res.data
        ),
      ),
    deleteUser: async (id) => {
      await call("DELETE", userPath(id), `delete user ${id}`);
    },
  };
}

/** null for a 404, the answer otherwise. */
export async function nullOn404<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return null;
    throw error;
  }
}

/** What a 403 on a robot's update or secret refresh means. */
function noRobotUpdate(username: string): string {
  return `the account ${username} may not change robot accounts (HTTP 403): since Harbor 2.12 no ` +
    "robot account can hold robot update; replace the robot (delete, create) instead";
}

/** A permission as Harbor's `RobotPermission` body: `effect` only when set. */
function permissionBody(p: RobotPermission): RobotPermission {
  return {
    kind: p.kind,
    namespace: p.namespace,
    access: p.access.map((a) => ({
      resource: a.resource,
      action: a.action,
      ...(a.effect === undefined ? {} : { effect: a.effect }),
    })),
  };
}

/**
 * Harbor's `q` for `key` equal to `value`. Harbor unescapes `q` once more and splits it at
 * commas, and reads a value starting with `~ [ { (` as a pattern (`\` escapes that), so the
 * value is escaped and encoded; a value with a comma cannot be asked for exactly.
 */
export function exactQuery(key: string, value: string): string {
  if (value === "" || value.includes(",")) {
    throw new BerthError(`harbor: cannot look up ${key} "${value}" exactly (empty or a comma)`, {
      system: "harbor",
      transient: false,
    });
  }
  const escaped = /^[~[{(\\]/.test(value) ? `\\${value}` : value;
  return `${key}=${encodeURIComponent(escaped)}`;
}
