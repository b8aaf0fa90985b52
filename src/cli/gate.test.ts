// The compose overlay starts the gate with a generated command line: it must mean, to the real
// `corral gate` parser, what the overlay intends — listen on the container's interfaces, know
// each agent by name (--discover: its replicas' addresses come from the engine's DNS), and apply
// that agent's zone egress rules.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { compileComposeOverlay } from "../compile/compose-overlay.ts";
import { decide } from "../gate/decide.ts";
import { resolveCaller } from "../gate/identity.ts";
import { buildIndex } from "../gate/policy-index.ts";
import { readDeployment } from "../model/load.ts";
import { loadPolicy } from "../policy/load.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { UsageError } from "./command.ts";
import { parseGateArgs } from "./gate.ts";

test("the compose overlay's gate command line parses with corral gate's own parser, with the meaning intended", async () => {
  const dir = join(PROJECT_ROOT, "examples/superagi");
  const { policy } = await loadPolicy(join(dir, "corral.yaml"));
  const d = readDeployment([join(dir, "docker-compose.yml")], { env: {} });
  const overlay = parse(compileComposeOverlay(policy, d)["compose.corral.yml"] ?? "", { logLevel: "silent" }) as {
    services: Record<string, { command?: string[] }>;
  };
  const command = overlay.services["corral-gate"]?.command;
  assert.ok(command, "the overlay has a gate service with a command");
  assert.equal(command[0], "gate", "the image's entrypoint is corral itself");

  const parsed = parseGateArgs(command.slice(1), "/");
  assert.equal(parsed.file, "/etc/corral/corral.yaml");
  const proxy = parsed.listen.proxy;
  assert.equal(proxy?.host, "0.0.0.0", "the proxy listens on the container's interfaces");
  assert.ok(proxy.port > 0);
  assert.deepEqual(parsed.listen.dns, { host: "0.0.0.0", port: 53 }, "Docker's dns: asks port 53");
  assert.deepEqual(
    parsed.listen.admin,
    { host: "127.0.0.1", port: 9099 },
    "the admin API stays on the container's loopback",
  );
  // Everything the gate writes lives in the state volume, never beside the read-only policy.
  assert.equal(parsed.values.state, "/var/lib/corral/gate");
  assert.equal(parsed.values.audit, "/var/lib/corral/audit", "the example policy audits");
  assert.equal(parsed.workers, 1);
  assert.equal(parsed.dnsWorkers, 1);
  assert.deepEqual(parsed.serviceMap, {}, "no static addresses: the engine assigns them per replica");
  assert.ok(parsed.values.discover.includes("celery"), "the agent is discovered by its service name");

  // What the gate does with a discovered replica: it is recognised by its address, and its zone's
  // egress rules (agents → api.openai.com:443, approval: ask) decide.
  const index = buildIndex(policy, { serviceMap: { celery: ["10.203.7.130", "10.203.7.131"] } });
  const caller = resolveCaller(index, "10.203.7.131");
  assert.deepEqual(caller, { identity: "celery", via: "service" });
  assert.equal(decide(index, caller.identity, { name: "api.openai.com", port: 443 }).verdict, "allow");
  const other = decide(index, caller.identity, { name: "evil.example", port: 443 });
  assert.equal(other.verdict, "deny");
  assert.equal(other.approvable, true);
  assert.equal(resolveCaller(index, "10.99.99.99").identity, undefined, "unmapped sources have no identity");
});

test("gate arguments: bad listen addresses and maps are usage errors", () => {
  assert.throws(() => parseGateArgs(["--proxy", "3128"], "/"), UsageError);
  assert.throws(() => parseGateArgs(["--map", "celery"], "/"), UsageError);
  assert.throws(() => parseGateArgs(["--workers", "0"], "/"), UsageError);
  assert.throws(() => parseGateArgs(["--workers", "2", "--dns-workers", "3"], "/"), UsageError);
  assert.equal(parseGateArgs(["--workers", "4", "--dns-workers", "2"], "/").dnsWorkers, 2);
  assert.throws(() => parseGateArgs(["--bogus"], "/"), UsageError);
});

test("--witness-key points an audit.witnesses entry at the file where the gate's container sees it", async () => {
  const { parsePolicy } = await import("../policy/index.ts");
  const { auditSinkOptions } = await import("./gate.ts");
  const { policy } = parsePolicy(
    "version: 1\naudit:\n  path: ./audit\n  checkpoint: { key: /etc/corral/audit.key }\n  witnesses:\n    - { url: http://w.example:7380, key: ./witness.pub }\n",
    "/host/corral.yaml",
  );
  const opts = auditSinkOptions(
    policy.audit!,
    "/host",
    { "witness-key": ["http://w.example:7380=/run/corral/witness-1.pub"] },
    "/",
  );
  assert.deepEqual(opts.witnesses, [{ url: "http://w.example:7380", key: "/run/corral/witness-1.pub" }]);
  assert.throws(
    () => auditSinkOptions(policy.audit!, "/host", { "witness-key": ["http://other:1=/x.pub"] }, "/"),
    (e: Error) => e instanceof UsageError && /no audit.witnesses entry/.test(e.message),
  );
});
