import assert from "node:assert/strict";
import { test } from "node:test";
import { computeReachability, serviceId } from "./reachability.ts";
import { compose, composeService as svc } from "./testkit.ts";
import type { Reachability, ReachEdge } from "./types.ts";

function edge(r: Reachability, from: string, to: string): ReachEdge | undefined {
  return r.edges.find((e) => e.from === from && e.to === to);
}
function pairs(r: Reachability): string[] {
  return r.edges.map((e) => `${e.from}->${e.to}`);
}

test("serviceId: compose name, Kubernetes namespace/name", () => {
  assert.equal(serviceId(svc("web")), "web");
  assert.equal(serviceId({ ...svc("web"), platform: "kubernetes", namespace: "ai" }), "ai/web");
  assert.equal(serviceId({ ...svc("web"), platform: "kubernetes" }), "default/web");
});

test("compose: a shared network is flat, every port both ways; separate networks are not", () => {
  const r = computeReachability(
    compose([
      svc("a", { networks: ["front", "back"] }),
      svc("b", { networks: ["back", "front"] }),
      svc("c", { networks: ["other"] }),
    ]),
  );
  assert.deepEqual(pairs(r), ["a->b", "b->a"]);
  assert.deepEqual(edge(r, "a", "b"), {
    from: "a",
    to: "b",
    ports: "all",
    reasons: [
      { kind: "network", network: "back" },
      { kind: "network", network: "front" },
    ],
  });
});

test("compose: network_mode host is reached through the host and reaches everything", () => {
  const r = computeReachability(
    compose([
      svc("h", { mode: { kind: "host" }, listens: [{ from: 11434, to: 11434, protocol: "tcp" }] }),
      svc("a", { networks: ["n1"] }),
      svc("b", {
        networks: ["n2"],
        ports: [
          {
            hostIp: "127.0.0.1",
            hostIpDefaulted: false,
            hostPort: { from: 5432, to: 5432 },
            target: { from: 5432, to: 5432 },
          },
        ],
      }),
      svc("iso", { mode: { kind: "none" } }),
    ]),
  );
  const hostReason = { kind: "host-network", via: "host" };
  assert.deepEqual(edge(r, "a", "h"), { from: "a", to: "h", ports: "all", reasons: [hostReason] });
  assert.deepEqual(edge(r, "b", "h")?.ports, "all");
  // The host routes to every container address, and also reaches loopback-published ports.
  assert.equal(edge(r, "h", "a")?.ports, "all");
  assert.deepEqual(edge(r, "h", "b")?.reasons, [
    hostReason,
    { kind: "published", hostIp: "127.0.0.1", hostPort: 5432 },
  ]);
  // A loopback-published port is not reachable from other containers.
  assert.equal(edge(r, "a", "b"), undefined);
  assert.ok(!pairs(r).some((p) => p.includes("iso")));
  assert.deepEqual(
    r.exposures.filter((e) => e.service === "h"),
    [
      {
        service: "h",
        kind: "host-network",
        port: 11434,
        protocol: "tcp",
        allInterfaces: true,
        pos: r.exposures[1]!.pos,
      },
    ],
  );
});

test("compose: network_mode service:x shares x's namespace and its edges", () => {
  const r = computeReachability(
    compose([
      svc("vpn", { networks: ["n1"] }),
      svc("client", { mode: { kind: "service", target: "vpn" } }),
      svc("side", { mode: { kind: "container", target: "client" } }),
      svc("db", { networks: ["n1"] }),
    ]),
  );
  const shared = { kind: "shared-namespace", with: "vpn" };
  assert.deepEqual(edge(r, "client", "vpn"), { from: "client", to: "vpn", ports: "all", reasons: [shared] });
  assert.deepEqual(edge(r, "vpn", "side")?.reasons, [shared]);
  assert.deepEqual(edge(r, "client", "db")?.reasons, [{ kind: "network", network: "n1" }]);
  assert.deepEqual(edge(r, "db", "side")?.reasons, [{ kind: "network", network: "n1" }]);
  const eg = r.egress.find((e) => e.service === "side");
  assert.equal(eg?.internet, true);
  assert.match(eg?.reason ?? "", /shares the network namespace of vpn/);
});

test("compose: network_mode none reaches nothing and has no egress", () => {
  const r = computeReachability(compose([svc("a"), svc("b", { mode: { kind: "none" } }), svc("c")]));
  assert.deepEqual(pairs(r), ["a->c", "c->a"]);
  assert.deepEqual(
    r.egress.find((e) => e.service === "b"),
    { service: "b", internet: false, reason: "network_mode none" },
  );
});

