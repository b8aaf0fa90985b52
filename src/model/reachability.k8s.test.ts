// The NetworkPolicy corpus: each case a small cluster and the edges Kubernetes would allow.
import assert from "node:assert/strict";
import { test } from "node:test";
import { computeReachability } from "./reachability.ts";
import { k8s, POS, pod, policy, sel } from "./testkit.ts";
import type { Reachability, ReachEdge } from "./types.ts";

function edge(r: Reachability, from: string, to: string): ReachEdge | undefined {
  return r.edges.find((e) => e.from === from && e.to === to);
}
function pairs(r: Reachability): string[] {
  return r.edges.map((e) => `${e.from}->${e.to}`);
}
const NO_POLICY = [
  { kind: "k8s-no-policy", side: "egress" },
  { kind: "k8s-no-policy", side: "ingress" },
];
const internet = (r: Reachability, id: string) => r.egress.find((e) => e.service === id)?.internet;

test("default allow: no policy means every pod reaches every pod on every port", () => {
  const r = computeReachability(
    k8s([pod("web", { listens: [{ from: 80, to: 80, protocol: "tcp" }] }), pod("db", { ns: "data" })]),
  );
  assert.deepEqual(r.edges, [
    { from: "data/db", to: "default/web", ports: "all", reasons: NO_POLICY },
    { from: "default/web", to: "data/db", ports: "all", reasons: NO_POLICY },
  ]);
  assert.deepEqual(r.egress, [
    { service: "data/db", internet: true, reason: "no NetworkPolicy restricts its egress" },
    { service: "default/web", internet: true, reason: "no NetworkPolicy restricts its egress" },
  ]);
});

test("deny-all ingress: nothing enters the namespace; its pods still connect out", () => {
  const r = computeReachability(
    k8s(
      [pod("a", { ns: "locked" }), pod("b", { ns: "locked" }), pod("c", { ns: "open" })],
      [policy("deny-in", { namespace: "locked", policyTypes: ["Ingress"] })],
    ),
  );
  assert.deepEqual(pairs(r), ["locked/a->open/c", "locked/b->open/c"]);
  assert.equal(internet(r, "locked/a"), true);
});

test("deny-all egress: nothing leaves, no internet", () => {
  const r = computeReachability(
    k8s([pod("a"), pod("b"), pod("c", { ns: "x" })], [policy("deny-out", { policyTypes: ["Egress"] })]),
  );
  assert.deepEqual(pairs(r), ["x/c->default/a", "x/c->default/b"]);
  assert.deepEqual(
    r.egress.find((e) => e.service === "default/a"),
    {
      service: "default/a",
      internet: false,
      reason: "egress limited by NetworkPolicy default/deny-out; no rule allows a public address",
    },
  );
  assert.equal(internet(r, "x/c"), true);
});

test("podSelector peers are in the policy's namespace; reasons name the policy", () => {
  const r = computeReachability(
    k8s(
      [
        pod("api", { labels: { app: "api" } }),
        pod("web", { labels: { role: "fe" } }),
        pod("web", { ns: "other", labels: { role: "fe" } }),
      ],
      [
        policy("api-from-fe", {
          podSelector: sel({ app: "api" }),
          policyTypes: ["Ingress"],
          ingress: [{ peers: [{ podSelector: sel({ role: "fe" }) }] }],
        }),
      ],
    ),
  );
  assert.deepEqual(edge(r, "default/web", "default/api"), {
    from: "default/web",
    to: "default/api",
    ports: "all",
    reasons: [
      { kind: "k8s-no-policy", side: "egress" },
      { kind: "k8s-policy", side: "ingress", policy: "default/api-from-fe" },
    ],
  });
  assert.equal(edge(r, "other/web", "default/api"), undefined);
  assert.ok(edge(r, "default/api", "other/web"));
});

