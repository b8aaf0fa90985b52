// The compose overlay (`compose.corral.yml`), used as `docker compose -f docker-compose.yml
// -f compose.corral.yml up`. Compose merges sequences by appending, so `networks` and `ports`
// carry `!override` (replace the shipped value) and services that must lose every published
// port get `ports: !reset []`. Each zone becomes a network with a pinned bridge name and
// subnet; a service joins another zone's network only when a declared flow needs it. Only the
// gate has a fixed address (clients are pointed at it for DNS); members get theirs from the
// engine, and `corral enforce` follows them.
import { Document, type Node, YAMLMap, type YAMLSeq } from "yaml";
import { ISOLATE_LABEL, ROLE_LABEL, ZONE_LABEL } from "../model/corral-marks.ts";
import type { Deployment, Service } from "../model/types.ts";
import type { Policy } from "../policy/index.ts";
import { CA_MOUNT, type CredentialWiring, credentialWiring, trustVariables } from "./credential-env.ts";
import { type Attachment, buildPlan, EGRESS, GATE, hostAddressFor, type Plan, type PlanOptions } from "./plan.ts";

export interface OverlayOptions extends PlanOptions {
  /**
   * The policy file as Compose resolves it: relative to the project directory (the first `-f`
   * file's folder, whichever `-f` file names it) or absolute.
   */
  policyPath?: string;
  /**
   * Sealed volumes (policy seal:): each service mount of one becomes a bind of
   * `<dir>/<volume>/plain`, which exists only while `corral seal unlock` has it mounted; with
   * create_host_path off, a locked volume keeps its service from starting. `dir` as Compose
   * resolves it.
   */
  sealed?: { dir: string; volumes: readonly string[] };
  /** The audit checkpoint key, resolved the same way; mounted read-only into the gate. */
  auditKeyPath?: string;
  /** audit.witnesses' witness.pub files, resolved the same way, by witness URL; mounted read-only. */
  witnessKeys?: ReadonlyArray<{ url: string; path: string }>;
  /** A prebuilt gate image (`--gate-image`); without it the overlay builds Corral's Dockerfile. */
  gateImage?: string;
  /** Corral's package root as Compose resolves it: the build context of docker/gate/Dockerfile. */
  gateBuildContext?: string;
  /** Tag for the image built from the Dockerfile (Corral's version). */
  gateTag?: string;
  /** The policy has an `audit:` section: the gate keeps its log in the state volume. */
  auditing?: boolean;
  /** The policy's `credentials:` and `requests:` as the overlay applies them (credential-env.ts). */
  credentials?: CredentialWiring;
}

/** The name a container uses for the Docker host (Docker Desktop's, and the `host-gateway` convention). */
export const HOST_NAME = "host.docker.internal";
/** The gate image's unprivileged user (docker/gate/Dockerfile). */
export const GATE_UID = 10001;
/** Inside the gate container: one named volume holds state, audit log and approvals. */
export const GATE_STATE_ROOT = "/var/lib/corral";
const GATE_POLICY = "/etc/corral/corral.yaml";
/**
 * Where the gate publishes its CA certificate for the agents: a volume of its own (the state
 * volume holds the CA key and is never mounted elsewhere), under the state root so the image's
 * directory there (owned by the gate's user) sets the new volume's owner.
 */
const GATE_CA_OUT = "/var/lib/corral/ca-public";
const CA_VOLUME = "corral-gate-ca";
const GATE_AUDIT_KEY = "/run/corral/audit.key";
const witnessKeyIn = (i: number) => `/run/corral/witness-${i + 1}.pub`;
/** Where the gate's admin API listens in its container: its loopback, out of the agents' reach. */
const GATE_ADMIN = "127.0.0.1:9099";
const DEFAULT_BASE_IMAGE = "node:24-slim";

/** `image:` / `build:` of the gate service: a given image, or a build of Corral's own Dockerfile. */
function gateImageKeys(options: OverlayOptions): Record<string, unknown> {
  if (options.gateImage) return { image: options.gateImage };
  return {
    image: `corral/gate:${options.gateTag ?? "local"}`,
    build: {
      context: options.gateBuildContext ?? ".",
      dockerfile: "docker/gate/Dockerfile",
      // Compose interpolates this when it reads the overlay: the base is the user's to choose.
      args: { BASE_IMAGE: `\${CORRAL_GATE_BASE_IMAGE:-${DEFAULT_BASE_IMAGE}}` },
    },
  };
}

