// One positive and one negative case per rule, on hand-built Deployments (see ../testing.ts).
// A catalog rule without a case here fails the last test.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Deployment, Reachability, Service } from "../../model/types.ts";
import { RULES, ruleById } from "../catalog.ts";
import { evaluate } from "../engine.ts";
import { at, bind, type container, deployment, network, port, service, simpleReach } from "../testing.ts";
import type { PolicyView } from "../types.ts";

interface Case {
  bad: () => Deployment;
  good: () => Deployment;
  /** Line the bad case's finding must point at. */
  line?: number;
  policy?: PolicyView;
  reach?: (d: Deployment) => Reachability;
}

const one = (s: Service) => deployment([s]);
const app = (over: Partial<Service> = {}, c: Parameters<typeof container>[0] = {}) => service("app", over, c);
const pg = (over: Partial<Service> = {}) => service("postgres", over, { image: "postgres:16@sha256:aa" });
const k8s = (over: Partial<Service> = {}, c: Parameters<typeof container>[0] = {}) =>
  service("app", { platform: "kubernetes", labels: { app: "app" }, networks: [], namespace: "agents", ...over }, c);
const k8sDeployment = (services: Service[], k8sOver: Partial<NonNullable<Deployment["k8s"]>> = {}) =>
  deployment(services, {
    platform: "kubernetes",
    networks: [],
    k8s: {
      namespaces: [],
      services: [],
      networkPolicies: [
        {
          name: "deny",
          namespace: "agents",
          podSelector: { matchLabels: {}, matchExpressions: [] },
          policyTypes: ["Ingress", "Egress"],
          ingress: [],
          egress: [],
          pos: at(100),
        },
      ],
      ...k8sOver,
    },
  });
const open = (names: string[]) => names.map((n) => network(n, { internal: false }));
const capCase = (cap: string): Case => ({
  bad: () => one(app({ positions: { "cap_add.0": at(7) } }, { capAdd: [cap] })),
  good: () => one(app({}, { capAdd: ["NET_BIND_SERVICE"] })),
  line: 7,
});
const portCase = (target: number, over: Partial<Service> = {}): Case => ({
  bad: () => one(app({ ports: [port("0.0.0.0", target, target, 12)], ...over })),
  good: () => one(app({ ports: [port("127.0.0.1", target, target, 12)], ...over })),
  line: 12,
});
const envCase = (name: string, value: string, goodValue = "${" + name + "}"): Case => ({
  bad: () => one(app({}, { env: [{ name, value, pos: at(21), from: "inline" }] })),
  good: () => one(app({}, { env: [{ name, value: goodValue, pos: at(21), from: "inline" }] })),
  line: 21,
});
const traefikRouter = (labels: Record<string, string>) =>
  one(
    app({
      labels: { "traefik.enable": "true", "traefik.http.routers.app.rule": "Host(`a.example`)", ...labels },
      positions: { "labels.traefik.http.routers.app.rule": at(33) },
    }),
  );
const secure = {
  "traefik.http.routers.app.middlewares": "hsts,rl",
  "traefik.http.middlewares.hsts.headers.stsseconds": "31536000",
  "traefik.http.middlewares.rl.ratelimit.average": "20",
  "traefik.http.routers.app.tls": "true",
  "traefik.http.routers.app.tls.options": "modern@file",
};
const policy = (
  flows: PolicyView["flows"],
  zone: string | undefined = "z",
  publishes: PolicyView["publishes"] = [],
): PolicyView => ({
  file: "corral.yaml",
  zoneOf: () => zone,
  flows,
  publishes,
});
const twoOnOneNet = () => deployment([app(), service("worker")]);