test("namespaceSelector alone, and combined with podSelector", () => {
  const namespaces: Array<{ name: string; labels: Record<string, string> }> = [
    { name: "ops", labels: { team: "ops", "kubernetes.io/metadata.name": "ops" } },
    { name: "dev", labels: { "kubernetes.io/metadata.name": "dev" } },
  ];
  const pods = [
    pod("db", { ns: "data", labels: { app: "db" } }),
    pod("tool", { ns: "ops", labels: { app: "tool" } }),
    pod("bot", { ns: "ops", labels: { app: "bot" } }),
    pod("tool", { ns: "dev", labels: { app: "tool" } }),
  ];
  const nsOnly = computeReachability(
    k8s(
      pods,
      [
        policy("from-ops", {
          namespace: "data",
          policyTypes: ["Ingress"],
          ingress: [{ peers: [{ namespaceSelector: sel({ team: "ops" }) }] }],
        }),
      ],
      { namespaces },
    ),
  );
  assert.deepEqual(
    nsOnly.edges.filter((e) => e.to === "data/db").map((e) => e.from),
    ["ops/bot", "ops/tool"],
  );
  const both = computeReachability(
    k8s(
      pods,
      [
        policy("tools-from-ops", {
          namespace: "data",
          policyTypes: ["Ingress"],
          ingress: [{ peers: [{ namespaceSelector: sel({ team: "ops" }), podSelector: sel({ app: "tool" }) }] }],
        }),
      ],
      { namespaces },
    ),
  );
  assert.deepEqual(
    both.edges.filter((e) => e.to === "data/db").map((e) => e.from),
    ["ops/tool"],
  );
  // An implicit namespace still matches by its name label.
  const byName = computeReachability(
    k8s(pods, [
      policy("from-dev", {
        namespace: "data",
        policyTypes: ["Ingress"],
        ingress: [{ peers: [{ namespaceSelector: sel({ "kubernetes.io/metadata.name": "dev" }) }] }],
      }),
    ]),
  );
  assert.deepEqual(
    byName.edges.filter((e) => e.to === "data/db").map((e) => e.from),
    ["dev/tool"],
  );
});

test("matchExpressions select pods", () => {
  const r = computeReachability(
    k8s(
      [pod("a", { labels: { tier: "db" } }), pod("b", { labels: { tier: "web" } }), pod("c", { labels: {} })],
      [
        policy("p", {
          podSelector: sel({}, [{ key: "tier", operator: "In", values: ["db"] }]),
          policyTypes: ["Ingress"],
          ingress: [{ peers: [{ podSelector: sel({}, [{ key: "tier", operator: "Exists", values: [] }]) }] }],
        }),
      ],
    ),
  );
  assert.deepEqual(
    r.edges.filter((e) => e.to === "default/a").map((e) => e.from),
    ["default/b"],
  );
});

test("ipBlock: decides internet egress, never matches pods", () => {
  const mk = (cidr: string, except: string[] = []) =>
    computeReachability(
      k8s(
        [pod("agent"), pod("db")],
        [
          policy("out", {
            podSelector: sel({ app: "agent" }),
            policyTypes: ["Egress"],
            egress: [{ peers: [{ ipBlock: { cidr, except } }] }],
          }),
        ],
      ),
    );
  const open = mk("0.0.0.0/0", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]);
  assert.deepEqual(
    open.egress.find((e) => e.service === "default/agent"),
    {
      service: "default/agent",
      internet: true,
      reason: "NetworkPolicy default/out allows egress to 0.0.0.0/0 except 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
    },
  );
  assert.equal(edge(open, "default/agent", "default/db"), undefined);
  assert.equal(internet(mk("10.0.0.0/8"), "default/agent"), false);
  assert.equal(internet(mk("0.0.0.0/0", ["0.0.0.0/1", "128.0.0.0/1"]), "default/agent"), false);
  assert.equal(internet(mk("8.8.8.8/32"), "default/agent"), true);
  assert.equal(internet(mk("::/0"), "default/agent"), true);
  assert.equal(internet(mk("fd00::/8"), "default/agent"), false);
});

