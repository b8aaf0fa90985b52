// Top-level networks plus the ones compose or the engine provide without a declaration: the
// project's implicit `default` network and engine networks joined through `network_mode`.
import type { Network, Service } from "../types.ts";
import { get, type PEntry, plain, str } from "./tree.ts";

export function buildNetworks(declared: Map<string, PEntry>, project: string, services: Service[]): Network[] {
  const out: Network[] = [];
  for (const [key, e] of declared) {
    const v = e.value;
    const extNode = get(v, "external");
    // legacy `external: {name: x}` names the engine network
    const legacyName = extNode?.kind === "map" ? str(get(extNode, "name")) : undefined;
    const external = extNode?.kind === "map" ? true : extNode?.kind === "scalar" && String(extNode.value) === "true";
    const explicitName = str(get(v, "name")) ?? legacyName;
    const subnets: string[] = [];
    const ipamConfig = get(get(v, "ipam"), "config");
    if (ipamConfig?.kind === "seq") {
      for (const c of ipamConfig.items) {
        const s = str(get(c, "subnet"));
        if (s) subnets.push(s);
      }
    }
    const net: Network = {
      name: key,
      fullName: explicitName ?? (external ? key : `${project}_${key}`),
      internal: String(plain(get(v, "internal") ?? { kind: "scalar", value: false, pos: e.keyPos })) === "true",
      external,
      subnets,
      implicit: false,
      pos: e.keyPos,
    };
    const driver = str(get(v, "driver"));
    if (driver) net.driver = driver;
    const bridgeName = str(get(get(v, "driver_opts"), "com.docker.network.bridge.name"));
    if (bridgeName) net.bridgeName = bridgeName;
    const labelNode = get(v, "labels");
    if (labelNode?.kind === "map") {
      net.labels = {};
      for (const [k, l] of labelNode.entries)
        net.labels[k] = l.value.kind === "scalar" && l.value.value !== null ? String(l.value.value) : "";
    }
    out.push(net);
  }
  const used = new Set(services.flatMap((s) => s.networks.map((n) => n.network)));
  if (used.has("default") && !declared.has("default")) {
    out.push({
      name: "default",
      fullName: `${project}_default`,
      driver: "bridge",
      internal: false,
      external: false,
      subnets: [],
      implicit: true,
    });
  }
  for (const name of used) {
    if (name === "default" || declared.has(name)) continue;
    // reached only through `network_mode: bridge|<engine network>`: it exists outside the project
    const net: Network = { name, fullName: name, internal: false, external: true, subnets: [], implicit: true };
    if (name === "bridge") net.driver = "bridge";
    out.push(net);
  }
  return out;
}
