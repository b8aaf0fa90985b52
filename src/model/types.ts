// The Deployment: what is actually deployed, read from compose or Kubernetes files.
// Pure data. Every reader produces it; scan, compile, verify and ui consume it.
// model/ imports nothing of Corral outside model/.

/** A place in a source file; line and col are 1-based. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export type Platform = "compose" | "kubernetes";
export type Protocol = "tcp" | "udp" | "sctp";

/** An inclusive port range on one protocol; a single port has from === to. */
export interface PortRange {
  from: number;
  to: number;
  protocol: Protocol;
}

/** A port published on the host (compose `ports`, k8s hostPort). */
export interface PublishedPort {
  /** Host address as written, or "0.0.0.0" when none was given (Docker's default: all interfaces). */
  hostIp: string;
  /** True when the file gave no host address, so Docker binds every interface. */
  hostIpDefaulted: boolean;
  /** Host side; undefined means an ephemeral port chosen by the engine. */
  hostPort?: { from: number; to: number };
  /** Container side. */
  target: { from: number; to: number };
  protocol: Protocol;
  pos: SourcePos;
}

export interface Mount {
  type: "bind" | "volume" | "tmpfs" | "npipe" | "cluster" | "image" | "hostPath" | "emptyDir" | "other";
  /**
   * Host path for bind/hostPath, as the engine receives it: compose resolves relative paths
   * against the project directory and `~` against HOME (left as written when HOME is unknown).
   * Volume name (the file's key) for volume.
   */
  source?: string;
  target: string;
  readOnly: boolean;
  /** bind propagation (`shared`, `rshared`, `slave`, …) or k8s mountPropagation. */
  propagation?: string;
  /** Where the mount is written: the compose volume item, or the k8s `volumeMounts` item. */
  pos: SourcePos;
  /**
   * Kubernetes: the pod volume the mount names, at its source key (`hostPath:`, `emptyDir:` …).
   * The source is chosen there, not at the mount, so that is where a finding about it points.
   */
  volume?: { name: string; pos: SourcePos };
}

export interface EnvVar {
  name: string;
  /**
   * undefined when the variable is named without a value and the environment the file was read
   * with has none either (compose resolves a bare name from the shell and `.env`).
   */
  value?: string;
  pos: SourcePos;
  /** Where it came from: inline `environment`, an `env_file`, or a k8s secret/configMap reference. */
  from: "inline" | "env_file" | "secretRef" | "configMapRef" | "fieldRef";
}

export interface Resources {
  /** Bytes. */
  memory?: number;
  /** CPUs (1.0 = one core). */
  cpus?: number;
  pids?: number;
}

export interface Healthcheck {
  disabled: boolean;
  test?: string[];
  pos: SourcePos;
}

/** One container's runtime settings. A compose service has exactly one; a k8s pod one or more. */
export interface Container {
  name: string;
  image?: string;
  /** compose `build:` present: the image is built locally. */
  build: boolean;
  /** compose `command` (a string is split on whitespace), or k8s `command` + `args`. */
  command?: string[];
  /** compose `ulimits:` keys (nofile, memlock, …): limits the runtime sets when the container starts. */
  ulimits?: string[];
  privileged: boolean;
  /** `user` as written; undefined when not set (image default, usually root). */
  user?: string;
  /** k8s runAsNonRoot. */
  runAsNonRoot?: boolean;
  capAdd: string[];
  capDrop: string[];
  /** Raw `security_opt` entries, e.g. `no-new-privileges:true`, `seccomp=unconfined`. */
  securityOpt: string[];
  /** Normalised from security_opt / securityContext. */
  noNewPrivileges: boolean;
  seccomp?: "unconfined" | "default" | "profile";
  apparmor?: "unconfined" | "default" | "profile";
  readOnlyRootfs: boolean;
  mounts: Mount[];
  devices: string[];
  env: EnvVar[];
  resources: Resources;
  healthcheck?: Healthcheck;
  /** Ports the container listens on: compose `expose` + `ports` targets, k8s containerPort. */
  listens: Array<PortRange & { name?: string }>;
  pos: SourcePos;
}

export type NetworkMode =
  | { kind: "bridge" }
  | { kind: "host" }
  | { kind: "none" }
  | { kind: "service"; target: string }
  | { kind: "container"; target: string };

export interface NetworkAttachment {
  network: string;
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  pos: SourcePos;
}