test("egress rule without peers allows every destination, internet included", () => {
  const r = computeReachability(
    k8s(
      [pod("a"), pod("b")],
      [policy("dns-only", { policyTypes: ["Egress"], egress: [{ ports: [{ protocol: "udp", port: 53 }] }] })],
    ),
  );
  assert.deepEqual(edge(r, "default/a", "default/b")?.ports, [{ from: 53, to: 53, protocol: "udp" }]);
  assert.deepEqual(
    r.egress.find((e) => e.service === "default/a"),
    {
      service: "default/a",
      internet: true,
      reason: "NetworkPolicy default/dns-only allows egress to every destination on 53/udp",
    },
  );
});

test("named ports resolve against the destination's containerPorts", () => {
  const pods = [
    pod("api", { labels: { app: "api" }, listens: [{ from: 8080, to: 8080, protocol: "tcp", name: "http" }] }),
    pod("batch", { labels: { app: "api" }, listens: [{ from: 9000, to: 9000, protocol: "tcp", name: "metrics" }] }),
    pod("web", { labels: { app: "web" } }),
  ];
  const r = computeReachability(
    k8s(pods, [
      policy("http-only", {
        podSelector: sel({ app: "api" }),
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ protocol: "tcp", port: "http" }] }],
      }),
    ]),
  );
  assert.deepEqual(edge(r, "default/web", "default/api")?.ports, [{ from: 8080, to: 8080, protocol: "tcp" }]);
  assert.equal(edge(r, "default/web", "default/batch"), undefined);
});

test("endPort ranges, narrowed to declared containerPorts when they overlap", () => {
  const mk = (listens: Array<{ from: number; to: number; protocol: "tcp" }>) =>
    computeReachability(
      k8s(
        [pod("rtc", { labels: { app: "rtc" }, listens }), pod("client", { labels: { app: "client" } })],
        [
          policy("range", {
            podSelector: sel({ app: "rtc" }),
            policyTypes: ["Ingress"],
            ingress: [{ ports: [{ protocol: "tcp", port: 30000, endPort: 30100 }] }],
          }),
        ],
      ),
    );
  assert.deepEqual(edge(mk([]), "default/client", "default/rtc")?.ports, [{ from: 30000, to: 30100, protocol: "tcp" }]);
  assert.deepEqual(edge(mk([{ from: 30050, to: 30050, protocol: "tcp" }]), "default/client", "default/rtc")?.ports, [
    { from: 30050, to: 30050, protocol: "tcp" },
  ]);
  // containerPort is informational: a port the policy opens stays reachable even when undeclared.
  assert.deepEqual(edge(mk([{ from: 80, to: 80, protocol: "tcp" }]), "default/client", "default/rtc")?.ports, [
    { from: 30000, to: 30100, protocol: "tcp" },
  ]);
});

test("both sides needed: egress of the source and ingress of the destination; ports intersect", () => {
  const pods = [pod("src", { labels: { app: "src" } }), pod("dst", { labels: { app: "dst" } })];
  const egressTo = policy("src-out", {
    podSelector: sel({ app: "src" }),
    policyTypes: ["Egress"],
    egress: [
      {
        peers: [{ podSelector: sel({ app: "dst" }) }],
        ports: [
          { protocol: "tcp", port: 80 },
          { protocol: "tcp", port: 443 },
        ],
      },
    ],
  });
  const ingressFrom = policy("dst-in", {
    podSelector: sel({ app: "dst" }),
    policyTypes: ["Ingress"],
    ingress: [
      {
        peers: [{ podSelector: sel({ app: "src" }) }],
        ports: [
          { protocol: "tcp", port: 443 },
          { protocol: "tcp", port: 8080 },
        ],
      },
    ],
  });
  const denyIn = policy("dst-deny", { podSelector: sel({ app: "dst" }), policyTypes: ["Ingress"] });
  const denyOut = policy("src-deny", { podSelector: sel({ app: "src" }), policyTypes: ["Egress"] });

  const ok = computeReachability(k8s(pods, [egressTo, ingressFrom]));
  assert.deepEqual(edge(ok, "default/src", "default/dst"), {
    from: "default/src",
    to: "default/dst",
    ports: [{ from: 443, to: 443, protocol: "tcp" }],
    reasons: [
      { kind: "k8s-policy", side: "egress", policy: "default/src-out" },
      { kind: "k8s-policy", side: "ingress", policy: "default/dst-in" },
    ],
  });
  assert.equal(edge(computeReachability(k8s(pods, [egressTo, denyIn])), "default/src", "default/dst"), undefined);
  assert.equal(edge(computeReachability(k8s(pods, [denyOut, ingressFrom])), "default/src", "default/dst"), undefined);
  // Policies add up: deny-all plus an allow is the allow.
  assert.ok(edge(computeReachability(k8s(pods, [denyIn, ingressFrom])), "default/src", "default/dst"));
});

