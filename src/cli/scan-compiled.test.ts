// `scan --compiled DIR` must not contradict `corral verify`: every reachability and egress claim
// of the scan is checked against the cells verify's lab would expect (computed, not probed).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildCells, type Cell } from "../lab/matrix.ts";
import { HOST, OUTSIDE } from "../lab/topology.ts";
import { labInputs } from "../lab/verify.ts";
import { readDeployment } from "../model/load.ts";
import { loadPolicy } from "../policy/index.ts";
import { runCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-scan-compiled-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// The SuperAGI example's policy without its audit section (whose key compile checks on disk).
const example = join(PROJECT_ROOT, "examples", "superagi");
const policy = readFileSync(join(example, "corral.yaml"), "utf8").replace(/\naudit:\n(?: .*\n)*/, "\n");
const shipped = readFileSync(join(example, "docker-compose.yml"), "utf8");
const SCAN = ["scan", "-f", "docker-compose.yml", "-f", "out/compose.corral.yml", "--policy", "corral.yaml"];

interface Json {
  summary: { scope?: string };
  findings: Array<{ ruleId: string; service: string; message: string }>;
  reachability: { edges: Array<{ from: string; to: string; ports: string[] | "all" }> };
}

before(async () => {
  writeFileSync(join(dir, "corral.yaml"), policy);
  writeFileSync(join(dir, "docker-compose.yml"), shipped);
  const r = await runCli(
    ["compile", "--policy", "corral.yaml", "-f", "docker-compose.yml", "-t", "compose", "-t", "nftables", "-o", "out/"],
    { cwd: dir },
  );
  assert.equal(r.code, 0, r.err);
});

/** What verify --lab expects of the compiled stack, cell by cell. */
async function expectedCells(): Promise<Cell[]> {
  const p = (await loadPolicy(join(dir, "corral.yaml"))).policy;
  const d = readDeployment([join(dir, "docker-compose.yml")], { env: {} });
  const { topology, gate } = labInputs(p, d, false);
  return buildCells(p, d, topology, gate).filter((c) => !c.via);
}

function inPorts(ports: string[] | "all", c: Cell): boolean {
  if (ports === "all") return true;
  return ports.some((s) => {
    const m = /^(\d+)(?:-(\d+))?\/(\w+)$/.exec(s);
    if (!m) throw new Error(`unexpected port ${s}`);
    return m[3] === c.protocol && Number(m[1]) <= c.port && c.port <= Number(m[2] ?? m[1]);
  });
}

/** Rules whose claim is "X reaches Y" or "X reaches the internet". */
const REACH_RULES = ["CRL-P001", "CRL-N006", "CRL-N007", "CRL-N008"];
const EGRESS_RULES = ["CRL-A001", "CRL-A002", "CRL-A003", "CRL-A004", "CRL-N009"];

test("scan --compiled of SuperAGI agrees with verify's expected matrix", async () => {
  const r = await runCli([...SCAN, "--compiled", "out", "--format", "json"], { cwd: dir });
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Json;
  const cells = await expectedCells();
  const between = cells.filter((c) => c.to !== OUTSIDE && c.to !== HOST);
  assert.ok(
    between.some((c) => c.expected),
    "the matrix has open cells to compare with",
  );

  const edgeOf = (c: Cell) => j.reachability.edges.find((e) => e.from === c.from && e.to === c.to);
  const contradictions = between.flatMap((c) => {
    const e = edgeOf(c);
    const reached = e !== undefined && inPorts(e.ports, c);
    return reached === c.expected
      ? []
      : [`${c.from} → ${c.to} ${c.port}/${c.protocol}: scan ${reached}, verify ${c.expected}`];
  });
  assert.deepEqual(contradictions, []);

  // Every reachable pair is one verify expects open, so none is reachable-but-undeclared.
  const reach = j.findings.filter((f) => REACH_RULES.includes(f.ruleId));
  assert.deepEqual(
    reach.map((f) => `${f.ruleId} ${f.service} ${f.message}`),
    [],
  );
  const leaves = (s: string) => cells.some((c) => c.from === s && c.to === OUTSIDE && c.expected);
  const egress = j.findings.filter((f) => EGRESS_RULES.includes(f.ruleId) && !leaves(f.service));
  assert.deepEqual(
    egress.map((f) => `${f.ruleId} ${f.service} ${f.message}`),
    [],
  );

  assert.match(j.summary.scope ?? "", /^Host rules from out\/corral\.nft taken as in force/);
  assert.match(j.summary.scope ?? "", /corral verify --lab \/ --live/);
});

test("--compiled needs the policy it was compiled from", async () => {
  const r = await runCli(["scan", "-f", "docker-compose.yml", "-f", "out/compose.corral.yml", "--compiled", "out"], {
    cwd: dir,
  });
  assert.equal(r.code, 2);
  assert.match(r.err, /--compiled out needs the policy it was compiled from/);
  assert.match(r.err, /--policy corral\.yaml/);
});

test("--compiled refuses a directory compiled from another policy or compose file", async () => {
  writeFileSync(join(dir, "edited.yaml"), `${policy}\n# edited after compile\n`);
  const p = await runCli([...SCAN.slice(0, 5), "--policy", "edited.yaml", "--compiled", "out"], { cwd: dir });
  assert.equal(p.code, 2);
  assert.match(p.err, /out\/corral\.nft is stale: compiled from policy sha256 [0-9a-f]{12}…, but edited\.yaml is/);
  assert.match(p.err, /recompile: corral compile --policy edited\.yaml -f docker-compose\.yml -o out/);

  // The same policy over a stack whose flow target moved: proxy now has two GUIs to reach.
  writeFileSync(
    join(dir, "grown.yml"),
    shipped.replace(/^services:\n/m, "services:\n  gui2:\n    image: superagi/superagi-gui:0.0.14\n"),
  );
  writeFileSync(join(dir, "grown.yaml"), policy.replace("[proxy, gui]", "[proxy, gui, gui2]"));
  const g = await runCli(
    [
      "compile",
      "--policy",
      "grown.yaml",
      "-f",
      "docker-compose.yml",
      "-t",
      "compose",
      "-t",
      "nftables",
      "-o",
      "grown/",
    ],
    { cwd: dir },
  );
  assert.equal(g.code, 0, g.err);
  const c = await runCli(
    ["scan", "-f", "grown.yml", "-f", "grown/compose.corral.yml", "--policy", "grown.yaml", "--compiled", "grown"],
    { cwd: dir },
  );
  assert.equal(c.code, 2, c.out);
  assert.match(c.err, /grown\/corral\.nft is stale: it is not what grown\.yaml and grown\.yml compile to now/);
  assert.match(c.err, /recompile: corral compile --policy grown\.yaml -f grown\.yml -o grown/);
});

test("--compiled without its overlay among the -f files says to add it", async () => {
  const r = await runCli(["scan", "-f", "docker-compose.yml", "--policy", "corral.yaml", "--compiled", "out"], {
    cwd: dir,
  });
  assert.equal(r.code, 2);
  assert.match(r.err, /add -f out\/compose\.corral\.yml/);
});

test("--compiled naming a directory compile never wrote says how to compile into it", async () => {
  const r = await runCli([...SCAN, "--compiled", "nowhere"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.err, /--compiled nowhere: nowhere\/corral\.nft cannot be read/);
  assert.match(r.err, /compile into it: corral compile --policy corral\.yaml -f docker-compose\.yml -o nowhere/);
});
