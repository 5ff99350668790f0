/**
 * A Swagger 2.0 document as a conformance check, for the `*_spec_test.ts` files: a request is a
 * spec operation, with known query and header parameters (path-level ones included), every
 * required one present, a body the operation takes with the media type it consumes, validating
 * against its schema (unknown fields refused: a server would drop them or, with strict field
 * validation, refuse them); a JSON merge patch validates against the patched kind. An answer
 * validates against the operation's response schema.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";

/** One parameter of an operation. */
export interface Param {
  name: string;
  in: "query" | "header" | "path" | "body";
  required?: boolean;
  type?: string;
  schema?: unknown;
}

type Ref = { $ref: string };

/** One operation of a path. */
export interface Operation {
  parameters?: (Ref | Param)[];
  consumes?: string[];
  responses?: Record<string, { schema?: unknown } | null>;
}

/** The parts of a Swagger 2.0 document the check reads. */
export interface Swagger {
  basePath?: string;
  consumes?: string[];
  paths: Record<string, Record<string, Operation | (Ref | Param)[]>>;
  parameters?: Record<string, Param>;
  definitions: Record<string, unknown>;
}

/** A conformance check over one document. */
export interface SwaggerCheck {
  /** The operation template (`/api/v1/namespaces/{namespace}/secrets`) a method and path match. */
  template(method: string, path: string): string | undefined;
  /** Problems of one request; empty when it conforms. */
  request(method: string, url: URL, headers: Headers, body: unknown): string[];
  /** Problems of an answer (a 2xx body against the operation's response schema). */
  response(method: string, url: URL, status: number, body: unknown): string[];
}

/** Definitions with `additionalProperties: false` wherever properties are listed. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = closed(v);
  if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

/**
 * The check of `spec`, registered in ajv as `name`; `local` maps a request's path to the
 * document's (the base path or a proxy prefix taken off), undefined when it is none of its.
 */
export function swaggerCheck(
  spec: Swagger,
  name: string,
  local: (path: string) => string | undefined,
): SwaggerCheck {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ definitions: closed(spec.definitions) }, name);
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

  /** A schema's `#/definitions/...` refs pointed at the registered document; compiled once. */
  function validator(schema: unknown) {
    const text = JSON.stringify(schema ?? {}).replaceAll(
      '"#/definitions/',
      `"${name}#/definitions/`,
    );
    let validate = compiled.get(text);
    if (!validate) compiled.set(text, validate = ajv.compile(JSON.parse(text)));
    return validate;
  }

  function resolve(p: Ref | Param): Param {
    if (!("$ref" in p)) return p;
    const found = spec.parameters?.[p.$ref.replace("#/parameters/", "")];
    assert.ok(found, `unknown parameter ${p.$ref}`);
    return found;
  }

  function find(method: string, path: string) {
    const at = local(path);
    if (at === undefined) return undefined;
    for (const [template, ops] of Object.entries(spec.paths)) {
      if (!new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(at)) continue;
      const op = ops[method.toLowerCase()];
      if (op && !Array.isArray(op)) {
        const shared = (ops.parameters ?? []) as (Ref | Param)[];
        const params = [...shared, ...op.parameters ?? []].map(resolve);
        return { template, op, params };
      }
    }
    return undefined;
  }

  function validate(what: string, schema: unknown, body: unknown): string[] {
    const check = validator(schema);
    return check(body)
      ? []
      : [`${what}: body ${JSON.stringify(body)}: ${ajv.errorsText(check.errors)}`];
  }

  return {
    template: (method, path) => find(method, path)?.template,
    request(method, url, headers, body) {
      const what = `${method} ${url.pathname}`;
      const found = find(method, url.pathname);
      if (!found) return [`${what} is not a spec operation`];
      const { op, params } = found;
      const problems: string[] = [];
      for (const key of new Set(url.searchParams.keys())) {
        const p = params.find((x) => x.in === "query" && x.name === key);
        const value = url.searchParams.get(key) ?? "";
        if (!p) problems.push(`${what}: unknown query parameter ${key}`);
        else if (p.type === "integer" && !/^-?\d+$/.test(value)) {
          problems.push(`${what}: ${key} must be an integer`);
        } else if (p.type === "boolean" && !/^(true|false)$/.test(value)) {
          problems.push(`${what}: ${key} must be true or false`);
        }
      }
      for (const p of params) {
        if (!p.required) continue;
        if (p.in === "query" && !url.searchParams.has(p.name)) {
          problems.push(`${what}: required query parameter ${p.name} missing`);
        }
        if (p.in === "header" && !headers.has(p.name)) {
          problems.push(`${what}: required header ${p.name} missing`);
        }
        if (p.in === "body" && body === undefined) problems.push(`${what}: body missing`);
      }
      for (const [header] of headers) {
        if (!header.startsWith("x-")) continue;
        if (!params.some((p) => p.in === "header" && p.name.toLowerCase() === header)) {
          problems.push(`${what}: unknown header ${header}`);
        }
      }
      if (body === undefined) return problems;
      const bodyParam = params.find((p) => p.in === "body");
      if (!bodyParam) return [...problems, `${what}: sends a body the operation does not take`];
      const type = (headers.get("content-type") ?? "").split(";")[0] ?? "";
      const consumes = op.consumes ?? spec.consumes ?? ["application/json"];
      if (!consumes.includes(type) && !consumes.includes("*/*")) {
        problems.push(`${what}: content-type ${type} is not one of ${consumes.join(", ")}`);
      }
      problems.push(...validate(what, bodyParam.schema, body));
      // a merge patch of an object is a part of that object: it validates as the kind patched
      const patched = op.responses?.["200"]?.schema;
      if (type === "application/merge-patch+json" && patched) {
        problems.push(...validate(`${what} (as the object patched)`, patched, body));
      }
      return problems;
    },
    response(method, url, status, body) {
      const what = `${method} ${url.pathname} → ${status}`;
      const found = find(method, url.pathname);
      if (!found) return [`${method} ${url.pathname} is not a spec operation`];
      if (status < 200 || status > 299) return [];
      const answer = found.op.responses?.[String(status)];
      if (!answer) return [`${what} is not an answer of the operation`];
      return answer.schema ? validate(what, answer.schema, body) : [];
    },
  };
}

/** One exchange over the wire: the request, and the answer it got. */
export interface Exchange {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
  status: number;
  answer: unknown;
}

/** Sends `request` on with `next`, recording the exchange (JSON bodies parsed) `when` its URL is wanted. */
export async function record(
  request: Request,
  next: (r: Request) => Promise<Response>,
  options: { into: Exchange[]; when: (url: URL) => boolean },
): Promise<Response> {
  const url = new URL(request.url);
  if (!options.when(url)) return await next(request);
  const text = await request.clone().text();
  const response = await next(request);
  const answer = await response.clone().text();
  options.into.push({
    method: request.method,
    url,
    headers: request.headers,
    body: text === "" ? undefined : JSON.parse(text),
    status: response.status,
    answer: answer === "" || !answer.startsWith("{") ? undefined : JSON.parse(answer),
  });
  return response;
}
