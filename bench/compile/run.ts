// Compile + load time of the nftables target for 5,000 services, against the anchor of an
// equivalent naive ruleset (one rule per allowed (source, destination, port), no sets) loaded
// in the same run. Both load inside a temporary network namespace, never the host's.
//   node bench/compile/run.ts [--services 5000]   (root, nft, ip)   → bench/results/compile.json
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { applyRuleset } from "../../src/compile/nft-apply.ts";
import { nftElements, renderNftables } from "../../src/compile/nftables.ts";
import { buildPlan, type Plan } from "../../src/compile/plan.ts";
import { compileTarget, TARGETS } from "../../src/compile/targets.ts";
import { composeService } from "../../src/model/testkit.ts";
import type { Deployment, Service } from "../../src/model/types.ts";
import { type Policy, parsePolicy } from "../../src/policy/index.ts";

const { values } = parseArgs({
  options: { services: { type: "string", default: "5000" }, zones: { type: "string", default: "50" } },
});
const N = Number(values.services);
const Z = Number(values.zones);
const PER = Math.ceil(N / Z);

function service(name: string): Service {
  return composeService(name, { networks: [] });
}

/** 50 zones of 100; half shared, half per-service; zone i → zone i+1 on one port for ten zone
 * pairs; every service one service-level flow two zones on; half the zones use the gate. */
function synth(): { policy: Policy; d: Deployment } {
  const names = Array.from({ length: N }, (_, i) => `s${i}`);
  const zoneName = (z: number) => `z${z}`;
  const lines = ["version: 1", "zones:"];
  for (let z = 0; z < Z; z++) {
    const members = names.slice(z * PER, (z + 1) * PER);
    lines.push(`  ${zoneName(z)}: { services: [${members.join(", ")}], isolate: ${z % 2 ? "per-service" : "shared"} }`);
  }
  lines.push("flows:");
  for (let z = 0; z < Math.min(10, Z - 1); z++)
    lines.push(`  - { from: ${zoneName(z)}, to: ${zoneName(z + 1)}, ports: [5432/tcp] }`);
  for (let i = 0; i < N; i++)
    lines.push(`  - { from: s${i}, to: s${(i + 2 * PER) % N}, ports: [${8000 + (i % 50)}/tcp] }`);
  lines.push("egress:");
  for (let z = 0; z < Z; z += 2) lines.push(`  - { from: ${zoneName(z)}, allow: [api.example.com:443] }`);
  const { policy } = parsePolicy(lines.join("\n"), "bench.corral.yaml");
  return { policy, d: { platform: "compose", files: [], services: names.map(service), networks: [], diagnostics: [] } };
}

/** The anchor: the same allowed cells, one rule each, no sets or maps. */
function naive(plan: Plan): { text: string; rules: number } {
  const addr = new Map(plan.attachments.map((a) => [`${a.service}@${a.network}`, a.address]));
  const rules: string[] = [];
  for (const g of plan.groups) {
    for (const s of g.sources) {
      for (const t of g.targets) {
        if (s === t) continue;
        const sa = addr.get(`${s}@${g.network}`);
        const ta = addr.get(`${t}@${g.network}`);
        if (!sa || !ta) continue;
        if (g.flowIndex === -1) rules.push(`    ip saddr ${sa} ip daddr ${ta} accept`);
        else
          for (const p of g.ports)
            rules.push(
              `    ip saddr ${sa} ip daddr ${ta} ${p.protocol} dport ${p.from === p.to ? p.from : `${p.from}-${p.to}`} accept`,
            );
      }
    }
  }
  const text = [
    "table inet corral_naive {}",
    "delete table inet corral_naive",
    "table inet corral_naive {",
    "  chain forward {",
    "    type filter hook forward priority filter - 1; policy accept;",
    '    iifname != "crl-*" oifname != "crl-*" accept',
    "    ct state established,related accept",
    ...rules,
    "    counter drop",
    "  }",
    "}",
    "",
  ].join("\n");
  return { text, rules: rules.length };
}

/** Rules in the forward chain (not the hook line, not comments). */
function chainRules(ruleset: string): number {
  const chain = ruleset.slice(ruleset.indexOf("chain forward {"));
  return chain.split("\n").filter((l) => /^ {4}\S/.test(l) && !/^ {4}(type|\/\/|#)/.test(l)).length;
}

function withNetns<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `crlbench${process.pid.toString(36)}`;
  execFileSync("ip", ["netns", "add", ns]);
  return fn(ns).finally(() => execFileSync("ip", ["netns", "del", ns]));
}

const t0 = performance.now();
const { policy, d } = synth();
const tSynth = performance.now();
const plan = buildPlan(policy, d);
const text = renderNftables(plan);
const tCompile = performance.now();
const elements = nftElements(plan);
// The other targets, for the record (the goal is about the ruleset).
const targetMs: Record<string, number> = {};
for (const t of TARGETS) {
  const started = performance.now();
  compileTarget(t, policy, d);
  targetMs[t] = Math.round(performance.now() - started);
}
const anchor = naive(plan);

const result = await withNetns(async (ns) => {
  const check = await applyRuleset(text, { netns: ns, check: true });
  const load1 = await applyRuleset(text, { netns: ns });
  const reload = await applyRuleset(text, { netns: ns });
  const naiveLoad = await applyRuleset(anchor.text, { netns: ns });
  return { check: check.ms, load1: load1.ms, reload: reload.ms, naive: naiveLoad.ms };
});

const compileMs = tCompile - tSynth;
const out = {
  benchmark: "compile",
  date: new Date().toISOString(),
  services: N,
  zones: Z,
  policyFlows: policy.flows.length,
  corral: {
    compileMs: Math.round(compileMs),
    loadMs: Math.round(result.load1),
    reloadMs: Math.round(result.reload),
    checkMs: Math.round(result.check),
    totalMs: Math.round(compileMs + result.load1),
    rulesetBytes: text.length,
    setElements: {
      flows: elements.flows.length,
      zoneAny: elements.zoneAny.length,
      published: elements.published.length,
    },
    rules: chainRules(text),
  },
  anchor: {
    name: "naive nftables: one rule per allowed (source, destination, port), no sets",
    rules: anchor.rules,
    rulesetBytes: anchor.text.length,
    loadMs: Math.round(result.naive),
  },
  allTargetsCompileMs: targetMs,
  goalMs: 2000,
  meetsGoal: compileMs + result.load1 < 2000,
  synthMs: Math.round(tSynth - t0),
};
const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, "compile.json"), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
