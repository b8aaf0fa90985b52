// `corral enforce` on a real Docker Engine (sealed in a network namespace): the host rules follow
// the containers through scaling, recreation, down/up, a deleted table and a dockerd restart. Each
// step is proven by connections between the containers themselves, made from inside them.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { startCli } from "../testing/cli.ts";
import { compileOverlay, type Engine, importNodeImage, installedEngines, startEngine } from "../testing/engine.ts";
import { privilegedSkip } from "../testing/privileged.ts";

const run = promisify(execFile);
const skip = privilegedSkip({ commands: ["dockerd", "docker", "busybox", "tar", "nft", "ip"] });
let dir = "";
let engine: Engine | undefined;
let follower: { stop: AbortController; done: Promise<number>; err: () => string } | undefined;

const COMPOSE = `name: enf
services:
  agent:
    image: acme/agent:1
    command: ["nc", "-ll", "-p", "7000", "-e", "cat"]
    restart: unless-stopped
    stop_grace_period: 1s
  peer:
    image: acme/agent:1
    command: ["nc", "-ll", "-p", "7000", "-e", "cat"]
    restart: unless-stopped
    stop_grace_period: 1s
  db:
    image: acme/db:1
    command: ["nc", "-ll", "-p", "5432", "-e", "cat"]
    restart: unless-stopped
    stop_grace_period: 1s
`;
// agents is per-service: replicas of agent are apart; peer's replicas talk through the declared
// flow from peer to itself.
const POLICY = `version: 1
zones:
  agents: { services: [agent, peer], isolate: per-service }
  data: { services: [db] }
flows:
  - { from: agent, to: db, ports: [5432/tcp] }
  - { from: peer, to: peer, ports: [7000/tcp] }
  - { from: agent, to: host, ports: [11434/tcp] }
`;
// Stands in for a service on the Docker host (Ollama): it listens in the engine's namespace.
const HOST_PORTS = [11434, 11435];
let hostService: ChildProcess | undefined;

const composeArgs = () => [
  "compose",
  "-f",
  join(dir, "app/docker-compose.yml"),
  "-f",
  join(dir, "out/compose.corral.yml"),
];
const compose = (args: string[]) => engine!.docker([...composeArgs(), ...args]);
const nft = async (args: string[]) =>
  run("ip", ["netns", "exec", engine!.netns, "nft", ...args]).then(
    (r) => r.stdout,
    () => undefined,
  );

async function replicas(service: string): Promise<Array<{ id: string; ip: string; gateway: string }>> {
  const ids = (await compose(["ps", "-q", service])).trim().split("\n").filter(Boolean);
  const out = [];
  for (const id of ids) {
    const [info] = JSON.parse(await engine!.docker(["inspect", id])) as Array<{
      NetworkSettings: { Networks: Record<string, { IPAddress: string; Gateway: string }> };
    }>;
    const home = Object.entries(info?.NetworkSettings.Networks ?? {}).find(([name]) => name.endsWith("corral_agents"));
    out.push({ id, ip: home?.[1].IPAddress ?? "", gateway: home?.[1].Gateway ?? "" });
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip));
}

/** A TCP connect from inside a container: "open", or why not. */
async function probe(fromId: string, host: string, port: number): Promise<string> {
  const script =
    `const s = require("net").connect(${port}, ${JSON.stringify(host)});` +
    `s.on("connect", () => { console.log("open"); process.exit(0); });` +
    `s.on("error", (e) => { console.log("error=" + e.code); process.exit(0); });` +
    `setTimeout(() => { console.log("timeout"); process.exit(0); }, 1500);`;
  return (await engine!.docker(["exec", fromId, "node", "-e", script])).trim();
}

