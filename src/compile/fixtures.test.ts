// Every compose fixture, with a policy derived from its own depends_on edges: the overlay merged
// onto the shipped files is valid compose, and every NetworkPolicy / CiliumNetworkPolicy
// validates against its upstream schema.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { readDeployment } from "../model/load.ts";
import type { Deployment } from "../model/types.ts";
import { parsePolicy } from "../policy/index.ts";
import { fixture, schemaPath, sharedDir, sharedSkip } from "../testing/shared.ts";
import { compileCilium } from "./cilium.ts";
import { compileComposeOverlay } from "./compose-overlay.ts";
import { compileKubernetes } from "./kubernetes.ts";
import { compileNftables } from "./nftables.ts";
import { mergeCompose, validator } from "./testkit.ts";

const skip = sharedSkip();
const DATA = /postgres|redis|db|mongo|qdrant|weaviate|milvus|minio|elastic|mysql|valkey|clickhouse|chroma/;

function policyFor(d: Deployment) {
  const zones: Record<string, { services: string[]; isolate?: string }> = {
    web: { services: [] },
    data: { services: [] },
    app: { services: [], isolate: "per-service" },
  };
  for (const s of d.services) {
    const zone = s.ports.length > 0 ? "web" : DATA.test(s.name) ? "data" : "app";
    zones[zone]?.services.push(s.name);
  }
  for (const [k, z] of Object.entries(zones)) if (z.services.length === 0) delete zones[k];
  const flows = d.services.flatMap((s) =>
    s.dependsOn.flatMap((dep) => {
      const target = d.services.find((t) => t.name === dep);
      if (!target) return [];
      const ports = target.containers[0]?.listens.map((l) => `${l.from}/${l.protocol}`) ?? [];
      return [{ from: s.name, to: dep, ports: ports.length ? ports : ["80/tcp"] }];
    }),
  );
  const publish = d.services.flatMap((s) =>
    s.ports.map((p) => ({ service: s.name, port: `${p.target.from}/${p.protocol}` })),
  );
  const egress = zones.app ? [{ from: "app", allow: ["api.openai.com:443", "**.googleapis.com:443"] }] : [];
  return parsePolicy(stringify({ version: 1, zones, flows, publish, egress }), "derived.corral.yaml").policy;
}

function composeFiles(): string[][] {
  const root = join(sharedDir() ?? "", "fixtures", "compose");
  return readdirSync(root).flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => [fixture("compose", dir, f)]),
  );
}

test("every compose fixture compiles to valid compose, NetworkPolicy and Cilium documents", { skip }, () => {
  const compose = validator(schemaPath("compose-spec.json"));
  const np = validator(schemaPath("k8s-networkpolicy-networking-v1.json"));
  const cnp = validator(schemaPath("cilium-ciliumnetworkpolicies-crd.yaml"));
  let compiled = 0;
  for (const files of composeFiles()) {
    let d: Deployment;
    try {
      d = readDeployment(files, { env: {} });
    } catch {
      continue; // needs variables this test does not invent (e.g. mem0's required POSTGRES_PASSWORD)
    }
    const policy = policyFor(d);
    const overlay = compileComposeOverlay(policy, d)["compose.corral.yml"] ?? "";
    const withOverlay = mergeCompose(readFileSync(files[0] ?? "", "utf8"), overlay);
    assert.deepEqual(compose(withOverlay), [], `${files[0]}: overlay`);
    for (const doc of parseAllDocuments(compileKubernetes(policy, d)["networkpolicies.yaml"] ?? ""))
      assert.deepEqual(np(doc.toJS()), [], `${files[0]}: NetworkPolicy`);
    for (const doc of parseAllDocuments(compileCilium(policy, d)["cilium-egress.yaml"] ?? ""))
      assert.deepEqual(cnp(doc.toJS()), [], `${files[0]}: CiliumNetworkPolicy`);
    assert.match(compileNftables(policy, d)["corral.nft"] ?? "", /^table inet corral \{$/m);
    compiled++;
  }
  assert.ok(compiled >= 10, `${compiled} fixtures compiled`);
});