/** A compose service or a Kubernetes workload (its pod template). */
export interface Service {
  /** Compose service name, or for Kubernetes the workload name (unique per namespace). */
  name: string;
  platform: Platform;
  /** Kubernetes only: namespace ("default" when unset) and workload kind (Deployment, Pod, …). */
  namespace?: string;
  kind?: string;
  /** compose `labels`, or k8s pod template labels (what selectors match). */
  labels: Record<string, string>;
  networkMode: NetworkMode;
  /** Compose networks joined (empty when network_mode is not bridge). */
  networks: NetworkAttachment[];
  ports: PublishedPort[];
  pid?: string;
  ipc?: string;
  uts?: string;
  userns?: string;
  dns: string[];
  extraHosts: string[];
  dependsOn: string[];
  restart?: string;
  profiles: string[];
  containers: Container[];
  /** k8s: automountServiceAccountToken (undefined = default true). */
  automountServiceAccountToken?: boolean;
  /** Position of the service's key (compose) or the manifest's `kind` (k8s). */
  pos: SourcePos;
  /**
   * Positions of any value in the service by its dotted path as written in the source,
   * e.g. `privileged`, `ports.0`, `environment.POSTGRES_PASSWORD`, `volumes.1`,
   * `spec.template.spec.containers.0.securityContext.privileged`. Used by findings.
   */
  positions: Record<string, SourcePos>;
}

export interface Network {
  name: string;
  /** Actual engine name (compose `name:` or `<project>_<key>`). */
  fullName?: string;
  driver?: string;
  internal: boolean;
  external: boolean;
  subnets: string[];
  bridgeName?: string;
  /** True for the implicit `default` network compose creates when a service names none. */
  implicit: boolean;
  /** compose `labels` (map form), when the network declares any. */
  labels?: Record<string, string>;
  pos?: SourcePos;
}

/** Kubernetes Service object: how a workload is exposed. */
export interface K8sService {
  name: string;
  namespace: string;
  type: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" | "Headless";
  selector: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: number | string; nodePort?: number; protocol: Protocol }>;
  pos: SourcePos;
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values: string[] }>;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

export interface NetworkPolicyPort {
  protocol: Protocol;
  /** A number, a named container port, or undefined for all ports. */
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyRule {
  /** undefined or empty (no `from`/`to`, or `[]`) = every peer, as the Kubernetes API defines it. */
  peers?: NetworkPolicyPeer[];
  /** undefined or empty = all ports. */
  ports?: NetworkPolicyPort[];
}

export interface K8sNetworkPolicy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  policyTypes: Array<"Ingress" | "Egress">;
  ingress: NetworkPolicyRule[];
  egress: NetworkPolicyRule[];
  pos: SourcePos;
}

export interface Diagnostic {
  severity: "error" | "warning";
  message: string;
  hint?: string;
  pos?: SourcePos;
}

export interface Deployment {
  platform: Platform;
  /** Compose project name (directory name unless `name:` or COMPOSE_PROJECT_NAME). */
  project?: string;
  files: string[];
  services: Service[];
  networks: Network[];
  k8s?: {
    namespaces: Array<{ name: string; labels: Record<string, string> }>;
    services: K8sService[];
    networkPolicies: K8sNetworkPolicy[];
  };
  /** Problems that did not stop reading: missing `.env` / `env_file`, unknown keys, … */
  diagnostics: Diagnostic[];
  /**
   * Compose only: a variable as the project's interpolation sees it (the environment, then
   * `.env`). Not enumerable: the model stays plain data to compare and print.
   */
  readonly variable?: (name: string) => string | undefined;
  /**
   * Compose only: services whose profiles are not enabled. Left out of `services` unless the
   * reader was asked to keep them (`allProfiles`), so a scan can still see them.
   */
  inactive?: string[];
}

/** Why one service can open a connection to another. */
export type ReachReason =
  | { kind: "network"; network: string }
  | { kind: "host-network"; via: string }
  | { kind: "shared-namespace"; with: string }
  | { kind: "published"; hostIp: string; hostPort: number }
  /** Narrowed by Corral's compiled host rules (taken as in force): the flows that keep it open. */
  | { kind: "host-rules"; file: string; rules: string[] }
  | { kind: "k8s-no-policy"; side: "ingress" | "egress" }
  | { kind: "k8s-policy"; side: "ingress" | "egress"; policy: string };

/** `from` can open connections to `to` on `ports` ("all" = every port, as on a shared Docker network). */
export interface ReachEdge {
  from: string;
  to: string;
  ports: PortRange[] | "all";
  reasons: ReachReason[];
}

export interface Exposure {
  service: string;
  /** Where it is reachable from outside the host or cluster. */
  kind: "published" | "nodeport" | "loadbalancer" | "host-network";
  hostIp?: string;
  port?: number;
  protocol?: Protocol;
  /** True when bound on every interface (0.0.0.0, ::, or no address given). */
  allInterfaces: boolean;
  pos: SourcePos;
}

export interface EgressCapability {
  service: string;
  /** True when the service can reach the internet directly. */
  internet: boolean;
  reason: string;
}

export interface Reachability {
  edges: ReachEdge[];
  exposures: Exposure[];
  egress: EgressCapability[];
}
