// Time from a container's start to its rules being in force, with `corral enforce` following a
// real Docker Engine (sealed in a network namespace, src/testing/engine.ts). Each step scales a
// service by one; the start is the engine's own State.StartedAt, the end the moment `nft monitor`
// in the engine's namespace shows a flows element covering the new address. Until then the new
// container is cut off (fail closed), so this is the latency the follower adds, not a hole.
// Anchor, in the same run: a bare `nft -f` of the same ruleset, the floor of any follower that
// loads the table.
//   node bench/enforce/run.ts [--steps 8]   (root, dockerd, docker compose, nft, ip) → bench/results/enforce.json
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { applyRuleset, listCorralTable } from "../../src/compile/nft-apply.ts";
import { compileOverlay, type Engine, importNodeImage, startEngine } from "../../src/testing/engine.ts";

const { values } = parseArgs({ options: { steps: { type: "string", default: "8" } } });
const STEPS = Number(values.steps);
const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const COMPOSE = `name: enfbench
services:
  agent:
    image: acme/agent:1
    command: ["nc", "-ll", "-p", "7000", "-e", "cat"]
    stop_grace_period: 1s
  db:
    image: acme/agent:1
    command: ["nc", "-ll", "-p", "5432", "-e", "cat"]
    stop_grace_period: 1s
`;
const POLICY = `version: 1
zones:
  agents: { services: [agent], isolate: per-service }
  data: { services: [db] }
flows:
  - { from: agent, to: db, ports: [5432/tcp] }
`;

const wallMs = () => performance.timeOrigin + performance.now();
const num = (ip: string) => ip.split(".").reduce((n, b) => n * 256 + Number(b), 0);
const covers = (text: string, ip: string) =>
  [...text.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:-(\d+\.\d+\.\d+\.\d+))?/g)].some(
    (m) => num(m[1]!) <= num(ip) && num(ip) <= num(m[2] ?? m[1]!),
  );

/** RFC 3339 with nanoseconds (Docker's StartedAt) → epoch milliseconds with the fraction kept. */
function epochMs(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) throw new Error(`unexpected timestamp ${text}`);
  return Date.parse(`${m[1]}${m[3]}`) + Number(`0.${m[2] ?? "0"}`) * 1000;
}

async function listSet(netns: string): Promise<string | undefined> {
  return run("ip", ["netns", "exec", netns, "nft", "list", "set", "inet", "corral", "flows"]).then(
    (r) => r.stdout,
    () => undefined,
  );
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const round = (x: number) => Math.round(x * 10) / 10;

const dir = mkdtempSync(join(tmpdir(), "corral-enfbench-"));
let engine: Engine | undefined;
let follower: ChildProcess | undefined;
let monitor: ChildProcess | undefined;
try {
  engine = await startEngine();
  const e = engine;
  await importNodeImage(e, "corral-test/node:24");
  await e.docker(["tag", "corral-test/node:24", "acme/agent:1"]);
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/docker-compose.yml"), COMPOSE);
  writeFileSync(join(dir, "corral.yaml"), POLICY);
  await compileOverlay(dir);
  const compose = (args: string[]) =>
    e.docker([
      "compose",
      "-f",
      join(dir, "app/docker-compose.yml"),
      "-f",
      join(dir, "out/compose.corral.yml"),
      ...args,
    ]);
  await compose(["up", "-d"]);

  // Every line nft prints as the table changes, stamped on arrival.
  const seen: Array<{ at: number; line: string }> = [];
  monitor = spawn("ip", ["netns", "exec", e.netns, "nft", "monitor"], { stdio: ["ignore", "pipe", "ignore"] });
  let partial = "";
  monitor.stdout?.on("data", (d: Buffer) => {
    const at = wallMs();
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) seen.push({ at, line });
  });
  // The follower as users run it: its own process, the CLI from source.
  follower = spawn(
    process.execPath,
    [
      join(ROOT, "src/cli/main.ts"),
      "enforce",
      "--policy",
      "corral.yaml",
      "-f",
      "app/docker-compose.yml",
      "--netns",
      e.netns,
    ],
    { cwd: dir, env: { ...process.env, DOCKER_HOST: e.host }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let followerLog = "";
  follower.stderr?.on("data", (d) => {
    followerLog += d;
  });
  const deadline = Date.now() + 30_000;
  while (!followerLog.includes("loaded") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!followerLog.includes("loaded")) throw new Error(`the follower did not load: ${followerLog}`);

  const latencies: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const before = new Set((await compose(["ps", "-q", "agent"])).trim().split("\n").filter(Boolean));
    await compose(["up", "-d", "--no-recreate", "--scale", `agent=${before.size + 1}`, "agent"]);
    const id = (await compose(["ps", "-q", "agent"]))
      .trim()
      .split("\n")
      .find((x) => x && !before.has(x));
    if (!id) throw new Error("no new replica");
    const [info] = JSON.parse(await e.docker(["inspect", id])) as Array<{
      State: { StartedAt: string };
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }>;
    // The flow to db is on the data network, which the agent joined: its address there is the one the flows set names.
    const ip = Object.entries(info!.NetworkSettings.Networks).find(([n]) => n.endsWith("corral_data"))![1].IPAddress;
    const started = epochMs(info!.State.StartedAt);
    // nft monitor reports each committed transaction ("# new generation"), not the elements of a
    // set declared in it: each generation after the start is checked by listing the set, and
    // counted only when no newer generation landed while it was listed.
    const until = Date.now() + 10_000;
    let inForce: number | undefined;
    let checked = 0;
    while (inForce === undefined && Date.now() < until) {
      const gens = seen.filter((s) => s.at >= started && s.line.startsWith("# new generation"));
      if (gens.length > checked) {
        const gen = gens[checked]!;
        const listed = (await listSet(e.netns)) ?? "";
        const newer = seen.filter((s) => s.at >= started && s.line.startsWith("# new generation")).length;
        if (newer === checked + 1 && covers(listed, ip)) inForce = gen.at;
        else checked++;
        continue;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (inForce === undefined) throw new Error(`rules for ${ip} never appeared:\n${followerLog}`);
    latencies.push(inForce - started);
  }

  // The anchor: loading the ruleset that is in force now, by hand, with nothing around it.
  const text = await listCorralTable({ netns: e.netns });
  if (!text) throw new Error("no table loaded");
  const ruleset = `table inet corral {}\ndelete table inet corral\n${text}`;
  const anchor: number[] = [];
  for (let i = 0; i < STEPS; i++) anchor.push((await applyRuleset(ruleset, { netns: e.netns })).ms);

  const out = {
    benchmark: "enforce",
    date: new Date().toISOString(),
    engine: e.version,
    steps: STEPS,
    corral: {
      name: "corral enforce: container start (State.StartedAt) → its flows element loaded (nft monitor)",
      medianMs: round(quantile(latencies, 0.5)),
      p95Ms: round(quantile(latencies, 0.95)),
      maxMs: round(Math.max(...latencies)),
      samplesMs: latencies.map(round),
      debounceMs: 50,
    },
    anchor: {
      name: "bare nft -f of the same ruleset in the same namespace",
      medianMs: round(quantile(anchor, 0.5)),
      p95Ms: round(quantile(anchor, 0.95)),
    },
  };
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "enforce.json"), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  follower?.kill("SIGTERM");
  monitor?.kill("SIGTERM");
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
}