/**
 * Proxy settings some apps read instead of (or before) HTTP(S)_PROXY: filled with the gate too when
 * the service declares them, since an empty one next to ours would win or confuse. LibreChat reads
 * PROXY; Flowise and other Node apps using global-agent read GLOBAL_AGENT_*; curl and many SDKs
 * read ALL_PROXY.
 */
const APP_PROXY_VARIABLES: Record<string, "proxy" | "noProxy"> = {
  PROXY: "proxy",
  ALL_PROXY: "proxy",
  all_proxy: "proxy",
  GLOBAL_AGENT_HTTP_PROXY: "proxy",
  GLOBAL_AGENT_HTTPS_PROXY: "proxy",
  GLOBAL_AGENT_NO_PROXY: "noProxy",
};

function appProxyVariables(svc: Service, proxy: string, noProxy: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of svc.containers.flatMap((c) => c.env)) {
    const kind = APP_PROXY_VARIABLES[e.name];
    if (kind) out[e.name] = kind === "proxy" ? proxy : noProxy;
  }
  return out;
}

/** Defaults for services that set none: generous enough for a database, bounded for a fork bomb. */
const PIDS_LIMIT = 512;
const MEM_LIMIT = "2g";

// Official images whose entrypoints chown their data and drop to an unprivileged user: with
// every capability dropped they cannot start, so they get back exactly those.
const PRIV_DROP_IMAGES = /(^|\/)(postgres|redis|redis-stack-server|nginx|mysql|mariadb|mongo|rabbitmq)(:|@|$)/;
const PRIV_DROP_CAPS = ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"];

function capAddFor(svc: Service): string[] {
  const image = svc.containers[0]?.image ?? "";
  if (!PRIV_DROP_IMAGES.test(image)) return [];
  const low = svc.containers[0]?.listens.some((l) => l.from < 1024) ?? false;
  return [...PRIV_DROP_CAPS, ...(low ? ["NET_BIND_SERVICE"] : [])];
}

function tagged(value: unknown, tag: string, doc: Document): Node {
  const node = doc.createNode(value) as Node;
  (node as YAMLSeq | YAMLMap).tag = tag;
  return node;
}

