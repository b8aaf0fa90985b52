import assert from "node:assert/strict";
import { test } from "node:test";
import { policySchema } from "../policy/schema.ts";
import { buildCredentialIndex } from "./credentials/credential-index.ts";
import { ambiguousPath, decideHttpRequest, pathCovers } from "./decide-http.ts";

const policy = policySchema.parse({
  version: 1,
  zones: { agents: { services: ["worker"] } },
  requests: [
    {
      from: "agents",
      host: "API.OpenAI.com",
      allow: ["POST /v1/chat/completions", "POST /v1/embeddings", "GET /v1/models/"],
      deny: ["* /v1/models/secret"],
    },
  ],
});
const index = buildCredentialIndex({
  policy,
  principals: ["worker"],
  identityOf: (p) => p,
  expand: (n) => (n === "agents" ? ["worker"] : [n]),
});
const t = (method: string, path: string, host = "api.openai.com") => ({ host, port: 443, method, path });

test("request rules allow by method and segment-wise path prefix, deny first", () => {
  assert.ok(index.terminated.has("api.openai.com:443"));
  assert.equal(decideHttpRequest(index, "worker", t("POST", "/v1/chat/completions"))?.code, "request-listed");
  assert.equal(decideHttpRequest(index, "worker", t("GET", "/v1/models/gpt"))?.code, "request-listed");
  assert.equal(decideHttpRequest(index, "worker", t("GET", "/v1/models"))?.code, "request-listed");
  assert.equal(decideHttpRequest(index, "worker", t("GET", "/v1/models/secret"))?.code, "request-denied");
  // Spellings servers read as the denied path: another case, a format suffix, a lower-case method.
  assert.equal(decideHttpRequest(index, "worker", t("GET", "/V1/Models/SECRET"))?.code, "request-denied");
  assert.equal(decideHttpRequest(index, "worker", t("GET", "/v1/models/secret.json"))?.code, "request-denied");
  assert.equal(decideHttpRequest(index, "worker", t("get", "/v1/models/secret"))?.code, "path-ambiguous");
  assert.equal(decideHttpRequest(index, "worker", t("GET", "/v1/models/secrets"))?.code, "request-listed");
  assert.equal(decideHttpRequest(index, "worker", t("DELETE", "/v1/chat/completions"))?.code, "request-unlisted");
  assert.equal(decideHttpRequest(index, "worker", t("POST", "/v1/chat/completionsX"))?.code, "request-unlisted");
  assert.equal(
    decideHttpRequest(index, "worker", t("POST", "/v1/chat/completions/../../files"))?.code,
    "path-ambiguous",
  );
  const d = decideHttpRequest(index, "worker", t("POST", "/v1/files"));
  assert.equal(d?.verdict, "deny");
  assert.match(d!.rule.id, /^requests:agents:api\.openai\.com:443$/);
});

test("no rule for the identity or the destination: no request decision", () => {
  assert.equal(decideHttpRequest(index, "other", t("POST", "/v1/files")), undefined);
  assert.equal(decideHttpRequest(index, "worker", t("POST", "/x", "example.com")), undefined);
  assert.equal(decideHttpRequest(index, undefined, t("POST", "/x")), undefined);
});

test("paths that read more than one way", () => {
  for (const p of ["/a/../b", "/a/./b", "/a%2fb", "/a%5Cb", "/a\\b", "/a//b", "/%2e%2e/x", "x"])
    assert.ok(ambiguousPath(p), p);
  // What servers decode or strip before routing (the review's bypasses of a deny inside an allow).
  for (const p of [
    "/v1/fil%65s",
    "/v1/files#x",
    "/v1/files%3Bx",
    "/v1/models/..;/files",
    "/v1/models/..%3b/files",
    "/v1/%41",
    "/v1/%7e",
    "/v1/%2d",
    "/v1/%252e%252e/x",
    "/v1/files;jsessionid=1",
  ])
    assert.ok(ambiguousPath(p), p);
  for (const p of ["/", "/v1/chat/completions", "/v1/models/", "/a.b/c..d", "/v1/files/a%20b", "/v1/x%3Ay"])
    assert.equal(ambiguousPath(p), undefined, p);
  assert.ok(pathCovers("/v1/", "/v1"));
  assert.ok(!pathCovers("/v1", "/v10"));
});
