// Builders for hand-made Deployments in tests: only what a test cares about, the rest defaulted.
import type {
  Container,
  Deployment,
  K8sNetworkPolicy,
  K8sService,
  LabelSelector,
  Network,
  NetworkMode,
  PublishedPort,
  Service,
  SourcePos,
} from "./types.ts";

export const POS: SourcePos = { file: "test.yaml", line: 1, col: 1 };

export function container(over: Partial<Container> = {}): Container {
  return {
    name: "c",
    build: false,
    privileged: false,
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    noNewPrivileges: false,
    readOnlyRootfs: false,
    mounts: [],
    devices: [],
    env: [],
    resources: {},
    listens: [],
    pos: POS,
    ...over,
  };
}

export interface ComposeSpec {
  networks?: string[];
  mode?: NetworkMode;
  ports?: Array<Partial<PublishedPort> & { target: { from: number; to: number } }>;
  listens?: Container["listens"];
}

export function composeService(name: string, spec: ComposeSpec = {}): Service {
  const mode = spec.mode ?? { kind: "bridge" };
  return {
    name,
    platform: "compose",
    labels: {},
    networkMode: mode,
    networks:
      mode.kind === "bridge"
        ? (spec.networks ?? ["default"]).map((network) => ({ network, aliases: [], pos: POS }))
        : [],
    ports: (spec.ports ?? []).map((p) => ({
      hostIp: "0.0.0.0",
      hostIpDefaulted: true,
      protocol: "tcp",
      pos: POS,
      ...p,
    })),
    dns: [],
    extraHosts: [],
    dependsOn: [],
    profiles: [],
    containers: [container({ name, listens: spec.listens ?? [] })],
    pos: POS,
    positions: {},
  };
}

export function compose(services: Service[], networks: Array<Partial<Network> & { name: string }> = []): Deployment {
  const declared = new Map(networks.map((n) => [n.name, n]));
  for (const s of services) {
    for (const a of s.networks) if (!declared.has(a.network)) declared.set(a.network, { name: a.network });
  }
  return {
    platform: "compose",
    project: "test",
    files: ["docker-compose.yml"],
    services,
    networks: [...declared.values()].map((n) => ({
      internal: false,
      external: false,
      subnets: [],
      implicit: false,
      ...n,
    })),
    diagnostics: [],
  };
}

export interface PodSpec {
  ns?: string;
  labels?: Record<string, string>;
  listens?: Container["listens"];
  hostNetwork?: boolean;
  ports?: PublishedPort[];
}

export function pod(name: string, spec: PodSpec = {}): Service {
  return {
    name,
    platform: "kubernetes",
    namespace: spec.ns ?? "default",
    kind: "Deployment",
    labels: spec.labels ?? { app: name },
    networkMode: spec.hostNetwork ? { kind: "host" } : { kind: "bridge" },
    networks: [],
    ports: spec.ports ?? [],
    dns: [],
    extraHosts: [],
    dependsOn: [],
    profiles: [],
    containers: [container({ name, listens: spec.listens ?? [] })],
    pos: POS,
    positions: spec.hostNetwork ? { "spec.template.spec.hostNetwork": { file: "test.yaml", line: 9, col: 7 } } : {},
  };
}

export function sel(
  matchLabels: Record<string, string> = {},
  matchExpressions: LabelSelector["matchExpressions"] = [],
) {
  return { matchLabels, matchExpressions };
}

export function policy(
  name: string,
  over: Partial<K8sNetworkPolicy> & Pick<K8sNetworkPolicy, "policyTypes">,
): K8sNetworkPolicy {
  return { name, namespace: "default", podSelector: sel(), ingress: [], egress: [], pos: POS, ...over };
}

export function k8s(
  services: Service[],
  networkPolicies: K8sNetworkPolicy[] = [],
  extra: { namespaces?: Array<{ name: string; labels: Record<string, string> }>; services?: K8sService[] } = {},
): Deployment {
  return {
    platform: "kubernetes",
    files: ["m.yaml"],
    services,
    networks: [],
    k8s: { namespaces: extra.namespaces ?? [], services: extra.services ?? [], networkPolicies },
    diagnostics: [],
  };
}
