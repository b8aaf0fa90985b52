// Apps that read their own proxy variable get the gate in it too: an empty PROXY next to the
// HTTP(S)_PROXY Corral sets would leave LibreChat's calls unproxied (and blocked), not contained.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { composeFromText } from "../model/compose/read.ts";
import { parsePolicy } from "../policy/index.ts";
import { renderOverlay } from "./compose-overlay.ts";
import { buildPlan } from "./plan.ts";
import { dig } from "./testkit.ts";

const tags = [
  { tag: "!override", collection: "seq" as const, resolve: (v: unknown) => v },
  { tag: "!override", collection: "map" as const, resolve: (v: unknown) => v },
  { tag: "!reset", collection: "seq" as const, resolve: (v: unknown) => v },
];

test("an app's own proxy variables are filled with the gate when the service declares them", () => {
  const d = composeFromText(
    `services:
  api:
    image: librechat/librechat
    environment:
      PROXY: ""
  flowise:
    image: flowiseai/flowise
    environment:
      - GLOBAL_AGENT_HTTP_PROXY
      - GLOBAL_AGENT_HTTPS_PROXY
      - GLOBAL_AGENT_NO_PROXY
  plain:
    image: acme/plain
`,
    { env: {} },
  );
  const { policy } = parsePolicy(
    "version: 1\nzones: { apps: { services: [api, flowise, plain] } }\negress: [ { from: apps, allow: [api.openai.com:443] } ]\n",
    "corral.yaml",
  );
  const o = parse(renderOverlay(buildPlan(policy, d), d), { customTags: tags });
  const env = (s: string) => dig(o, "services", s, "environment") as Record<string, string>;
  assert.equal(env("api").PROXY, env("api").HTTP_PROXY);
  assert.match(env("api").PROXY ?? "", /^http:\/\/10\.\d+\.\d+\.2:3128$/);
  assert.equal(env("flowise").GLOBAL_AGENT_HTTP_PROXY, env("flowise").HTTP_PROXY);
  assert.equal(env("flowise").GLOBAL_AGENT_HTTPS_PROXY, env("flowise").HTTP_PROXY);
  assert.equal(env("flowise").GLOBAL_AGENT_NO_PROXY, env("flowise").NO_PROXY);
  assert.equal(env("plain").PROXY, undefined, "not declared, not added");
});
