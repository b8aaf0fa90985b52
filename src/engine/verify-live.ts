// `corral verify --live`: the policy's matrix probed on the running compose project, from inside
// each container's network namespace. Corral's own probe process is entered with nsenter (only
// the network namespace: node and the probe come from the host, so images need no tools). An
// "outside" namespace is linked to the engine's host for the way out and for published ports,
// and removed afterwards whatever happens.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildPlan, corralTableDigest, numToIp, type Plan, parseCidr } from "../compile/index.ts";
import { type MatrixSummary, summarize } from "../lab/index.ts";
import type { Deployment } from "../model/types.ts";
import type { Policy } from "../policy/index.ts";
import { UserError } from "../policy/user-error.ts";
import type { DockerClient } from "./docker-api.ts";
import { type LiveCell, type LiveProbe, type LiveReplica, liveCells } from "./live-cells.ts";
import { networkLocator, replicaNamer, SERVICE_LABEL } from "./members.ts";

const run = promisify(execFile);
const AGENT = fileURLToPath(new URL(`../lab/agent${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url));

export class LiveVerifyError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}

export interface LiveOptions {
  project: string;
  client: DockerClient;
  /** The network namespace the engine runs in (default: this host's). */
  netns?: string;
  /** The /30 of the outside link (default 10.203.48.0/30); false: no outside probes. */
  outsideLink?: string | false;
  signal?: AbortSignal;
}

export interface LiveResult {
  mode: "live";
  project: string;
  /** Whether `table inet corral` is loaded where the engine runs. */
  hostRules: "loaded" | "missing";
  replicas: number;
  cells: LiveCell[];
  summary: MatrixSummary;
  ms: number;
}

/** The project's running containers as replicas, placed on the plan's networks by subnet. */
export async function liveReplicas(plan: Plan, client: DockerClient, project: string): Promise<LiveReplica[]> {
  const containers = await client.containers(project);
  const networkOf = networkLocator(plan);
  const nameOf = replicaNamer(containers);
  const out: LiveReplica[] = [];
  for (const c of containers) {
    const service = c.Labels[SERVICE_LABEL];
    if (!service) continue;
    const pid = (await client.inspect(c.Id)).State?.Pid;
    if (!pid) continue;
    const addresses = Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((n) => {
      if (!n.IPAddress) return [];
      const network = networkOf(n.IPAddress) ?? "(not Corral's)";
      return [{ network, address: n.IPAddress, gateway: n.Gateway ?? "" }];
    });
    out.push({
      service,
      name: nameOf(c) ?? service,
      id: c.Id,
      pid,
      addresses,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

interface Outside {
  ns: string;
  hostAddress: string;
  outsideAddress: string;
  destroy(): Promise<void>;
}

const inNetns = (netns: string | undefined, argv: string[]) => (netns ? ["ip", "netns", "exec", netns, ...argv] : argv);

async function sh(argv: string[]): Promise<string> {
  const [cmd, ...args] = argv;
  return (await run(cmd!, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** A namespace beyond the host: a veth pair from the engine's host, routed, nothing else. */
async function createOutside(link: string, netns: string | undefined): Promise<Outside> {
  const c = parseCidr(link);
  if (c.prefix !== 30)
    throw new LiveVerifyError(`--outside-link ${link} is not a /30`, "give a free /30, e.g. 10.203.48.0/30");
  const hostAddress = numToIp(c.base + 1);
  const outsideAddress = numToIp(c.base + 2);
  const tag = randomBytes(3).toString("hex");
  const ns = `crl-out-${tag}`;
  const hostEnd = `crlo${tag}h`;
  await sh(["ip", "netns", "add", ns]);
  const destroy = async () => {
    // The pair goes with the namespace.
    await sh(["ip", "netns", "del", ns]).catch(() => undefined);
  };
  try {
    await sh(["ip", "link", "add", hostEnd, "netns", ns, "type", "veth", "peer", "name", "out0", "netns", ns]);
    await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    await sh(["ip", "-n", ns, "addr", "add", `${outsideAddress}/30`, "dev", "out0"]);
    await sh(["ip", "-n", ns, "link", "set", "out0", "up"]);
    await sh(["ip", "-n", ns, "route", "add", "default", "via", hostAddress]);
    // The other end moves to the engine's host (this one, or the namespace it is sealed in).
    await sh(["ip", "-n", ns, "link", "set", hostEnd, "netns", netns ?? "1"]);
    const hostIp = netns ? ["ip", "-n", netns] : ["ip"];
    await sh([...hostIp, "addr", "add", `${hostAddress}/30`, "dev", hostEnd]);
    await sh([...hostIp, "link", "set", hostEnd, "up"]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { ns, hostAddress, outsideAddress, destroy };
}

/** Starts the probe's listener where `argv` runs it; resolves once it is listening. */
function startListener(prefix: string[], ports: unknown[], children: ChildProcess[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = [...prefix, process.execPath, AGENT, "listen", JSON.stringify(ports)];
    const child = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let err = "";
    child.stderr?.on("data", (d) => {
      err += d;
    });
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`probe listener exited (${code}): ${err.trim()}`)));
  });
}

function runProbes(prefix: string[], probes: Array<LiveProbe & { id: number; timeoutMs?: number }>) {
  return new Promise<Array<{ id: number; open: boolean; status?: number }>>((resolve, reject) => {
    const [cmd, ...args] = [...prefix, process.execPath, AGENT, "probe"];
    const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`probe exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out || "[]"));
    });
    child.stdin.end(JSON.stringify(probes));
  });
}