/** Polls until `check` holds; the follower is asynchronous, so steps wait for it, bounded. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}\n${follower?.err() ?? ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const num = (ip: string) => ip.split(".").reduce((n, b) => n * 256 + Number(b), 0);

/** Whether any element of the loaded flows set covers `ip` (single addresses or ranges). */
async function ruled(ip: string): Promise<boolean> {
  const table = (await nft(["list", "set", "inet", "corral", "flows"])) ?? "";
  return [...table.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:-(\d+\.\d+\.\d+\.\d+))?/g)].some(
    (m) => num(m[1]!) <= num(ip) && num(ip) <= num(m[2] ?? m[1]!),
  );
}

/** The declared flows work for every live replica: the follower has caught up. */
async function caughtUp(): Promise<boolean> {
  const agents = await replicas("agent");
  const peers = await replicas("peer");
  if (agents.length !== 2 || peers.length !== 2) return false;
  for (const a of agents) if ((await probe(a.id, "db", 5432)) !== "open") return false;
  return (await probe(peers[0]!.id, peers[1]!.ip, 7000)) === "open";
}

/** The policy's matrix on the live containers: every replica pair and the declared flows. */
async function assertContained(step: string): Promise<void> {
  const agents = await replicas("agent");
  const peers = await replicas("peer");
  assert.equal(agents.length, 2, `${step}: two agent replicas`);
  for (const a of agents) assert.equal(await probe(a.id, "db", 5432), "open", `${step}: agent ${a.ip} → db (declared)`);
  const [a1, a2] = agents;
  const [p1, p2] = peers;
  assert.notEqual(await probe(a1!.id, a2!.ip, 7000), "open", `${step}: agent replicas are apart (per-service)`);
  assert.equal(await probe(p1!.id, p2!.ip, 7000), "open", `${step}: peer → peer, the flow to itself`);
  assert.notEqual(await probe(a1!.id, p1!.ip, 7000), "open", `${step}: agent → peer is not declared`);
  const db = (await compose(["ps", "-q", "db"])).trim();
  assert.notEqual(await probe(db, a1!.ip, 7000), "open", `${step}: db → agent is not declared`);
  for (const a of agents)
    assert.equal(await probe(a.id, "host.docker.internal", 11434), "open", `${step}: agent ${a.ip} → host (declared)`);
  assert.notEqual(await probe(a1!.id, "host.docker.internal", 11435), "open", `${step}: another host port`);
  assert.notEqual(await probe(p1!.id, a1!.gateway, 11434), "open", `${step}: peer has no flow to the host`);
}

// Docker's own firewall differs by version (docs/enforce.md): every installed engine runs the
// whole sequence. CI installs two (scripts/install-engine.sh) and must run both.
const engines = installedEngines();
test("real-engine tests cover at least two Docker Engine versions in CI", { skip }, () => {
  if (process.env.CI === "true")
    assert.ok(engines.length >= 2, `only ${engines.map((e) => e.name).join(", ")} installed`);
});

