// Two "hosts" for integration tests: network namespaces of the test's own, joined by a veth
// pair on 10.203.<subnet>.0/30 (.1 and .2). Node programs run inside them with `node()`.
import { execFileSync } from "node:child_process";

export interface NetnsPair {
  names: [string, string];
  addresses: [string, string];
  /** runs `node ARGS` in namespace 0 or 1 (network only); never throws, returns the exit code and output */
  node(which: 0 | 1, args: string[]): { code: number; out: string };
  close(): void;
}

const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "pipe" });

export function netnsPair(tag: string, subnet: number): NetnsPair {
  const names: [string, string] = [`crl-${tag}a-${process.pid}`, `crl-${tag}b-${process.pid}`];
  const addresses: [string, string] = [`10.203.${subnet}.1`, `10.203.${subnet}.2`];
  const veth = `c${tag}${process.pid % 100000}`;
  const close = () => {
    for (const ns of names)
      try {
        ip("netns", "del", ns);
      } catch {}
  };
  try {
    for (const ns of names) ip("netns", "add", ns);
    ip("link", "add", `${veth}a`, "type", "veth", "peer", "name", `${veth}b`);
    for (const i of [0, 1] as const) {
      const dev = `${veth}${i === 0 ? "a" : "b"}`;
      ip("link", "set", dev, "netns", names[i]);
      ip("-n", names[i], "addr", "add", `${addresses[i]}/30`, "dev", dev);
      ip("-n", names[i], "link", "set", dev, "up");
      ip("-n", names[i], "link", "set", "lo", "up");
    }
  } catch (err) {
    close();
    throw err;
  }
  return {
    names,
    addresses,
    node(which, args) {
      try {
        // nsenter --net, not `ip netns exec`: the latter also makes a mount namespace of its own,
        // and mounts made there (a gocryptfs volume) would not be seen by the host.
        const out = execFileSync("nsenter", [`--net=/run/netns/${names[which]}`, process.execPath, ...args], {
          stdio: "pipe",
        });
        return { code: 0, out: out.toString() };
      } catch (err) {
        const e = err as { status: number; stdout: Buffer; stderr: Buffer };
        return { code: e.status, out: `${e.stdout}${e.stderr}` };
      }
    },
    close,
  };
}
