// The observer's bookkeeping over a real file: lines counted once across restarts (the cursor is
// saved with the record), a partial last line waits, a rotated file is read from its start, and
// a damaged record is set aside rather than overwritten. The lines have ulogd2's JSON shape (as
// observe.int.test.ts captures it from the real ulogd2).
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { addressOwner } from "./observed-flows.ts";
import { Observer } from "./observer.ts";

const line = (src: string, dst: string, port: number, sec: number, prefix = "corral-observe ") =>
  `${JSON.stringify({
    timestamp: "2026-12-04T01:51:36.009211",
    "oob.prefix": prefix,
    "oob.time.sec": sec,
    "oob.time.usec": 9211,
    "oob.in": "crl-agents",
    "oob.out": "crl-data",
    "ip.protocol": 6,
    src_port: 40000,
    dest_port: port,
    src_ip: src,
    dest_ip: dst,
  })}\n`;

const owner = addressOwner(
  [
    { service: "worker", address: "10.0.1.5" },
    { service: "db", address: "10.0.2.3" },
  ],
  ["10.0.2.1"],
);

test("each line is counted once across restarts; a partial line waits; rotation starts over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-observer-"));
  try {
    const jsonFile = join(dir, "nflog.json");
    const recordFile = join(dir, "observed-flows.json");
    const make = () => new Observer({ jsonFile, recordFile, owner: async () => owner });
    writeFileSync(jsonFile, line("10.0.1.5", "10.0.2.3", 5432, 1000) + line("10.0.1.5", "10.0.2.3", 5432, 1005));
    const first = await make().tick();
    assert.equal(first.newFlows, 1);
    assert.equal(first.record.flows[0]?.count, 2);
    assert.equal(first.record.flows[0]?.first, new Date(1000_009).toISOString());

    // A restart (a crash after the save) reads on from the saved cursor: nothing counted twice.
    const half = line("10.0.1.5", "10.0.2.3", 5432, 1010);
    appendFileSync(jsonFile, half.slice(0, 20));
    const again = make();
    assert.equal((await again.tick()).record.flows[0]?.count, 2, "a partial line is not read yet");
    appendFileSync(jsonFile, half.slice(20) + line("10.0.1.5", "10.0.2.1", 80, 1011, "corral-drop-host "));
    const t = await again.tick();
    assert.equal(t.record.flows.find((f) => f.to === "db")?.count, 3);
    assert.equal(t.record.flows.find((f) => f.to === "(host)")?.kind, "drop");
    assert.equal((await make().tick()).record.flows.find((f) => f.to === "db")?.count, 3, "after a restart too");

    // Rotated: a new, shorter file is read from its start.
    rmSync(jsonFile);
    writeFileSync(jsonFile, line("10.0.1.5", "10.0.2.3", 5432, 2000) + line("10.9.9.9", "10.0.2.3", 5432, 2000));
    const rotated = await make().tick();
    assert.equal(rotated.record.flows.find((f) => f.to === "db")?.count, 4);
    assert.equal(rotated.record.unmapped, 1, "an address no service has is counted, not guessed");
    assert.equal(rotated.record.flows.find((f) => f.to === "db")?.last, new Date(2000_009).toISOString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the record is bounded: new pairs past the limit are counted as overflow, held evidence stays", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-observer-"));
  try {
    const jsonFile = join(dir, "nflog.json");
    const recordFile = join(dir, "observed-flows.json");
    let text = "";
    for (let port = 1; port <= 50; port++) text += line("10.0.1.5", "10.0.2.3", port, 1000 + port);
    writeFileSync(jsonFile, text);
    const t = await new Observer({ jsonFile, recordFile, owner: async () => owner, maxFlows: 10 }).tick();
    assert.equal(t.record.flows.length, 10);
    assert.equal(t.record.overflow, 40);
    assert.deepEqual(
      t.record.flows.map((f) => f.port),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged record is set aside and named, never overwritten", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-observer-"));
  try {
    const recordFile = join(dir, "observed-flows.json");
    writeFileSync(recordFile, '{"version": 1, "flows": [{"from": 3}]');
    const o = new Observer({ jsonFile: join(dir, "none.json"), recordFile, owner: async () => owner });
    assert.match(o.setAside ?? "", /observed-flows\.json\.damaged-\d+ \(not JSON/);
    assert.equal(existsSync(recordFile), false);
    assert.equal(readdirSync(dir).filter((f) => f.includes(".damaged-")).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
