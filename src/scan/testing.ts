// Hand-built Deployment values for rule unit tests, independent of the readers. Positions are
// synthetic (file "t.yml", one line per recorded path) so tests can assert which path a
// finding points at.
import type {
  Container,
  Deployment,
  Mount,
  Network,
  Platform,
  PublishedPort,
  Reachability,
  Service,
  SourcePos,
} from "../model/types.ts";

export const FILE = "t.yml";

export function at(line: number, col = 1): SourcePos {
  return { file: FILE, line, col };
}

export function container(over: Partial<Container> = {}): Container {
  return {
    name: "c",
    image: "example/app:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    build: false,
    privileged: false,
    user: "1000:1000",
    capAdd: [],
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges:true"],
    noNewPrivileges: true,
    readOnlyRootfs: true,
    mounts: [],
    devices: [],
    env: [],
    resources: { memory: 512 * 1024 * 1024, cpus: 1, pids: 128 },
    healthcheck: { disabled: false, test: ["CMD", "true"], pos: at(90) },
    listens: [],
    pos: at(2),
    ...over,
  };
}

/** A hardened service: every runtime rule should be silent on it. */
export function service(name: string, over: Partial<Service> = {}, c: Partial<Container> = {}): Service {
  const platform: Platform = over.platform ?? "compose";
  return {
    name,
    platform,
    labels: {},
    networkMode: { kind: "bridge" },
    networks: [{ network: "backend", aliases: [], pos: at(80) }],
    ports: [],
    dns: [],
    extraHosts: [],
    dependsOn: [],
    restart: "on-failure:5",
    profiles: [],
    containers: [container({ name, ...c })],
    pos: at(1),
    positions: {},
    ...(platform === "kubernetes"
      ? { namespace: "default", kind: "Deployment", automountServiceAccountToken: false }
      : {}),
    ...over,
  };
}

export function network(name: string, over: Partial<Network> = {}): Network {
  return { name, internal: true, external: false, subnets: [], implicit: false, ...over };
}

export function deployment(services: Service[], over: Partial<Deployment> = {}): Deployment {
  const names = new Set(services.flatMap((s) => s.networks.map((n) => n.network)));
  return {
    platform: services[0]?.platform ?? "compose",
    project: "t",
    files: [FILE],
    services,
    networks: [...names].map((n) => network(n)),
    diagnostics: [],
    ...over,
  };
}

export function port(hostIp: string | undefined, hostPort: number, target: number, line = 50): PublishedPort {
  return {
    hostIp: hostIp ?? "0.0.0.0",
    hostIpDefaulted: hostIp === undefined,
    hostPort: { from: hostPort, to: hostPort },
    target: { from: target, to: target },
    protocol: "tcp",
    pos: at(line),
  };
}

export function bind(source: string, target: string, readOnly = true, line = 60): Mount {
  return { type: "bind", source, target, readOnly, pos: at(line) };
}

/**
 * A stand-in for model/reachability good enough for unit tests: services on a shared compose
 * network reach each other on all ports; a non-internal network gives internet egress.
 */
export function simpleReach(d: Deployment): Reachability {
  const edges: Reachability["edges"] = [];
  for (const a of d.services) {
    for (const b of d.services) {
      if (a === b) continue;
      const shared = a.networks.find((n) => b.networks.some((m) => m.network === n.network));
      if (shared)
        edges.push({ from: a.name, to: b.name, ports: "all", reasons: [{ kind: "network", network: shared.network }] });
    }
  }
  const egress = d.services.map((s) => {
    const open =
      s.networkMode.kind === "host" || s.networks.some((n) => !d.networks.find((m) => m.name === n.network)?.internal);
    return { service: s.name, internet: open, reason: open ? "non-internal network" : "internal networks only" };
  });
  return { edges, exposures: [], egress };
}

/** Scans compose text in memory with the real reader and reachability: for syntax-variant tests. */
export async function scanComposeText(text: string, file = "/project/compose.yaml") {
  const { composeFromText } = await import("../model/compose/index.ts");
  const { computeReachability } = await import("../model/reachability.ts");
  const { scan } = await import("./scan.ts");
  const { sourcesFrom } = await import("./sources.ts");
  const deployment = composeFromText(text, { file, env: {} });
  return scan({ deployment, reach: computeReachability(deployment), sources: sourcesFrom({ [file]: text }) });
}

export async function scanK8sText(text: string, file = "/project/manifest.yaml") {
  const { kubernetesFromText } = await import("../model/kubernetes/index.ts");
  const { computeReachability } = await import("../model/reachability.ts");
  const { scan } = await import("./scan.ts");
  const { sourcesFrom } = await import("./sources.ts");
  const deployment = kubernetesFromText(text, file);
  return scan({ deployment, reach: computeReachability(deployment), sources: sourcesFrom({ [file]: text }) });
}