const CASES: Record<string, Case> = {
  "CRL-R001": {
    bad: () => one(app({ positions: { privileged: at(5) } }, { privileged: true })),
    good: () => one(app()),
    line: 5,
  },
  "CRL-R002": {
    bad: () => one(app({ networkMode: { kind: "host" }, networks: [], positions: { network_mode: at(6) } })),
    good: () => one(app({ networkMode: { kind: "service", target: "x" } })),
    line: 6,
  },
  "CRL-R003": {
    bad: () => one(app({ pid: "host", positions: { pid: at(4) } })),
    good: () => one(app({ pid: "service:x" })),
    line: 4,
  },
  "CRL-R004": {
    bad: () => one(app({ ipc: "host", positions: { ipc: at(4) } })),
    good: () => one(app({ ipc: "private" })),
    line: 4,
  },
  "CRL-R005": { bad: () => one(app({ uts: "host", positions: { uts: at(4) } })), good: () => one(app()), line: 4 },
  "CRL-R006": {
    bad: () => one(app({ userns: "host", positions: { userns_mode: at(4) } })),
    good: () => one(app()),
    line: 4,
  },
  "CRL-R007": {
    bad: () =>
      one(
        app(
          { positions: { "security_opt.1": at(9) } },
          { seccomp: "unconfined", securityOpt: ["no-new-privileges:true", "seccomp=unconfined"] },
        ),
      ),
    good: () => one(app({}, { seccomp: "profile", securityOpt: ["seccomp=./profile.json"] })),
    line: 9,
  },
  "CRL-R008": {
    bad: () =>
      one(
        app(
          { positions: { "security_opt.0": at(8) } },
          { apparmor: "unconfined", securityOpt: ["apparmor:unconfined"] },
        ),
      ),
    good: () => one(app({}, { apparmor: "default" })),
    line: 8,
  },
  "CRL-R009": {
    bad: () => one(app({}, { noNewPrivileges: false, securityOpt: [] })),
    good: () => one(app({}, { noNewPrivileges: true, securityOpt: ["no-new-privileges=true"] })),
    line: 1,
  },
  "CRL-R010": {
    bad: () => one(app({ positions: { user: at(3) } }, { user: "root" })),
    good: () => one(app({}, { user: "node" })),
    line: 3,
  },
  "CRL-R011": {
    bad: () => one(app({ positions: { read_only: at(11) } }, { readOnlyRootfs: false })),
    good: () => one(app()),
    line: 11,
  },
  "CRL-R012": {
    bad: () => one(app({ positions: { "devices.0": at(13) } }, { devices: ["/dev/sda:/dev/sda"] })),
    good: () => one(app({}, { devices: [] })),
    line: 13,
  },
  "CRL-C001": capCase("SYS_ADMIN"),
  "CRL-C002": capCase("CAP_NET_ADMIN"),
  "CRL-C003": capCase("net_raw"),
  "CRL-C004": capCase("SYS_PTRACE"),
  "CRL-C005": capCase("SYS_MODULE"),
  "CRL-C006": capCase("DAC_READ_SEARCH"),
  "CRL-C007": capCase("ALL"),
  "CRL-C008": capCase("SYS_RAWIO"),
  "CRL-C009": {
    bad: () => one(app({ positions: { cap_drop: at(14) } }, { capDrop: ["NET_RAW"] })),
    good: () => one(app()),
    line: 14,
  },
  "CRL-M001": {
    bad: () => one(app({}, { mounts: [bind("/var/run/docker.sock", "/var/run/docker.sock", true, 17)] })),
    good: () => one(app({}, { mounts: [bind("./data", "/data", true, 17)] })),
    line: 17,
  },
  "CRL-M002": {
    bad: () => one(app({}, { mounts: [bind("/", "/host", true, 17)] })),
    good: () => one(app({}, { mounts: [bind("./root", "/", true)] })),
    line: 17,
  },
  "CRL-M003": {
    bad: () => one(app({}, { mounts: [bind("/etc", "/host/etc", false, 18)] })),
    good: () => one(app({}, { mounts: [bind("/etc/localtime", "/etc/localtime", true, 18)] })),
    line: 18,
  },
  "CRL-M004": {
    bad: () => one(app({}, { mounts: [bind("$HOME/.ssh", "/root/.ssh", true, 19)] })),
    good: () => one(app({}, { mounts: [bind("~/.openhands", "/.openhands", true, 19)] })),
    line: 19,
  },
  "CRL-M005": {
    bad: () => one(app({}, { mounts: [bind("~", "/home/me", true, 19)] })),
    good: () => one(app({}, { mounts: [bind("~/project", "/w", true)] })),
    line: 19,
  },
  "CRL-M006": {
    bad: () => one(app({}, { mounts: [bind("./data", "/data", false, 20)] })),
    good: () =>
      one(
        app(
          {},
          {
            mounts: [
              bind("./data", "/data", true, 20),
              { type: "volume", source: "v", target: "/v", readOnly: false, pos: at(21) },
            ],
          },
        ),
      ),
    line: 20,
  },
  "CRL-M007": {
    bad: () => one(app({}, { mounts: [{ ...bind("./m", "/m", true, 22), propagation: "rshared" }] })),
    good: () => one(app({}, { mounts: [{ ...bind("./m", "/m", true, 22), propagation: "rslave" }] })),
    line: 22,
  },
  "CRL-N001": {
    bad: () => one(app({ ports: [port(undefined, 3000, 3000, 12)] })),
    good: () => one(app({ ports: [port("127.0.0.1", 3000, 3000, 12), port("::1", 3001, 3001, 13)] })),
    line: 12,
  },
  "CRL-N002": portCase(5432),
  "CRL-N003": portCase(2375),
  "CRL-N004": portCase(11434),
  // 8080 alone is an app port; it counts as an admin UI only with an admin image (see unseen.test.ts)
  "CRL-N005": portCase(5050),
  "CRL-N006": {
    bad: () => deployment([pg(), app()]),
    good: () =>
      deployment([
        pg({ networks: [{ network: "data", aliases: [], pos: at(80) }] }),
        app({ networks: [{ network: "backend", aliases: [], pos: at(81) }] }),
      ]),
    line: 80,
  },
  "CRL-N007": {
    bad: () => deployment([pg(), app()]),
    good: () => deployment([pg({ networks: [{ network: "data", aliases: [], pos: at(80) }] }), app()]),
    line: 1,
  },
  "CRL-N008": {
    bad: () => deployment([pg(), service("nginx", {}, { image: "nginx:1.27@sha256:bb" })]),
    good: () => deployment([pg(), app()]),
    line: 1,
  },
  "CRL-N009": {
    bad: () => deployment([pg()], { networks: open(["backend"]) }),
    good: () => deployment([pg()]),
    line: 1,
  },
  "CRL-L001": { bad: () => one(app({}, { resources: { cpus: 1, pids: 10 } })), good: () => one(app()), line: 1 },
  "CRL-L002": { bad: () => one(app({}, { resources: { memory: 1, pids: 10 } })), good: () => one(app()), line: 1 },
  "CRL-L003": { bad: () => one(app({}, { resources: { memory: 1, cpus: 1 } })), good: () => one(app()), line: 1 },
  "CRL-L004": {
    bad: () => one(app({ restart: "always", positions: { restart: at(15) } })),
    good: () => one(app({ restart: "no" })),
    line: 15,
  },
  "CRL-L005": { bad: () => one(app({}, { healthcheck: undefined })), good: () => one(app()), line: 1 },
  "CRL-L006": {
    bad: () => one(app({}, { healthcheck: { disabled: true, pos: at(16) } })),
    good: () => one(app()),
    line: 16,
  },
  "CRL-S001": envCase("OPENAI_API_KEY", "sk-proj-Xa81kQ2LmZp0Rt7Vb3Nc9Wd4Ye6Uf5Ig"),
  "CRL-S002": envCase("NEXT_AUTH_SECRET", "NX2kaPE923dt6BL2U8e9oSre5RfoT7hg", ""),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
  "CRL-S003": envCase("POSTGRES_PASSWORD", "password", "${POSTGRES_PASSWORD:?set it}"),
  "CRL-S004": envCase("JWT_SECRET", "my-random-string-for-seeding"),
  "CRL-S005": envCase("TLS_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMIIB...\n-----END RSA PRIVATE KEY-----"),
  "CRL-S006": envCase(
    "DATABASE_URL",
    "postgresql://app:hunter2@postgres:5432/app",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    "postgresql://app:${DB_PASSWORD}@postgres:5432/app",
  ),
  "CRL-I001": {
    bad: () => one(app({ positions: { image: at(2) } }, { image: "redis/redis-stack-server:latest" })),
    good: () => one(app({}, { image: "redis:latest", build: true })),
    line: 2,
  },
  "CRL-I002": {
    bad: () => one(app({ positions: { image: at(2) } }, { image: "qdrant/qdrant" })),
    good: () => one(app({}, { image: "localhost:5000/qdrant@sha256:aa" })),
    line: 2,
  },
  "CRL-I003": {
    bad: () => one(app({ positions: { image: at(2) } }, { image: "localhost:5000/postgres:15" })),
    good: () => one(app()),
    line: 2,
  },
  "CRL-K001": {
    bad: () => k8sDeployment([k8s()], { networkPolicies: [] }),
    good: () => k8sDeployment([k8s()]),
    line: 1,
  },
  "CRL-K002": {
    bad: () =>
      k8sDeployment([k8s()], {
        networkPolicies: [
          {
            name: "in",
            namespace: "agents",
            podSelector: { matchLabels: { app: "app" }, matchExpressions: [] },
            policyTypes: ["Ingress"],
            ingress: [],
            egress: [],
            pos: at(100),
          },
        ],
      }),
    good: () => k8sDeployment([k8s()]),
    line: 1,
  },
  "CRL-K003": {
    bad: () => k8sDeployment([k8s({ automountServiceAccountToken: undefined })]),
    good: () => k8sDeployment([k8s({ automountServiceAccountToken: false })]),
    line: 1,
  },
  "CRL-K004": {
    bad: () =>
      k8sDeployment([k8s({ name: "db" }, { image: "postgres:16@sha256:aa" })], {
        services: [
          {
            name: "db",
            namespace: "agents",
            type: "NodePort",
            selector: { app: "app" },
            ports: [{ port: 5432, protocol: "tcp" }],
            pos: at(120),
          },
        ],
      }),
    good: () =>
      k8sDeployment([k8s({ name: "db" }, { image: "postgres:16@sha256:aa" })], {
        services: [
          {
            name: "db",
            namespace: "agents",
            type: "ClusterIP",
            selector: { app: "app" },
            ports: [{ port: 5432, protocol: "tcp" }],
            pos: at(120),
          },
        ],
      }),
    line: 120,
  },
  "CRL-K005": {
    bad: () =>
      k8sDeployment([k8s()], {
        services: [
          {
            name: "app",
            namespace: "agents",
            type: "LoadBalancer",
            selector: { app: "app" },
            ports: [{ port: 80, protocol: "tcp" }],
            pos: at(121),
          },
        ],
      }),
    good: () =>
      k8sDeployment([k8s()], {
        services: [
          {
            name: "app",
            namespace: "other",
            type: "LoadBalancer",
            selector: { app: "app" },
            ports: [{ port: 80, protocol: "tcp" }],
            pos: at(121),
          },
        ],
      }),
    line: 121,
  },
  "CRL-K006": {
    bad: () =>
      k8sDeployment([
        k8s(
          {},
          {
            mounts: [
              {
                type: "hostPath",
                source: "/data",
                target: "/data",
                readOnly: true,
                pos: at(130),
                volume: { name: "data", pos: at(140) },
              },
            ],
          },
        ),
      ]),
    good: () =>
      k8sDeployment([k8s({}, { mounts: [{ type: "emptyDir", target: "/tmp", readOnly: false, pos: at(130) }] })]),
    // the volume's `hostPath:`, where the path is chosen; the mount is a related location
    line: 140,
  },
  "CRL-K007": {
    bad: () => k8sDeployment([k8s({ ports: [port("0.0.0.0", 8080, 8080, 131)] })]),
    good: () => k8sDeployment([k8s()]),
    line: 131,
  },
  "CRL-K008": {
    bad: () =>
      k8sDeployment([k8s({ namespace: "default", positions: { "metadata.namespace": at(3) } })], {
        networkPolicies: [],
      }),
    good: () => k8sDeployment([k8s()]),
    line: 3,
  },
  "CRL-A001": {
    bad: () => deployment([app()], { networks: open(["backend"]) }),
    good: () =>
      deployment(
        [app({}, { env: [{ name: "HTTPS_PROXY", value: "http://gate:3128", pos: at(40), from: "inline" }] })],
        { networks: open(["backend"]) },
      ),
    line: 1,
  },
  "CRL-A002": {
    bad: () => deployment([app()], { networks: open(["backend"]) }),
    good: () => deployment([app({ dns: ["172.30.0.53"] })], { networks: open(["backend"]) }),
    line: 1,
  },
  "CRL-A003": {
    bad: () =>
      one(
        service(
          "sandbox",
          {},
          {
            image: "ghcr.io/acme/code-interpreter:1.0",
            mounts: [bind("/var/run/docker.sock", "/var/run/docker.sock")],
          },
        ),
      ),
    good: () => one(service("sandbox", {}, { image: "ghcr.io/acme/code-interpreter:1.0@sha256:aa" })),
    line: 1,
  },
  "CRL-A004": {
    bad: () => deployment([app()], { networks: open(["backend"]) }),
    good: () => deployment([pg()], { networks: open(["backend"]) }),
    line: 1,
  },
  "CRL-A005": {
    bad: () => one(app({ extraHosts: ["host.docker.internal:host-gateway"], positions: { "extra_hosts.0": at(25) } })),
    good: () => one(app({ extraHosts: ["api.internal:10.0.0.5"] })),
    line: 25,
  },
  "CRL-T001": {
    bad: () =>
      one(
        service(
          "traefik",
          {},
          {
            image: "traefik:v3.1@sha256:aa",
            env: [{ name: "TRAEFIK_API_INSECURE", value: "true", pos: at(30), from: "inline" }],
          },
        ),
      ),
    good: () =>
      one(
        service(
          "traefik",
          {},
          {
            image: "traefik:v3.1@sha256:aa",
            env: [{ name: "TRAEFIK_API_INSECURE", value: "false", pos: at(30), from: "inline" }],
          },
        ),
      ),
    line: 30,
  },
  "CRL-T002": {
    bad: () => traefikRouter({ "traefik.http.routers.app.service": "api@internal" }),
    good: () =>
      traefikRouter({
        "traefik.http.routers.app.service": "api@internal",
        "traefik.http.routers.app.middlewares": "auth",
        "traefik.http.middlewares.auth.basicauth.users": "admin:$apr1$x",
      }),
    line: 33,
  },
  "CRL-T003": { bad: () => traefikRouter({}), good: () => traefikRouter(secure), line: 33 },
  "CRL-T004": { bad: () => traefikRouter({}), good: () => traefikRouter(secure), line: 33 },
  "CRL-T005": {
    bad: () => traefikRouter({ "traefik.http.routers.app.tls": "true" }),
    good: () => traefikRouter(secure),
    line: 33,
  },
  // omission: no --requirepass, so the finding is at the command, where the flag goes
  "CRL-U001": {
    bad: () =>
      one(
        service(
          "cache",
          { positions: { command: at(26) } },
          { image: "redis:7.2@sha256:aa", command: ["redis-server", "--appendonly", "yes"] },
        ),
      ),
    good: () =>
      one(
        service(
          "cache",
          { positions: { command: at(26) } },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
          { image: "redis:7.2@sha256:aa", command: ["redis-server", "--requirepass", "${REDIS_PASSWORD}"] },
        ),
      ),
    line: 26,
  },
  "CRL-U002": {
    bad: () => one(service("qdrant", { positions: { image: at(2) } }, { image: "qdrant/qdrant:v1.12.4@sha256:aa" })),
    good: () =>
      one(
        service(
          "qdrant",
          {},
          {
            image: "qdrant/qdrant:v1.12.4@sha256:aa",
            // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
            env: [{ name: "QDRANT__SERVICE__API_KEY", value: "${QDRANT_API_KEY}", pos: at(27), from: "inline" }],
          },
        ),
      ),
    line: 2,
  },
  "CRL-U003": {
    bad: () => one(app({}, { env: [{ name: "WEBUI_AUTH", value: "False", pos: at(28), from: "inline" }] })),
    good: () => one(app({}, { env: [{ name: "WEBUI_AUTH", value: "True", pos: at(28), from: "inline" }] })),
    line: 28,
  },
  "CRL-S007": {
    bad: () =>
      one(app({ positions: { "command.2": at(29) } }, { command: ["redis-server", "--requirepass", "Zq8xT2pLw"] })),
    good: () =>
      one(
        app(
          { positions: { "command.2": at(29) } },
          { command: ["mysqld", "--default-authentication-plugin=mysql_native_password", "--password-file", "/run/s"] },
        ),
      ),
    line: 29,
  },
  "CRL-P001": {
    bad: twoOnOneNet,
    good: twoOnOneNet,
    policy: policy([]),
    line: 80,
  },
  "CRL-P002": {
    bad: () => one(app()),
    good: () => one(app()),
    policy: { ...policy([]), zoneOf: () => undefined },
    line: 1,
  },
  "CRL-P003": {
    bad: () => one(app({ ports: [port("127.0.0.1", 80, 80, 12)] })),
    good: () => one(app({ ports: [port("127.0.0.1", 81, 81, 12)] })),
    policy: policy([], "z", [{ service: "app", port: 81 }]),
    line: 12,
  },
  "CRL-P004": {
    bad: () =>
      one(
        app(
          {},
          {
            image: "postgres:16",
            mounts: [
              { type: "volume", source: "pgdata", target: "/var/lib/postgresql/data", readOnly: false, pos: at(14) },
            ],
          },
        ),
      ),
    good: () =>
      one(
        app(
          {},
          {
            image: "postgres:16",
            mounts: [
              { type: "volume", source: "pgdata", target: "/var/lib/postgresql/data", readOnly: false, pos: at(14) },
            ],
          },
        ),
      ),
    policy: policy([]),
    line: 14,
  },
};

