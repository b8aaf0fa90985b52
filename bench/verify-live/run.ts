// `corral verify --live` on an 8-service stack (one service scaled to 2) on a real Docker Engine
// sealed in a network namespace, host rules loaded by `corral enforce --once`. Anchor, in the same
// run on the same probes: the hand-made check, one `nsenter … bash -c 'exec 3<>/dev/tcp/H/P'`
// process per TCP probe with the same timeout, run one after another as a script would; measured on
// a sample and scaled to the probe count.
//   node bench/verify-live/run.ts [--sample 120]   (root, dockerd, docker compose, nft, ip, nsenter, bash)
//   → bench/results/verify-live.json
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { buildPlan } from "../../src/compile/plan.ts";
import { DockerClient, socketPath } from "../../src/engine/docker-api.ts";
import { liveCells } from "../../src/engine/live-cells.ts";
import { liveReplicas } from "../../src/engine/verify-live.ts";
import { readDeployment } from "../../src/model/load.ts";
import { loadPolicy } from "../../src/policy/index.ts";
import { runCli } from "../../src/testing/cli.ts";
import { compileOverlay, type Engine, importNodeImage, startEngine } from "../../src/testing/engine.ts";

const { values } = parseArgs({ options: { sample: { type: "string", default: "120" } } });
const SAMPLE = Number(values.sample);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const run = promisify(execFile);

const listen = (port: number) => `["nc", "-ll", "-p", "${port}", "-e", "cat"]`;
const COMPOSE = `name: vlbench
services:
  proxy: { image: acme/app:1, command: ${listen(80)}, ports: ["8080:80"] }
  ui: { image: acme/app:1, command: ${listen(3000)} }
  api: { image: acme/app:1, command: ${listen(8000)} }
  worker: { image: acme/app:1, command: ${listen(9000)}, deploy: { replicas: 2 } }
  scheduler: { image: acme/app:1, command: ${listen(9100)} }
  db: { image: acme/app:1, command: ${listen(5432)} }
  cache: { image: acme/app:1, command: ${listen(6379)} }
  vectors: { image: acme/app:1, command: ${listen(6333)} }
`;
const POLICY = `version: 1
zones:
  web: { services: [proxy, ui] }
  agents: { services: [api, worker, scheduler], isolate: per-service }
  data: { services: [db, cache, vectors], isolate: per-service }
flows:
  - { from: proxy, to: api, ports: [8000/tcp] }
  - { from: [api, worker], to: db, ports: [5432/tcp] }
  - { from: [api, worker, scheduler], to: cache, ports: [6379/tcp] }
  - { from: worker, to: vectors, ports: [6333/tcp] }
publish:
  - { service: proxy, port: 80/tcp, host: 0.0.0.0:8080 }
`;

const dir = mkdtempSync(join(tmpdir(), "corral-vlbench-"));
let engine: Engine | undefined;
try {
  engine = await startEngine();
  const e = engine;
  await importNodeImage(e, "corral-test/node:24");
  await e.docker(["tag", "corral-test/node:24", "acme/app:1"]);
  writeFileSync(join(dir, "docker-compose.yml"), COMPOSE);
  writeFileSync(join(dir, "corral.yaml"), POLICY);
  const env = { DOCKER_HOST: e.host };
  const cli = async (argv: string[]) => {
    const r = await runCli(argv, { cwd: dir, env });
    if (r.code !== 0) throw new Error(`corral ${argv.join(" ")}: ${r.err}${r.out}`);
    return r;
  };
  await compileOverlay(dir, "docker-compose.yml");
  await e.docker([
    "compose",
    "-f",
    join(dir, "docker-compose.yml"),
    "-f",
    join(dir, "out/compose.corral.yml"),
    "up",
    "-d",
  ]);
  await cli(["enforce", "--policy", "corral.yaml", "-f", "docker-compose.yml", "--netns", e.netns, "--once"]);

  const verifyArgs = [
    "verify",
    "--live",
    "--policy",
    "corral.yaml",
    "-f",
    "docker-compose.yml",
    "--netns",
    e.netns,
    "--format",
    "json",
  ];
  const runs: number[] = [];
  let result: { cells: unknown[]; replicas: number; summary: { mismatches: number } } | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await cli(verifyArgs);
    runs.push(performance.now() - t0);
    result = JSON.parse(r.out);
  }
  if (result?.summary.mismatches !== 0) throw new Error("verify --live is not green on the bench stack");

  // The same probes, by hand: one process per TCP probe from a replica.
  const { policy } = await loadPolicy(join(dir, "corral.yaml"));
  const d = readDeployment([join(dir, "docker-compose.yml")], { env: {} });
  const plan = buildPlan(policy, d);
  const replicas = await liveReplicas(plan, new DockerClient(socketPath(e.host)), "vlbench");
  const { probes } = liveCells({ policy, deployment: d, plan, replicas });
  const tcp = probes.filter((p) => p.protocol === "tcp" && "replica" in p.at && !p.proxy);
  const pid = new Map(replicas.map((r) => [r.name, r.pid]));
  // Every k-th probe: the open and the blocked in the stack's own proportion.
  const stride = Math.max(1, Math.floor(tcp.length / SAMPLE));
  const sample = tcp.filter((_, i) => i % stride === 0).slice(0, SAMPLE);
  const t0 = performance.now();
  for (const p of sample) {
    const at = p.at as { replica: string };
    await run("nsenter", [
      `--net=/proc/${pid.get(at.replica)}/ns/net`,
      "timeout",
      "0.4",
      "bash",
      "-c",
      `exec 3<>/dev/tcp/${p.host}/${p.port}`,
    ]).catch(() => undefined);
  }
  const perProbe = (performance.now() - t0) / sample.length;

  const round = (x: number) => Math.round(x);
  const median = [...runs].sort((a, b) => a - b)[1] ?? Number.NaN;
  const out = {
    benchmark: "verify-live",
    date: new Date().toISOString(),
    engine: e.version,
    services: 8,
    containers: result.replicas,
    cells: result.cells.length,
    probes: probes.length,
    corral: {
      name: "corral verify --live (in-process CLI, JSON), median of 3",
      medianMs: round(median),
      runsMs: runs.map(round),
      cellsPerSecond: round((result.cells.length / median) * 1000),
    },
    anchor: {
      name: "one nsenter + bash /dev/tcp process per TCP probe, 0.4 s timeout, sequential",
      sampledProbes: sample.length,
      perProbeMs: Math.round(perProbe * 10) / 10,
      projectedMsForTcpProbes: round(perProbe * tcp.length),
      tcpProbes: tcp.length,
    },
  };
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "verify-live.json"), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
}
