// Builds a LabTopology out of network namespaces as Docker would lay it out: a lab "host"
// namespace holding one Linux bridge per network, one namespace per service joined to its
// bridges by veth pairs, plus an "outside" namespace routed through the host. Every
// namespace name starts with the run's prefix; destroy() (also run on exit and on SIGINT /
// SIGTERM) kills the listeners and deletes every namespace, which takes the links, bridges and
// nft tables inside with it.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { applyRuleset } from "../compile/index.ts";
import { LabError, labUnavailable, run, runSync } from "./exec.ts";
import { type LabTopology, OUTSIDE, OUTSIDE_LINK } from "./topology.ts";

// The same extension as this module: agent.ts when run from source, agent.js from dist/.
const AGENT = fileURLToPath(
  new URL(`./agent${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url),
);

export interface ProbeSpec {
  id: number;
  from: string;
  host: string;
  port: number;
  protocol: "tcp" | "udp";
  timeoutMs?: number;
}

const live = new Set<Lab>();
let hooked = false;

function cleanupAllSync(): void {
  for (const lab of live) lab.destroySync();
}

function onSignal(signal: NodeJS.Signals): void {
  // Tear down (waiting for `ip` commands already in flight), then re-raise the signal unless
  // someone else handles it (the CLI's own handler aborts the run gracefully). A second
  // Ctrl-C meanwhile kills at once; the exit hook still deletes the namespaces.
  void Promise.allSettled([...live].map((lab) => lab.destroy())).then(() => {
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", cleanupAllSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      onSignal(sig);
    });
}

/** A fresh prefix per run, e.g. `crl3f9a1c-`, so parallel runs never share a name. */
export function newPrefix(): string {
  return `crl${randomBytes(3).toString("hex")}-`;
}

export class Lab {
  readonly prefix: string;
  readonly hostNs: string;
  readonly outsideNs: string;
  readonly topology: LabTopology;
  /** Node name → namespace. */
  readonly ns = new Map<string, string>();
  private readonly created: string[] = [];
  private readonly children: ChildProcess[] = [];
  private destroying: Promise<void> | undefined;
  private building: Promise<void> | undefined;
  private aborted = false;

  private constructor(topology: LabTopology, prefix: string) {
    this.topology = topology;
    this.prefix = prefix;
    this.hostNs = `${prefix}host`;
    this.outsideNs = `${prefix}out`;
    topology.nodes.forEach((n, i) => {
      this.ns.set(n.name, `${prefix}s${i}`);
    });
    this.ns.set(OUTSIDE, this.outsideNs);
  }

  /** Builds the namespaces; on any failure everything made so far is removed. */
  static async create(topology: LabTopology, prefix = newPrefix()): Promise<Lab> {
    const why = labUnavailable();
    if (why) throw new LabError(`${why}; run 'corral verify --lab' as root on Linux with nftables installed`);
    const lab = new Lab(topology, prefix);
    live.add(lab);
    hook();
    lab.building = lab.build();
    try {
      await lab.building;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Stops a build between steps once destroy() was called. */
  private checkpoint(): void {
    if (this.aborted) throw new LabError("the lab was stopped while it was being built");
  }

  /** Like Promise.all, but waits for every command, so none is still running after a failure. */
  private async all(steps: Array<Promise<unknown>>): Promise<void> {
    const failed = (await Promise.allSettled(steps)).find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    this.checkpoint();
  }

  private async addNs(name: string): Promise<void> {
    await run(["ip", "netns", "add", name]);
    this.created.push(name);
  }

  private async build(): Promise<void> {
    const t = this.topology;
    await this.all([this.addNs(this.hostNs)]);
    await this.all([...this.ns.values()].map((n) => this.addNs(n)));
    // Docker's host: forwarding on, bridged IPv4 through the inet hooks (br_netfilter).
    await run([
      "ip",
      "netns",
      "exec",
      this.hostNs,
      "sysctl",
      "-qw",
      "net.ipv4.ip_forward=1",
      "net.bridge.bridge-nf-call-iptables=1",
    ]);
    this.checkpoint();
    const host: string[] = ["link set lo up"];
    for (const b of t.bridges) {
      host.push(
        `link add ${b.name} type bridge`,
        `addr add ${b.gateway}/${b.subnet.split("/")[1]} dev ${b.name}`,
        `link set ${b.name} up`,
      );
    }
    const perNode = new Map<string, string[]>();
    t.nodes.forEach((node, i) => {
      const ns = this.ns.get(node.name) ?? "";
      const cmds = ["link set lo up"];
      node.interfaces.forEach((itf, j) => {
        const v = `v${i}x${j}`;
        host.push(`link add ${v} type veth peer name eth${j} netns ${ns}`, `link set ${v} master ${itf.bridge} up`);
        cmds.push(`addr add ${itf.address}/${itf.prefix} dev eth${j}`, `link set eth${j} up`);
      });
      if (node.defaultVia) cmds.push(`route add default via ${node.defaultVia}`);
      perNode.set(ns, cmds);
    });
    host.push(
      `link add vout type veth peer name eth0 netns ${this.outsideNs}`,
      `addr add ${OUTSIDE_LINK.host}/${OUTSIDE_LINK.prefix} dev vout`,
      "link set vout up",
    );
    perNode.set(this.outsideNs, [
      "link set lo up",
      `addr add ${OUTSIDE_LINK.outside}/${OUTSIDE_LINK.prefix} dev eth0`,
      "link set eth0 up",
      `route add default via ${OUTSIDE_LINK.host}`,
    ]);
    await this.all([run(["ip", "-n", this.hostNs, "-batch", "-"], `${host.join("\n")}\n`)]);
    await this.all([...perNode].map(([ns, cmds]) => run(["ip", "-n", ns, "-batch", "-"], `${cmds.join("\n")}\n`)));
    if (t.published.length > 0) await applyRuleset(publishRuleset(t), { netns: this.hostNs });
  }

  /** Loads a ruleset in the lab's host namespace (never the real host's). */
  async loadNft(text: string): Promise<void> {
    await applyRuleset(text, { netns: this.hostNs });
  }

  /** Starts one listener per node on every port given; resolves when all are bound. */
  async listen(ports: Array<{ port: number; protocol: "tcp" | "udp" }>): Promise<void> {
    const all = JSON.stringify(ports);
    // The host answers on its bridge addresses only: the outside link must stay free for the
    // published ports' DNAT, as on a Docker host.
    const onHost = JSON.stringify(this.topology.bridges.flatMap((b) => ports.map((p) => ({ ...p, bind: b.gateway }))));
    const targets: Array<[string, string]> = [...this.ns.values()].map((ns) => [ns, all]);
    if (this.topology.bridges.length > 0) targets.push([this.hostNs, onHost]);
    await Promise.all(
      targets.map(
        ([ns, arg]) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn("ip", ["netns", "exec", ns, process.execPath, AGENT, "listen", arg], {
              stdio: ["ignore", "pipe", "pipe"],
            });
            this.children.push(child);
            let err = "";
            child.stderr?.on("data", (d) => {
              err += d;
            });
            child.stdout?.once("data", () => resolve());
            child.once("exit", (code) => reject(new LabError(`listener in ${ns} exited (${code}): ${err.trim()}`)));
          }),
      ),
    );
  }

  /** Runs the probes, grouped per source namespace, all sources side by side. */
  async probe(probes: ProbeSpec[]): Promise<Map<number, boolean>> {
    const bySource = new Map<string, ProbeSpec[]>();
    for (const p of probes) bySource.set(p.from, [...(bySource.get(p.from) ?? []), p]);
    const out = new Map<number, boolean>();
    await Promise.all(
      [...bySource].map(async ([from, list]) => {
        const ns = this.ns.get(from);
        if (!ns) throw new LabError(`no namespace for '${from}'`);
        const text = await run(["ip", "netns", "exec", ns, process.execPath, AGENT, "probe"], JSON.stringify(list));
        for (const r of JSON.parse(text) as Array<{ id: number; open: boolean }>) out.set(r.id, r.open);
      }),
    );
    return out;
  }

  /** Synchronous teardown for exit and signal handlers; runs even while destroy() is pending. */
  destroySync(): void {
    if (!live.has(this)) return;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill("SIGKILL");
    for (const ns of [...this.created].reverse()) runSync(["ip", "netns", "del", ns]);
    live.delete(this);
  }

  /** Kills the listeners and deletes every namespace; every caller waits for the same teardown. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.aborted = true;
      await this.building?.catch(() => undefined);
      await Promise.all(
        this.children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null || !c.pid) return resolve();
              c.once("exit", () => resolve());
              c.kill("SIGKILL");
            }),
        ),
      );
      await Promise.all(
        [...this.created].reverse().map((ns) => run(["ip", "netns", "del", ns]).catch(() => undefined)),
      );
      live.delete(this);
    })();
    return this.destroying;
  }
}

/** Docker's DNAT for published ports, from the outside link only, in the lab host's own table. */
function publishRuleset(t: LabTopology): string {
  const rules = t.published.map(
    (p) => `    iifname "vout" meta l4proto ${p.protocol} th dport ${p.hostPort} dnat ip to ${p.address}:${p.port}`,
  );
  return [
    "table ip corral_lab_nat {",
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    ...rules,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Namespaces left with a prefix (for cleanup tests). */
export function leftovers(prefix: string): string[] {
  const r = runSync(["ip", "netns", "list"]);
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(prefix));
}
