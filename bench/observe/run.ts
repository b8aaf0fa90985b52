// Observe mode's cost: new-connection setup rate through the compiled ruleset for a connection
// observe mode logs (NFLOG → ulogd2 → JSON line) against the anchor of the same stack's declared
// flow (accepted by the flows set, nothing logged), same lab, same run, measured A B B A. Then
// what a million connections cost on disk: ulogd2's JSON lines, and the record corral observe
// keeps (per pair, so it does not grow with the count), and how fast corral observe folds lines.
//   node bench/observe/run.ts [--seconds 5] [-c 32]   (root, ip, nft, ulogd)  → bench/results/observe.json
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { buildPlan } from "../../src/compile/plan.ts";
import { startUlogd } from "../../src/engine/nflog.ts";
import { addressOwner } from "../../src/engine/observed-flows.ts";
import { Observer } from "../../src/engine/observer.ts";
import { Lab, newPrefix } from "../../src/lab/lab.ts";
import { LAB_POOL } from "../../src/lab/topology.ts";
import { labInputs } from "../../src/lab/verify.ts";
import { readDeployment } from "../../src/model/load.ts";
import { parsePolicy } from "../../src/policy/load.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, c: { type: "string", default: "32" } },
});
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const DECLARED = 8080;
const OBSERVED = 9090;

const dir = mkdtempSync(join(tmpdir(), "corral-bench-observe-"));
writeFileSync(
  join(dir, "docker-compose.yml"),
  `services:\n  client: { image: x }\n  server: { image: y, expose: ["${DECLARED}", "${OBSERVED}"] }\n`,
);
const { policy } = parsePolicy(
  `version: 1
zones:
  clients: { services: [client], mode: observe }
  servers: { services: [server] }
flows:
  - { from: client, to: server, ports: [${DECLARED}/tcp] }
`,
  join(dir, "corral.yaml"),
);
const d = readDeployment([join(dir, "docker-compose.yml")], { env: {} });
const plan = buildPlan(policy, d, { pool: LAB_POOL, forcePool: true });
const { topology, nft } = labInputs(policy, d, false);
// The server's address on the network the client shares with it: the one a connection uses.
const shared = plan.attachments.find((a) => a.service === "client" && !a.home)!.network;
const serverAt = plan.attachments.find((a) => a.service === "server" && a.network === shared)!.address;

const lab = await Lab.create(topology, newPrefix());
let ulogd: Awaited<ReturnType<typeof startUlogd>> | undefined;
try {
  await lab.loadNft(nft!);
  ulogd = await startUlogd({ group: 1, dir, netns: lab.hostNs });
  await lab.listen([
    { port: DECLARED, protocol: "tcp" },
    { port: OBSERVED, protocol: "tcp" },
  ]);
  const clientNs = lab.ns.get("client")!;
  const measure = async (port: number) => {
    const { stdout } = await run(
      "ip",
      [
        "netns",
        "exec",
        clientNs,
        process.execPath,
        join(ROOT, "bench/gate/connect-driver.ts"),
        "--direct",
        "--targets",
        `${serverAt}:${port}`,
        "-c",
        values.c,
        "-d",
        values.seconds,
      ],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout) as { setups: number; perSec: number; p50ms: number; p99ms: number; errors: number };
  };
  const passes: Array<{ path: string; perSec: number; p50ms: number; p99ms: number; setups: number; errors: number }> =
    [];
  for (const [path, port] of [
    ["declared (enforced, not logged)", DECLARED],
    ["observed (logged, let through)", OBSERVED],
    ["observed (logged, let through)", OBSERVED],
    ["declared (enforced, not logged)", DECLARED],
  ] as const) {
    const r = await measure(port);
    passes.push({ path, ...r });
    await new Promise((r) => setTimeout(r, 1500));
  }
  await new Promise((r) => setTimeout(r, 1500));
  const sum = (path: string, k: "perSec" | "setups") =>
    passes.filter((p) => p.path === path).reduce((s, p) => s + p[k], 0);
  const declared = sum("declared (enforced, not logged)", "perSec");
  const observed = sum("observed (logged, let through)", "perSec");
  const loggedSetups = sum("observed (logged, let through)", "setups");

  const jsonBytes = statSync(ulogd.jsonFile).size;
  const lines = readFileSync(ulogd.jsonFile, "utf8").split("\n").filter(Boolean).length;
  const owner = addressOwner(
    plan.attachments,
    plan.networks.map((n) => n.gateway),
  );
  const recordFile = join(dir, "observed-flows.json");
  const t0 = performance.now();
  const tick = await new Observer({ jsonFile: ulogd.jsonFile, recordFile, owner: async () => owner }).tick();
  const foldMs = performance.now() - t0;

  const result = {
    setup_rate: {
      anchor: "the same lab's declared flow, accepted by the flows set without a log line",
      passes,
      observed_over_declared: +(observed / declared).toFixed(3),
    },
    log: {
      connections_logged: loggedSetups,
      ulogd_json_lines: lines,
      lines_per_logged_connection: +(lines / loggedSetups).toFixed(3),
      ulogd_json_bytes_per_million_connections: Math.round((jsonBytes / lines) * 1e6),
    },
    record: {
      pairs: tick.record.flows.length,
      bytes: statSync(recordFile).size,
      note: "one entry per (from, to, protocol, port): a million connections of one pair is one entry",
      fold_lines_per_sec: Math.round(lines / (foldMs / 1000)),
    },
    setup: {
      lab: "network namespaces: client and server on a Linux bridge in a host namespace, table inet corral as compiled, br_netfilter",
      load: `bench/gate/connect-driver.ts --direct -c ${values.c} -d ${values.seconds}: connect then reset, in the client's namespace`,
      logger: "ulogd 2.0.8 (NFLOG → BASE → IFINDEX → IP2STR → JSON, sync=1) in the host namespace",
      machine: "2 cores shared by the load, the kernel's forwarding and ulogd2",
    },
  };
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/observe.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await ulogd?.stop();
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}