test('unrestricted ports stay "all" even when containerPorts are known', () => {
  const r = computeReachability(
    k8s(
      [pod("a", { listens: [{ from: 80, to: 80, protocol: "tcp" }] }), pod("b")],
      [policy("allow-all", { policyTypes: ["Ingress"], ingress: [{}] })],
    ),
  );
  assert.equal(edge(r, "default/b", "default/a")?.ports, "all");
});

test("exposures: NodePort, LoadBalancer, hostPort and hostNetwork", () => {
  const hostPortPos = { file: "m.yaml", line: 20, col: 11 };
  const r = computeReachability(
    k8s(
      [
        pod("web", { labels: { app: "web" } }),
        pod("lb", { ns: "edge", labels: { app: "lb" } }),
        pod("agent", {
          labels: { app: "agent" },
          hostNetwork: true,
          listens: [{ from: 9100, to: 9100, protocol: "tcp" }],
          ports: [
            {
              hostIp: "0.0.0.0",
              hostIpDefaulted: true,
              hostPort: { from: 8080, to: 8080 },
              target: { from: 8080, to: 8080 },
              protocol: "tcp",
              pos: hostPortPos,
            },
          ],
        }),
      ],
      [],
      {
        services: [
          {
            name: "web",
            namespace: "default",
            type: "NodePort",
            selector: { app: "web" },
            ports: [{ port: 80, nodePort: 30080, protocol: "tcp" }],
            pos: POS,
          },
          {
            name: "lb",
            namespace: "edge",
            type: "LoadBalancer",
            selector: { app: "lb" },
            ports: [{ port: 443, protocol: "tcp" }],
            pos: POS,
          },
          {
            name: "web-ci",
            namespace: "default",
            type: "ClusterIP",
            selector: { app: "web" },
            ports: [{ port: 80, protocol: "tcp" }],
            pos: POS,
          },
          {
            name: "other-ns",
            namespace: "x",
            type: "NodePort",
            selector: { app: "web" },
            ports: [{ port: 1, protocol: "tcp" }],
            pos: POS,
          },
        ],
      },
    ),
  );
  assert.deepEqual(
    r.exposures.map((e) => [e.service, e.kind, e.port, e.allInterfaces, e.pos.line]),
    [
      ["default/agent", "host-network", 9100, true, 9],
      ["default/agent", "published", 8080, true, 20],
      ["default/web", "nodeport", 30080, true, 1],
      ["edge/lb", "loadbalancer", 443, true, 1],
    ],
  );
});

test("kubernetes: output is independent of input order", () => {
  const pods = [pod("a", { labels: { x: "1" } }), pod("b", { ns: "n" }), pod("c", { labels: { x: "1" } })];
  const pols = [
    policy("p1", {
      podSelector: sel({ x: "1" }),
      policyTypes: ["Ingress", "Egress"],
      ingress: [{}],
      egress: [{ peers: [] }],
    }),
    policy("p2", {
      podSelector: sel({ x: "1" }),
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ protocol: "tcp", port: 1 }] }],
    }),
  ];
  assert.deepEqual(
    computeReachability(k8s(pods, pols)),
    computeReachability(k8s([...pods].reverse(), [...pols].reverse())),
  );
});
