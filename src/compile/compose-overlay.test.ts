import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readDeployment } from "../model/load.ts";
import { loadPolicy, parsePolicy } from "../policy/index.ts";
import { fixture, PROJECT_ROOT, schemaPath, sharedSkip } from "../testing/shared.ts";
import { compileComposeOverlay } from "./compose-overlay.ts";
import { mergeCompose, validator } from "./testkit.ts";

const skip = sharedSkip();
const composeFile = join(PROJECT_ROOT, "examples/superagi/docker-compose.yml");

type Svc = {
  networks?: Record<string, unknown>;
  ports?: string[];
  cap_drop?: string[];
  environment?: unknown;
  dns?: string[];
};

test("SuperAGI overlay merged onto the shipped file is valid compose and carries the zones", { skip }, async () => {
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([composeFile], { env: {} });
  const overlay = compileComposeOverlay(policy, d)["compose.corral.yml"] ?? "";
  assert.match(overlay, /networks: !override/);
  const merged = mergeCompose(readFileSync(composeFile, "utf8"), overlay);
  assert.deepEqual(validator(schemaPath("compose-spec.json"))(merged), []);
  const services = merged.services as Record<string, Svc>;
  assert.deepEqual(
    services.proxy?.ports,
    ["127.0.0.1:3000:80/tcp"],
    "published port rebound to loopback, the shipped 3000:80 gone",
  );
  assert.deepEqual(Object.keys(services.celery?.networks ?? {}).sort(), ["corral_agents", "corral_data"]);
  assert.deepEqual(Object.keys(services.super__postgres?.networks ?? {}), ["corral_data"]);
  assert.deepEqual(services.celery?.cap_drop, ["ALL"]);
  assert.equal(services.celery?.dns?.length, 1);
  assert.ok(services["corral-gate"], "the gate is a service");
  const networks = merged.networks as Record<string, { internal?: boolean; driver_opts?: Record<string, string> }>;
  assert.equal(networks.corral_data?.internal, true);
  assert.equal(networks.corral_agents?.internal, true);
  assert.equal(networks.corral__egress?.internal, false);
  // Replicas (`--scale`) need engine-assigned addresses: none is pinned, each zone has a range.
  for (const [name, svc] of Object.entries(services))
    if (name !== "corral-gate") assert.doesNotMatch(JSON.stringify(svc.networks ?? {}), /ipv4_address/, name);
  for (const n of Object.values(networks) as Array<{ ipam?: { config?: Array<Record<string, string>> } }>) {
    const ipam = n.ipam?.config?.[0];
    if (ipam) assert.match(ipam.ip_range ?? "", /\.128\/25$/, "members get addresses from the upper half");
  }
  for (const n of Object.values(networks)) {
    const bridge = n.driver_opts?.["com.docker.network.bridge.name"];
    if (bridge) assert.ok(bridge.length <= 15, bridge);
  }
});

test("overlay on real fixtures validates; unpublished ports are reset", { skip }, () => {
  const file = fixture("compose", "flowise", "docker-compose-queue-prebuilt.yml");
  const d = readDeployment([file], { env: {} });
  const { policy } = parsePolicy(
    "version: 1\nzones:\n  web: { services: [flowise] }\n  data: { services: [redis], subnet: 10.240.7.0/24 }\nflows:\n  - { from: web, to: data, ports: [6379/tcp] }\npublish:\n  - { service: flowise, port: 3000/tcp }\n",
    "p.yaml",
  );
  const overlay = compileComposeOverlay(policy, d)["compose.corral.yml"] ?? "";
  assert.match(overlay, /ports: !reset \[\]/, "redis loses its published port");
  const merged = mergeCompose(readFileSync(file, "utf8"), overlay);
  assert.deepEqual(validator(schemaPath("compose-spec.json"))(merged), []);
  const services = merged.services as Record<string, Svc>;
  assert.equal(services.redis?.ports, undefined);
  assert.deepEqual(services.flowise?.ports, ["127.0.0.1:3000:3000/tcp"]);
  assert.match(overlay, /subnet: 10\.240\.7\.0\/24/, "a pinned zone subnet is kept");
});

test("a sealed volume becomes a bind of its unlocked mountpoint, which must exist", async () => {
  const { parse } = await import("yaml");
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([composeFile], { env: {} });
  const overlay = compileComposeOverlay(policy, d, {
    sealed: { dir: "/var/lib/corral/sealed/", volumes: ["superagi_postgres_data"] },
  })["compose.corral.yml"]!;
  const services = (
    parse(overlay, {
      customTags: [
        { tag: "!override", resolve: (v: unknown) => v },
        { tag: "!reset", resolve: (v: unknown) => v },
      ],
    }) as { services: Record<string, { volumes?: unknown[] }> }
  ).services;
  assert.deepEqual(services.super__postgres?.volumes, [
    {
      type: "bind",
      source: "/var/lib/corral/sealed/superagi_postgres_data/plain",
      target: "/var/lib/postgresql/data",
      bind: { create_host_path: false },
    },
  ]);
  assert.equal(services.celery?.volumes, undefined, "services without a sealed volume keep theirs untouched");
});

test("witness keys are mounted into the gate and named to it by witness URL", async () => {
  const { parse } = await import("yaml");
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([composeFile], { env: {} });
  const overlay = compileComposeOverlay(policy, d, {
    witnessKeys: [{ url: "http://witness.example:7380", path: "./keys/witness.pub" }],
  })["compose.corral.yml"]!;
  const tags = [
    { tag: "!override", resolve: (v: unknown) => v },
    { tag: "!reset", resolve: (v: unknown) => v },
  ];
  const gate = (
    parse(overlay, { customTags: tags }) as { services: Record<string, { volumes: string[]; command: string[] }> }
  ).services["corral-gate"]!;
  assert.ok(gate.volumes.includes("./keys/witness.pub:/run/corral/witness-1.pub:ro"), gate.volumes.join(" "));
  const at = gate.command.indexOf("--witness-key");
  assert.equal(gate.command[at + 1], "http://witness.example:7380=/run/corral/witness-1.pub");
});
