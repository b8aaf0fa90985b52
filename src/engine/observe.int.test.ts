// Observe mode against the real kernel: the compiled ruleset, loaded in a lab of network
// namespaces laid out as Docker would, lets through what an observed zone's members do beyond
// the policy and logs it to NFLOG; ulogd2 writes the lines and the record names the services.
// An enforced zone beside it still refuses (and logs a drop), and observing never opens the way
// out to the world.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip", "nft", "ulogd"] });

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildPlan } from "../compile/plan.ts";
import { Lab, leftovers, newPrefix } from "../lab/lab.ts";
import { buildCells, type Cell, listenPorts, probesFor } from "../lab/matrix.ts";
import { LAB_POOL } from "../lab/topology.ts";
import { labInputs } from "../lab/verify.ts";
import { readDeployment } from "../model/load.ts";
import { parsePolicy } from "../policy/load.ts";
import { eventFromLine, readNewLines, startUlogd } from "./nflog.ts";
import { addressOwner, type ConnectionEvent, emptyRecord, foldEvents } from "./observed-flows.ts";

const COMPOSE = `services:
  web: { image: nginx, expose: ["80"] }
  api: { image: example/api, expose: ["8080"] }
  worker: { image: example/worker }
  db: { image: postgres, expose: ["5432"] }
  cache: { image: redis, expose: ["6379"] }
`;

const POLICY = `version: 1
zones:
  web: { services: [web] }
  agents: { services: [api, worker], isolate: per-service, mode: observe }
  data: { services: [db, cache], isolate: per-service }
flows:
  - { from: web, to: api, ports: [8080/tcp] }
  - { from: api, to: db, ports: [5432/tcp] }
`;

const find = (cells: Cell[], from: string, to: string, port: number, protocol = "tcp") =>
  cells.find((c) => c.from === from && c.to === to && c.port === port && c.protocol === protocol);

test("observe mode: what the policy would deny from or to an observed zone passes and is recorded by service; enforced zones still refuse", {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-observe-"));
  const prefix = newPrefix();
  let lab: Lab | undefined;
  let ulogd: Awaited<ReturnType<typeof startUlogd>> | undefined;
  try {
    await writeFile(join(dir, "docker-compose.yml"), COMPOSE);
    const d = readDeployment([join(dir, "docker-compose.yml")], { env: {} });
    const { policy } = parsePolicy(POLICY, join(dir, "corral.yaml"));
    const plan = buildPlan(policy, d, { pool: LAB_POOL, forcePool: true });
    assert.deepEqual(plan.observed, ["api", "worker"]);

    const { topology, nft } = labInputs(policy, d, false);
    assert.ok(nft);
    const cells = buildCells(policy, d, topology, undefined);
    assert.equal(find(cells, "worker", "db", 5432)?.rule, "observe", "undeclared, but worker is observed");
    assert.equal(find(cells, "db", "api", 8080)?.rule, "observe", "to an observed member too");
    assert.equal(find(cells, "web", "db", 5432)?.expected, false, "web and data are enforced");
    assert.equal(find(cells, "cache", "db", 5432)?.expected, false, "isolated members of an enforced zone");
    assert.equal(find(cells, "worker", "(outside)", 443)?.expected, false, "observing opens no way out");

    lab = await Lab.create(topology, prefix);
    await lab.loadNft(nft);
    ulogd = await startUlogd({ group: 1, dir, netns: lab.hostNs });
    await lab.listen(listenPorts(cells));
    const { probes, cellOf } = probesFor(cells, topology);
    const results = await lab.probe(probes);
    for (const [id, open] of results) {
      const c = cells[cellOf.get(id) ?? -1];
      if (c) c.observed = (c.observed ?? false) || open;
    }
    const wrong = cells
      .filter((c) => c.expected !== (c.observed ?? false))
      .map((c) => `${c.from}→${c.to} ${c.port}/${c.protocol} expected ${c.expected}`);
    assert.deepEqual(wrong, [], "every cell as the policy with observe mode says");

    // ulogd2 writes with sync=1; give the last lines a moment. One line per new connection the
    // policy does not declare: every probe of a cell that is closed or open only by observing.
    const eventsWanted =
      cells.filter((c) => (c.to !== "(outside)" && c.rule === undefined) || c.rule === "observe").length / 4;
    let events: ConnectionEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const { lines } = readNewLines(ulogd.jsonFile, undefined);
      events = lines.map(eventFromLine).filter((e): e is ConnectionEvent => e !== undefined);
      if (events.length >= eventsWanted) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const owner = addressOwner(
      plan.attachments,
      plan.networks.map((n) => n.gateway),
    );
    const record = foldEvents(emptyRecord(), events, owner);
    const flow = (from: string, to: string, port: number, kind: "observe" | "drop", protocol = "tcp") =>
      record.flows.find(
        (f) => f.from === from && f.to === to && f.port === port && f.kind === kind && f.protocol === protocol,
      );
    const hidden = flow("worker", "db", 5432, "observe");
    assert.ok(hidden, `the hidden call is recorded: ${JSON.stringify(record.flows.slice(0, 5))}`);
    assert.ok(hidden.count >= 1);
    assert.ok(hidden.first <= hidden.last);
    assert.equal(owner(hidden.example.src), "worker", "the example names a real connection");
    assert.ok(flow("db", "api", 8080, "observe"), "a connection to an observed member is recorded");
    assert.ok(flow("cache", "db", 5432, "drop"), "an enforced refusal on a shared network is recorded as a drop");
    assert.ok(flow("web", "(host)", 80, "drop"), "so is one to the Docker host");
    assert.ok(flow("worker", "(host)", 80, "observe"), "an observed member reaching the host passes and is recorded");
    assert.equal(flow("web", "api", 8080, "observe"), undefined, "declared flows are not logged");
    assert.equal(flow("api", "db", 5432, "observe"), undefined, "declared flows are not logged");
  } finally {
    await ulogd?.stop();
    await lab?.destroy();
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(leftovers(prefix), [], "every namespace of the run is gone");
  }
});
