// The real SuperAGI compose file, read by the compose reader: one flat network.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture, sharedSkip } from "../testing/shared.ts";
import { readCompose } from "./compose/index.ts";
import { computeReachability } from "./reachability.ts";

test("SuperAGI fixture: celery reaches super__postgres on every port via super_network", { skip: sharedSkip() }, () => {
  const d = readCompose([fixture("compose", "superagi", "docker-compose.yaml")], { env: {} });
  const r = computeReachability(d);
  assert.deepEqual(
    r.edges.find((e) => e.from === "celery" && e.to === "super__postgres"),
    { from: "celery", to: "super__postgres", ports: "all", reasons: [{ kind: "network", network: "super_network" }] },
  );
  // One flat network: everyone reaches everyone.
  const n = d.services.length;
  assert.equal(r.edges.length, n * (n - 1));
  assert.deepEqual(
    r.exposures.map((e) => [e.service, e.kind, e.hostIp, e.port, e.allInterfaces]),
    [["proxy", "published", "0.0.0.0", 3000, true]],
  );
  assert.ok(r.egress.every((e) => e.internet && e.reason === "network super_network is not internal"));
});