test("compose: published ports are exposures and reachable from every networked service via the host", () => {
  const r = computeReachability(
    compose([
      svc("proxy", {
        networks: ["front"],
        ports: [
          { hostPort: { from: 3000, to: 3000 }, target: { from: 80, to: 80 } },
          {
            hostIp: "127.0.0.1",
            hostIpDefaulted: false,
            hostPort: { from: 9000, to: 9000 },
            target: { from: 9000, to: 9000 },
          },
          {
            hostIp: "192.168.1.10",
            hostIpDefaulted: false,
            hostPort: { from: 8443, to: 8443 },
            target: { from: 443, to: 443 },
          },
          { hostIp: "::", hostIpDefaulted: false, target: { from: 53, to: 53 }, protocol: "udp" },
        ],
      }),
      svc("worker", { networks: ["back"] }),
      svc("iso", { mode: { kind: "none" } }),
    ]),
  );
  assert.deepEqual(edge(r, "worker", "proxy"), {
    from: "worker",
    to: "proxy",
    ports: [
      { from: 80, to: 80, protocol: "tcp" },
      { from: 443, to: 443, protocol: "tcp" },
      { from: 53, to: 53, protocol: "udp" },
    ],
    reasons: [
      { kind: "published", hostIp: "0.0.0.0", hostPort: 3000 },
      { kind: "published", hostIp: "192.168.1.10", hostPort: 8443 },
      { kind: "published", hostIp: "::", hostPort: 0 },
    ],
  });
  assert.equal(edge(r, "iso", "proxy"), undefined);
  assert.deepEqual(
    r.exposures.map((e) => [e.service, e.kind, e.hostIp, e.port, e.protocol, e.allInterfaces]),
    [
      ["proxy", "published", "::", undefined, "udp", true],
      ["proxy", "published", "0.0.0.0", 3000, "tcp", true],
      ["proxy", "published", "192.168.1.10", 8443, "tcp", false],
      ["proxy", "published", "127.0.0.1", 9000, "tcp", false],
    ],
  );
});

test("compose: egress needs a non-internal network", () => {
  const r = computeReachability(
    compose(
      [
        svc("db", { networks: ["data"] }),
        svc("api", { networks: ["data", "web"] }),
        svc("h", { mode: { kind: "host" } }),
        svc("orphan", { mode: { kind: "service", target: "gone" } }),
      ],
      [{ name: "data", internal: true }],
    ),
  );
  assert.deepEqual(r.egress, [
    { service: "api", internet: true, reason: "network web is not internal" },
    { service: "db", internet: false, reason: "only on internal networks: data" },
    { service: "h", internet: true, reason: "network_mode host" },
    {
      service: "orphan",
      internet: true,
      reason: "service:gone is not in this deployment; assumed to reach the internet",
    },
  ]);
});

test("compose: output is sorted and independent of input order", () => {
  const services = [
    svc("z", { networks: ["n1", "n2"] }),
    svc("a", { networks: ["n2"], ports: [{ target: { from: 80, to: 80 }, hostPort: { from: 80, to: 80 } }] }),
    svc("m", { networks: ["n1"] }),
    svc("h", { mode: { kind: "host" } }),
  ];
  const one = computeReachability(compose(services));
  const two = computeReachability(compose([...services].reverse()));
  assert.deepEqual(one, two);
  const keys = one.edges.map((e) => `${e.from}\u0000${e.to}`);
  assert.deepEqual(keys, [...keys].sort());
});

test("compose: SuperAGI topology (hand-built): celery reaches super__postgres on every port", () => {
  const names = ["backend", "celery", "gui", "super__tgwui", "super__redis", "super__postgres", "proxy"];
  const d = compose(
    names.map((n) =>
      svc(n, {
        networks: ["super_network"],
        ...(n === "proxy" ? { ports: [{ hostPort: { from: 3000, to: 3000 }, target: { from: 80, to: 80 } }] } : {}),
      }),
    ),
  );
  const r = computeReachability(d);
  assert.deepEqual(edge(r, "celery", "super__postgres"), {
    from: "celery",
    to: "super__postgres",
    ports: "all",
    reasons: [{ kind: "network", network: "super_network" }],
  });
  assert.equal(r.edges.length, 7 * 6);
  assert.deepEqual(
    r.exposures.map((e) => [e.service, e.port, e.allInterfaces]),
    [["proxy", 3000, true]],
  );
  assert.ok(r.egress.every((e) => e.internet));
});

// Its speed is measured in bench/scan (reachability row), against plain YAML parsing.
test("compose: 2,000 services on 200 networks", () => {
  const services = Array.from({ length: 2000 }, (_, i) =>
    svc(`s${String(i).padStart(4, "0")}`, {
      networks: [`net${i % 200}`, `net${(i * 7 + 3) % 200}`],
      ports: i % 50 === 0 ? [{ hostPort: { from: 10000 + i, to: 10000 + i }, target: { from: 80, to: 80 } }] : [],
    }),
  );
  const d = compose(services);
  const r = computeReachability(d);
  assert.ok(r.edges.length > 2000);
  assert.deepEqual(computeReachability(d), r, "deterministic");
});
