import assert from "node:assert/strict";
import { type RobotCredential, secretDigest } from "../registry_access.ts";
import {
  credentialForms,
  credentialOf,
  isCurrentCopy,
  pullCopyOf,
  pullSecretBody,
} from "./docker_config.ts";
import type { Secret } from "./schemas.ts";

const credential: RobotCredential = {
  projectUuid: "p1",
  username: "robot$berth-proj",
  registry: "harbor.test:8443",
  expiresAt: -1,
  password: "pässword-1",
  digest: secretDigest("pässword-1"),
};

/** A Secret as the server would answer for a body Berth wrote. */
function stored(data: Record<string, string>, type = "kubernetes.io/dockerconfigjson"): Secret {
  const body = pullSecretBody(credential, { namespace: "ns", name: "harbor-pull" }, "off-1");
  return {
    metadata: {
      name: body.name,
      namespace: body.namespace,
      labels: body.labels,
      annotations: body.annotations,
      resourceVersion: "7",
    },
    type,
    data,
  };
}

Deno.test("docker config: what Berth writes it reads back, and its copy is current", () => {
  const body = pullSecretBody(credential, { namespace: "ns", name: "harbor-pull" }, "off-1");
  const secret = stored(body.data);
  const { password: _, ...robot } = credential;
  assert.deepEqual(credentialOf(secret, robot, credential.digest), credential);
  const copy = pullCopyOf(secret);
  assert.ok(copy);
  assert.equal(copy.digest, credential.digest);
  assert.equal(copy.expiresAt, "-1");
  assert.ok(isCurrentCopy(copy, { offering: "off-1", project: "p1", robot, digest: robot.digest }));
  assert.ok(
    !isCurrentCopy(copy, { offering: "off-2", project: "p1", robot, digest: robot.digest }),
  );
  assert.ok(!JSON.stringify(body.annotations).includes(credential.password));
});

Deno.test("docker config: a copy that is not the robot's secret of that digest reads as nothing", () => {
  const { password: _, ...robot } = credential;
  const config = (entry: unknown) => ({
    ".dockerconfigjson": btoa(JSON.stringify({ auths: { [credential.registry]: entry } })),
  });
  const bytes = new TextEncoder().encode(`${credential.username}:${credential.password}`);
  const auth = btoa(String.fromCharCode(...bytes));
  // `auth` alone is enough
  assert.equal(
    credentialOf(stored(config({ auth })), robot, credential.digest)?.password,
    credential.password,
  );
  for (
    const secret of [
      stored(config({ username: credential.username, password: "other" })),
      stored(config({ username: "robot$else", password: credential.password })),
      stored({ ".dockerconfigjson": btoa("not json") }),
      stored({}),
      stored(config({ username: credential.username, password: credential.password }), "Opaque"),
      stored({ ".dockerconfigjson": btoa(JSON.stringify({ auths: { "else.test": {} } })) }),
    ]
  ) {
    assert.equal(credentialOf(secret, robot, credential.digest), null);
  }
});

Deno.test("docker config: a Secret without Berth's label is not a copy; the credential's forms are known", () => {
  assert.equal(pullCopyOf({ metadata: { name: "harbor-pull", labels: { a: "b" } } }), null);
  const forms = credentialForms(credential);
  assert.ok(forms.includes(credential.password));
  assert.equal(forms.length, 3);
});