// P001/P002 need a different policy for their good case.
const GOOD_POLICY: Record<string, PolicyView> = {
  "CRL-P001": policy([
    { from: "app", to: "worker", ports: [], flowIndex: 0 },
    { from: "worker", to: "app", ports: [], flowIndex: 0 },
  ]),
  "CRL-P002": policy([], "agents"),
  "CRL-P004": { ...policy([]), sealedVolumes: ["pgdata"] },
};

function findings(id: string, d: Deployment, pol: PolicyView | undefined, reach = simpleReach) {
  const rule = ruleById(id);
  assert.ok(rule, `rule ${id} exists`);
  return evaluate({ deployment: d, reach: reach(d), rules: [rule], ...(pol ? { policy: pol } : {}) });
}

for (const [id, c] of Object.entries(CASES)) {
  test(`${id} fires on the bad case`, () => {
    const found = findings(id, c.bad(), c.policy, c.reach);
    assert.ok(found.length > 0, `${id} should fire`);
    if (c.line !== undefined) assert.equal(found[0]?.pos.line, c.line, `${id} points at line ${c.line}`);
    assert.ok(found.every((f) => f.ruleId === id && f.message.length > 0));
  });
  test(`${id} is silent on the good case`, () => {
    assert.deepEqual(findings(id, c.good(), GOOD_POLICY[id] ?? c.policy, c.reach), []);
  });
}

test("every catalog rule (except suppression meta-rules) has a case", () => {
  const missing = RULES.filter((r) => r.family !== "meta" && !CASES[r.id]).map((r) => r.id);
  assert.deepEqual(missing, []);
});

test("a hardened compose service triggers no rule at all", () => {
  const d = deployment([app()]);
  assert.deepEqual(evaluate({ deployment: d, reach: simpleReach(d) }), []);
});

test("as root, ~ expands under /root: app data there is not a credential, root's home and its keys are", () => {
  const ids = (source: string) =>
    evaluate({ deployment: one(app({}, { mounts: [bind(source, "/x", false)] })), reach: simpleReach(one(app())) })
      .map((f) => f.ruleId)
      .filter((id) => id === "CRL-M004");
  assert.deepEqual(ids("/root/.openhands"), []);
  assert.deepEqual(ids("/root"), ["CRL-M004"]);
  assert.deepEqual(ids("/root/.ssh"), ["CRL-M004"]);
  assert.deepEqual(ids("/home/me/.config/gcloud"), ["CRL-M004"]);
});