export async function verifyLive(policy: Policy, d: Deployment, o: LiveOptions): Promise<LiveResult> {
  const started = performance.now();
  const plan = buildPlan(policy, d);
  const replicas = await liveReplicas(plan, o.client, o.project);
  if (replicas.length === 0)
    throw new LiveVerifyError(
      `no running containers of compose project '${o.project}' on the engine`,
      "start it (docker compose -f docker-compose.yml -f out/compose.corral.yml up -d) or name it with --project",
    );
  const hostRules = (await corralTableDigest(o.netns ? { netns: o.netns } : {})) ? "loaded" : "missing";
  const children: ChildProcess[] = [];
  let outside: Outside | undefined;
  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  o.signal?.addEventListener("abort", stopAll, { once: true });
  try {
    if (o.outsideLink !== false) outside = await createOutside(o.outsideLink ?? "10.203.48.0/30", o.netns);
    const target = { host: outside?.outsideAddress ?? "", port: 443 };
    const { cells, probes } = liveCells({
      policy,
      deployment: d,
      plan,
      replicas,
      ...(outside ? { outside: { target, hostAddress: outside.hostAddress } } : {}),
    });
    const siteOf = (p: LiveProbe): string => ("replica" in p.at ? `r:${p.at.replica}` : p.at.site);
    const byName = new Map(replicas.map((r) => [r.name, r]));
    const prefixFor = (site: string): string[] => {
      if (site === "host") return inNetns(o.netns, []);
      if (site === "outside") return ["ip", "netns", "exec", outside!.ns];
      return ["nsenter", `--net=/proc/${byName.get(site.slice(2))!.pid}/ns/net`];
    };
    // Listeners: UDP on every probed port in each replica (ports its own service holds stay its
    // own), and the pretend internet in the outside namespace.
    const udpPorts = [...new Set(probes.filter((p) => p.protocol === "udp").map((p) => p.port))];
    await Promise.all([
      ...replicas.map((r) =>
        startListener(
          prefixFor(`r:${r.name}`),
          udpPorts.map((port) => ({ port, protocol: "udp", optional: true })),
          children,
        ),
      ),
      ...(outside ? [startListener(prefixFor("outside"), [{ port: target.port, protocol: "tcp" }], children)] : []),
    ]);
    o.signal?.throwIfAborted();
    const observe = async (list: Array<LiveProbe & { id: number; timeoutMs?: number }>) => {
      const bySite = new Map<string, typeof list>();
      for (const p of list) bySite.set(siteOf(p), [...(bySite.get(siteOf(p)) ?? []), p]);
      const results = await Promise.all([...bySite].map(([site, ps]) => runProbes(prefixFor(site), ps)));
      for (const r of results.flat()) {
        const c = cells[list.find((p) => p.id === r.id)!.cell]!;
        c.observed = (c.observed ?? false) || r.open;
      }
    };
    await observe(probes.map((p, id) => ({ ...p, id })));
    for (const c of cells) c.observed ??= false;
    // A probe lost on a busy machine looks like a block: open cells that answered nothing get a
    // second, slower try. A real block stays blocked.
    // A CONNECT through the gate waits on the gate's upstream DNS: an allowed name whose lookup
    // fails answers 502 only after the gate's own retries (seconds per upstream), so it gets longer.
    const retry = probes
      .map((p, id) => ({ ...p, id, timeoutMs: p.proxy ? 8000 : 2000 }))
      .filter((p) => cells[p.cell]!.expected && !cells[p.cell]!.observed);
    if (retry.length > 0) await observe(retry);
    o.signal?.throwIfAborted();
    return {
      mode: "live",
      project: o.project,
      hostRules,
      replicas: replicas.length,
      cells,
      summary: summarize(cells),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    o.signal?.removeEventListener("abort", stopAll);
    stopAll();
    await outside?.destroy();
  }
}