export function overlayValue(plan: Plan, d: Deployment, options: OverlayOptions, doc: Document): YAMLMap {
  const root = new YAMLMap();
  const services = new YAMLMap();
  const netByKey = new Map(plan.networks.map((n) => [n.key, n]));
  // Indexed once: thousands of services must not each scan every attachment and flow.
  const atts = new Map<string, Attachment[]>();
  for (const a of plan.attachments) atts.set(a.service, [...(atts.get(a.service) ?? []), a]);
  const direct = new Map<string, Set<string>>();
  for (const g of plan.groups) {
    if (g.flowIndex < 0) continue;
    for (const src of g.sources) {
      const set = direct.get(src) ?? new Set<string>();
      for (const t of g.targets) set.add(t);
      direct.set(src, set);
    }
  }
  const clients = new Set(plan.gate?.clients ?? []);
  const wiring = options.credentials;
  const terminates = wiring?.terminates === true;
  const gateAddr = (svc: string) => {
    const home = atts.get(svc)?.find((a) => a.home);
    return atts.get(GATE)?.find((a) => a.network === home?.network)?.address;
  };
  for (const svc of [...d.services].sort((a, b) => a.name.localeCompare(b.name))) {
    const s: Record<string, unknown> = {};
    const nets: Record<string, unknown> = {};
    // No static address: the engine picks one per replica from the network's dynamic range, so
    // `--scale` works; `corral enforce` keys the host rules on the addresses containers get.
    for (const a of atts.get(svc.name) ?? []) {
      const net = netByKey.get(a.network);
      if (net) nets[net.composeName] = {};
    }
    const node = new YAMLMap();
    if (svc.networkMode.kind === "bridge") node.add(doc.createPair("networks", tagged(nets, "!override", doc)));
    const published = plan.published.filter((p) => p.service === svc.name);
    if (published.length > 0) {
      const list = published.map((p) => {
        const host = p.hostIp.includes(":") ? `[${p.hostIp}]` : p.hostIp;
        const target = p.port.from === p.port.to ? `${p.port.from}` : `${p.port.from}-${p.port.to}`;
        const hostPort =
          p.port.from === p.port.to ? `${p.hostPort}` : `${p.hostPort}-${p.hostPort + p.port.to - p.port.from}`;
        return `${host}:${hostPort}:${target}/${p.port.protocol}`;
      });
      node.add(doc.createPair("ports", tagged(list, "!override", doc)));
    } else if (svc.ports.length > 0) {
      node.add(doc.createPair("ports", tagged([], "!reset", doc)));
    }
    const hostAddress = hostAddressFor(plan, svc.name);
    if (hostAddress) {
      // The host as this service's network reaches it: the bridge address, on-link even on an
      // internal network, and the one host address the input chain opens for it. Replaces a
      // shipped `host-gateway` entry, which points at docker0, a network the service is not on.
      const kept = svc.extraHosts.filter((h) => !/^host\.docker\.internal[:=]/.test(h));
      node.add(doc.createPair("extra_hosts", tagged([...kept, `${HOST_NAME}:${hostAddress}`], "!override", doc)));
    }
    // A privileged container holds every capability by design: dropping them and forbidding new
    // privileges contradicts it and runc refuses to start it. It keeps what it asked for; the
    // network containment still applies, and `corral scan` reports the privilege (CRL-R001).
    if (!svc.containers[0]?.privileged) {
      s.cap_drop = ["ALL"];
      const caps = capAddFor(svc);
      if (caps.length) s.cap_add = caps;
      // Replaced, not appended: Compose refuses a security_opt list with the same entry twice (a
      // shipped no-new-privileges:true), and a shipped no-new-privileges:false must not stand beside ours.
      const shippedOpts = (svc.containers[0]?.securityOpt ?? []).filter((o) => !/^no-new-privileges([:=]|$)/.test(o));
      node.add(doc.createPair("security_opt", tagged([...shippedOpts, "no-new-privileges:true"], "!override", doc)));
    }
    const sealedMounts = (svc.containers[0]?.mounts ?? []).filter(
      (m) => m.type === "volume" && m.source !== undefined && options.sealed?.volumes.includes(m.source),
    );
    // Merged by target with the shipped list: the named volume at that path is replaced, the rest kept.
    if (sealedMounts.length > 0 && options.sealed)
      s.volumes = sealedMounts.map((m) => ({
        type: "bind",
        source: `${options.sealed!.dir.replace(/\/+$/, "")}/${m.source}/plain`,
        target: m.target,
        ...(m.readOnly ? { read_only: true } : {}),
        bind: { create_host_path: false },
      }));
    const res = svc.containers[0]?.resources ?? {};
    if (res.pids === undefined) s.pids_limit = PIDS_LIMIT;
    if (res.memory === undefined) s.mem_limit = MEM_LIMIT;
    if (plan.gate && clients.has(svc.name)) {
      const ip = gateAddr(svc.name);
      if (ip) {
        const proxy = `http://${ip}:${plan.gate.proxyPort}`;
        const noProxy = [
          "localhost",
          "127.0.0.1",
          ...(direct.get(svc.name) ?? []),
          ...(hostAddress ? [HOST_NAME] : []),
        ].join(",");
        s.dns = [ip];
        s.environment = {
          ...(terminates ? trustVariables() : {}),
          HTTP_PROXY: proxy,
          HTTPS_PROXY: proxy,
          http_proxy: proxy,
          https_proxy: proxy,
          NO_PROXY: noProxy,
          no_proxy: noProxy,
          NODE_USE_ENV_PROXY: "1",
          ...appProxyVariables(svc, proxy, noProxy),
        };
        // Without the gate a client has no DNS and no way out: start it only once the gate is ready.
        s.depends_on = { [GATE]: { condition: "service_healthy" } };
        // Appended to the shipped list (a new target): the gate's CA, published at its start.
        if (terminates) s.volumes = [...((s.volumes as unknown[]) ?? []), `${CA_VOLUME}:${CA_MOUNT}:ro`];
      }
    }
    // Each brokered key's variable holds this service's placeholder; the real value is the gate's.
    const held = wiring?.placeholders.get(svc.name);
    if (held) s.environment = { ...((s.environment as Record<string, string>) ?? {}), ...held };
    for (const [k, v] of Object.entries(s)) node.add(doc.createPair(k, v));
    services.add(doc.createPair(svc.name, node));
  }
  if (plan.gate) {
    const nets: Record<string, unknown> = {};
    for (const a of atts.get(GATE) ?? []) {
      const net = netByKey.get(a.network);
      if (net) nets[net.composeName] = { ipv4_address: a.address };
    }
    const audit = options.auditing ?? false;
    const volumes = [
      `${options.policyPath ?? "./corral.yaml"}:${GATE_POLICY}:ro`,
      `corral-gate-state:${GATE_STATE_ROOT}`,
      ...(options.auditKeyPath ? [`${options.auditKeyPath}:${GATE_AUDIT_KEY}:ro`] : []),
      ...(options.witnessKeys ?? []).map((w, i) => `${w.path}:${witnessKeyIn(i)}:ro`),
      ...(terminates ? [`${CA_VOLUME}:${GATE_CA_OUT}`] : []),
      ...(wiring?.gateFiles ?? []).map((f) => `${f}:${f}:ro`),
    ];
    services.add(
      doc.createPair(GATE, {
        ...gateImageKeys(options),
        // Listen on the container's interfaces (Docker's `dns:` always asks port 53).
        // Every path the gate writes is in the state volume: the policy's own relative paths
        // would land in its read-only mount.
        command: [
          "gate",
          "--policy",
          GATE_POLICY,
          "--proxy",
          `0.0.0.0:${plan.gate.proxyPort}`,
          "--dns",
          "0.0.0.0:53",
          // Approvals, metrics and per-run tokens: `docker compose exec corral-gate …`.
          "--admin",
          GATE_ADMIN,
          "--state",
          `${GATE_STATE_ROOT}/gate`,
          ...(audit ? ["--audit", `${GATE_STATE_ROOT}/audit`] : []),
          ...(options.auditKeyPath ? ["--audit-key", GATE_AUDIT_KEY] : []),
          ...(options.witnessKeys ?? []).flatMap((w, i) => ["--witness-key", `${w.url}=${witnessKeyIn(i)}`]),
          ...(terminates ? ["--ca-out", GATE_CA_OUT] : []),
          // Clients are known by name: the gate asks the engine's DNS for each one's replicas.
          ...plan.gate.clients.flatMap((c) => ["--discover", c]),
        ],
        environment: { CORRAL_GATE_ADMIN: GATE_ADMIN, ...(wiring?.gateEnv ?? {}) },
        volumes,
        networks: nets,
        read_only: true,
        user: `${GATE_UID}:${GATE_UID}`,
        cap_drop: ["ALL"],
        // Port 53 as a non-root user with no capability: a sysctl of the container's own netns.
        sysctls: { "net.ipv4.ip_unprivileged_port_start": 0 },
        security_opt: ["no-new-privileges:true"],
        pids_limit: PIDS_LIMIT,
        mem_limit: "512m",
        restart: "unless-stopped",
        healthcheck: {
          test: ["CMD", "node", "/opt/corral/docker/gate/healthcheck.mjs"],
          interval: "2s",
          timeout: "2s",
          retries: 3,
          start_period: "20s",
        },
        labels: { [ROLE_LABEL]: "gate" },
      }),
    );
  }
  root.add(doc.createPair("services", services));
  const networks: Record<string, unknown> = {};
  for (const n of plan.networks) {
    networks[n.composeName] = {
      driver: "bridge",
      driver_opts: { "com.docker.network.bridge.name": n.bridge },
      internal: n.internal,
      ipam: { config: [{ subnet: n.subnet, ip_range: n.dynamicRange, gateway: n.gateway }] },
      labels: { [ZONE_LABEL]: n.key === EGRESS ? "(gate egress)" : n.key, [ISOLATE_LABEL]: n.isolate },
    };
  }
  root.add(doc.createPair("networks", networks));
  // Approvals and learned destinations outlive the gate container.
  if (plan.gate)
    root.add(doc.createPair("volumes", { "corral-gate-state": {}, ...(terminates ? { [CA_VOLUME]: {} } : {}) }));
  return root;
}

export function renderOverlay(plan: Plan, d: Deployment, options: OverlayOptions = {}): string {
  const doc = new Document();
  doc.contents = overlayValue(plan, d, options, doc);
  doc.commentBefore =
    " Generated by `corral compile --target compose`. Use it after the shipped file:\n" +
    "   docker compose -f docker-compose.yml -f compose.corral.yml up -d\n" +
    " Zone subnets not pinned in corral.yaml come from 10.231.0.0/16, one block per zone\n" +
    " chosen by a hash of its name (pin them with `subnet:` to keep them stable).\n" +
    " Approve pending egress from the gate's own container (its admin API listens on its loopback):\n" +
    "   docker compose exec corral-gate node /opt/corral/bin/corral.js approve <id> --for 1h --state /var/lib/corral/gate";
  return doc.toString({ lineWidth: 0 });
}

export function compileComposeOverlay(
  policy: Policy,
  d: Deployment,
  options: OverlayOptions = {},
): Record<string, string> {
  const withAudit = {
    ...options,
    auditing: options.auditing ?? policy.audit !== undefined,
    credentials: options.credentials ?? credentialWiring(policy, d),
  };
  return { "compose.corral.yml": renderOverlay(buildPlan(policy, d, options), d, withAudit) };
}