for (const spec of engines)
  describe(`engine ${spec.name}`, () => {
    before(async () => {
      if (skip) return;
      dir = mkdtempSync(join(tmpdir(), "corral-enforce-"));
      engine = await startEngine(spec.dir ? { dir: spec.dir } : {});
      await importNodeImage(engine, "corral-test/node:24");
      for (const tag of ["acme/agent:1", "acme/db:1"]) await engine.docker(["tag", "corral-test/node:24", tag]);
      const listen = HOST_PORTS.map((p) => `require("net").createServer((c) => c.end()).listen(${p}, "0.0.0.0");`);
      hostService = spawn("ip", ["netns", "exec", engine.netns, process.execPath, "-e", listen.join("")], {
        stdio: "ignore",
      });
      mkdirSync(join(dir, "app"));
      writeFileSync(join(dir, "app/docker-compose.yml"), COMPOSE);
      writeFileSync(join(dir, "corral.yaml"), POLICY);
      await compileOverlay(dir);
    });

    after(async () => {
      follower?.stop.abort();
      await follower?.done.catch(() => undefined);
      await compose(["down", "-t", "1"]).catch(() => undefined);
      follower = undefined;
      hostService?.kill();
      hostService = undefined;
      await engine?.stop();
      engine = undefined;
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("enforce: scaled replicas each get their service's rules, apart unless a flow joins them", {
      skip,
    }, async () => {
      await compose(["up", "-d", "--scale", "agent=2", "--scale", "peer=2"]);
      const [a1, a2] = await replicas("agent");
      // Without the host rules the zone network is flat: what the follower must close.
      assert.equal(await probe(a1!.id, a2!.ip, 7000), "open", "before enforce, replicas reach each other");

      const stop = new AbortController();
      const started = startCli(
        [
          "enforce",
          "--policy",
          "corral.yaml",
          "-f",
          "app/docker-compose.yml",
          "--netns",
          engine!.netns,
          "--tick",
          "0.5",
        ],
        { cwd: dir, env: { DOCKER_HOST: engine!.host }, stopSignal: stop.signal },
      );
      follower = { stop, done: started.done, err: started.err };
      await until("the declared flows open for every replica", caughtUp);
      assert.match(started.err(), /table inet corral loaded, \d+ running containers of project enf/);
      await assertContained("scaled");
    });

    test("enforce: recreated containers, and addresses passed from one service to another", { skip }, async () => {
      const before = await replicas("agent");
      const peersBefore = (await replicas("peer")).map((r) => r.ip);
      // The peers' addresses are freed, then taken by recreated agents (the engine hands out the
      // lowest free ones): rules keyed on stale addresses would give an agent the peers' flow.
      await compose(["stop", "-t", "1", "peer"]);
      await compose(["up", "-d", "--force-recreate", "--scale", "agent=2", "agent"]);
      await compose(["start", "peer"]);
      const now = await replicas("agent");
      assert.ok(
        now.every((r) => !before.some((b) => b.id === r.id)),
        "the agents are new containers",
      );
      await until("the declared flows open for the recreated replicas", caughtUp);
      await assertContained("recreated");
      const peers = await replicas("peer");
      for (const ip of peersBefore.filter((ip) => now.some((r) => r.ip === ip))) {
        const agent = now.find((r) => r.ip === ip)!;
        for (const p of peers)
          assert.notEqual(
            await probe(agent.id, p.ip, 7000),
            "open",
            `agent on the peers' old address ${ip} has no peer flow`,
          );
      }
      const live = [...now, ...peers].map((r) => r.ip);
      for (const ip of [...before.map((b) => b.ip), ...peersBefore].filter((ip) => !live.includes(ip)))
        assert.equal(await ruled(ip), false, `the gone address ${ip} lost its rules`);
    });

    test("enforce: down and up again", { skip }, async () => {
      await compose(["down", "-t", "1"]);
      await until("an empty project leaves no member address", async () => {
        const table = (await nft(["list", "set", "inet", "corral", "flows"])) ?? "";
        return table.includes("set flows") && !/\d+\.\d+\.\d+\.\d+/.test(table);
      });
      await compose(["up", "-d", "--scale", "agent=2", "--scale", "peer=2"]);
      await until("the declared flows open for the new containers", caughtUp);
      await assertContained("down/up");
    });

    test("enforce: a deleted table comes back", { skip }, async () => {
      await nft(["delete", "table", "inet", "corral"]);
      assert.equal(await nft(["list", "table", "inet", "corral"]), undefined);
      await until("the table reloaded", async () => (await nft(["list", "table", "inet", "corral"])) !== undefined);
      await until("with the live addresses", caughtUp);
      await assertContained("table deleted");
    });

    test("enforce: rules stay while dockerd is down and follow its restart", { skip }, async () => {
      const e = engine!;
      await e.restart();
      // While the engine was away the table stayed; after it the containers come back (restart:
      // unless-stopped), perhaps with new addresses, and the follower reconnects.
      assert.ok(await nft(["list", "table", "inet", "corral"]), "the table survived the engine's restart");
      await until("the restarted containers running", async () => (await replicas("agent")).length === 2, 60_000);
      await until("the declared flows open again", caughtUp, 30_000);
      await assertContained("dockerd restarted");
    });
  });
