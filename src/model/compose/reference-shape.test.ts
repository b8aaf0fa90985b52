import assert from "node:assert/strict";
import { test } from "node:test";
import { composeFromText } from "./read.ts";
import { diffShapes, shapeFromComposeConfig, shapeFromCorral } from "./reference-shape.ts";

const text = [
  "services:",
  "  web:",
  "    image: x",
  "    profiles: [ui, debug]",
  "    networks:",
  "      front: { aliases: [www, app] }",
  "    ports:",
  '      - "127.0.0.1:8080:80"',
  '      - "9000-9001:9000-9001/udp"',
  '      - "8000-8010:3000"',
  '      - "5000"',
  "    volumes:",
  "      - ./site:/srv:ro",
  "      - data:/data",
  "    tmpfs: /run",
  "    environment: [A=1, B]",
  "  sidecar:",
  "    image: y",
  "    network_mode: service:web",
  "  legacy:",
  "    image: z",
  "    network_mode: bridge",
  "networks:",
  "  front: { internal: true }",
  "volumes:",
  "  data: {}",
].join("\n");

// What `docker compose config --format json` prints for the same file (trimmed to what is compared).
const config = {
  name: "project",
  services: {
    web: {
      profiles: ["ui", "debug"],
      networks: { front: { aliases: ["www", "app"] } },
      ports: [
        { mode: "ingress", host_ip: "127.0.0.1", target: 80, published: "8080", protocol: "tcp" },
        { mode: "ingress", target: 9000, published: "9000", protocol: "udp" },
        { mode: "ingress", target: 9001, published: "9001", protocol: "udp" },
        { mode: "ingress", target: 3000, published: "8000-8010", protocol: "tcp" },
        { mode: "ingress", target: 5000, protocol: "tcp" },
      ],
      volumes: [
        { type: "bind", source: "/project/site", target: "/srv", read_only: true, bind: { create_host_path: true } },
        { type: "volume", source: "data", target: "/data", volume: {} },
      ],
      tmpfs: ["/run"],
      environment: { A: "1", B: null },
    },
    sidecar: { network_mode: "service:web" },
    legacy: { network_mode: "bridge" },
  },
  networks: { front: { name: "project_front", internal: true, ipam: {} } },
};

test("a file read by Corral and the same file resolved by compose give one shape", () => {
  const corral = shapeFromCorral(composeFromText(text, { profiles: ["*"] }));
  const reference = shapeFromComposeConfig(config);
  assert.deepEqual(diffShapes(corral, reference), []);
  assert.deepEqual(corral.services.web?.ports.length, 5);
  assert.deepEqual(corral.services.web?.networks, { front: ["app", "www"] });
  assert.equal(corral.services.legacy?.networkMode, "bridge");
  assert.deepEqual(corral.services.legacy?.networks, {});
  // the engine's own bridge network is not a project network
  assert.deepEqual(Object.keys(corral.networks), ["front"]);
});

test("differences are listed by path, both values shown", () => {
  const reference = shapeFromComposeConfig({
    ...config,
    services: { ...config.services, web: { ...config.services.web, environment: { A: "2", B: null, C: "3" } } },
  });
  assert.deepEqual(diffShapes(shapeFromCorral(composeFromText(text, { profiles: ["*"] })), reference), [
    'services.web.environment.A: corral "1" ≠ compose "2"',
    'services.web.environment.C: missing in corral, compose has "3"',
  ]);
  assert.deepEqual(diffShapes({ a: [1, 2] }, { a: [2, 1] }), ["a: corral [1,2] ≠ compose [2,1]"]);
  assert.deepEqual(diffShapes({ x: 1 }, {}), ["x: corral has 1, missing in compose"]);
});

test("malformed compose output is a clear error, not a silent empty shape", () => {
  assert.throws(() => shapeFromComposeConfig({ services: [] }), /compose config: services is not an object/);
  assert.throws(
    () => shapeFromComposeConfig({ services: { a: { ports: "80" } } }),
    /compose config: a\.ports is not a list/,
  );
});
