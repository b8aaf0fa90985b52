// Retention: pruned segments give way to a signed summary and verification goes on from it,
// anchoring included; removing or editing the summary, or a pruned segment put back altered, is
// TAMPERED; pruning refuses a log that does not verify and never drops what no witness holds.
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  type LoopbackWitness,
  loopbackWitness,
  newCase,
  verifyWith,
  writeRecords,
} from "../testing/anchor-scenarios.ts";
import { runCli } from "../testing/cli.ts";
import { loadPublicKey } from "./keys.ts";

let lw: LoopbackWitness;
before(async () => {
  lw = await loopbackWitness("corral-prune-");
});
after(() => lw.close());
const target = () => lw.target();
const serve = (name: string) => lw.serve(name, `p.example/${name}`);

const prune = (c: { dir: string; key: string }, ...args: string[]) =>
  runCli(["audit", "prune", "--dir", c.dir, "--key", c.key, ...args]);
const verify = (c: { dir: string; pub: string }) =>
  runCli(["audit", "verify", "--dir", c.dir, "--key", c.pub, "--format", "json"]).then((r) => ({
    code: r.code,
    json: JSON.parse(r.out),
  }));

test("pruned segments give way to a signed summary; verify, writing and witnessing go on", async () => {
  const c = serve("keep");
  const origin = ["--origin", "p.example/keep"];
  await writeRecords(c, target(), 100, { origin: "p.example/keep", segmentRecords: 20, every: 20 });
  const r = await prune(c, "--keep-segments", "2");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /pruned 3 segments \(records 1\.\.60\)/);
  for (const n of [1, 2, 3]) assert.ok(!existsSync(join(c.dir, `segment-00000${n}.jsonl`)));
  const v = await verify(c);
  assert.equal(v.code, 0, JSON.stringify(v.json));
  assert.equal(v.json.prunedBefore, 61);
  assert.match(v.json.notes.join(" "), /records 1\.\.60 \(3 segments\) were pruned/);
  // The tree goes on from the summary's frontier: the witness accepts the next checkpoints.
  const report = await writeRecords(c, target(), 30, { origin: "p.example/keep", segmentRecords: 20, every: 20 });
  assert.equal(report?.targets[0]?.anchoredSize, 131, JSON.stringify(report));
  const anchored = await verifyWith(c, target(), origin);
  assert.equal(anchored.code, 0, JSON.stringify(anchored.json));
  assert.equal(anchored.json.anchors?.anchoredSize, anchored.json.lastSeq);
  // A second prune extends the summary.
  assert.equal((await prune(c, "--keep-segments", "1")).code, 0);
  assert.equal((await verify(c)).code, 0);
});

test("the summary removed or edited, or a pruned segment put back altered: TAMPERED", async () => {
  const c = serve("tamper");
  await writeRecords(c, target(), 60, { origin: "p.example/tamper", segmentRecords: 20, every: 20 });
  const saved = readFileSync(join(c.dir, "segment-000001.jsonl"));
  assert.equal((await prune(c, "--keep-segments", "2")).code, 0);
  const summary = join(c.dir, "summary.json");
  const good = readFileSync(summary);
  // An interrupted prune: the segment is still there, byte for byte.
  writeFileSync(join(c.dir, "segment-000001.jsonl"), saved);
  const interrupted = await verify(c);
  assert.equal(interrupted.code, 0, JSON.stringify(interrupted.json));
  appendFileSync(join(c.dir, "segment-000001.jsonl"), "x");
  assert.equal((await verify(c)).code, 1, "a pruned segment put back altered");
  rmSync(join(c.dir, "segment-000001.jsonl"));
  writeFileSync(summary, good.toString().replace('"first_seq":21', '"first_seq":22'));
  const edited = await verify(c);
  assert.equal(edited.code, 1);
  assert.match(edited.json.problem.message, /summary\.json/);
  rmSync(summary);
  const removed = await verify(c);
  assert.equal(removed.code, 1);
  assert.match(removed.json.problem.message, /segment-000001\.jsonl is missing/);
});

test("a log that does not verify is not pruned; nothing past what the witness holds is dropped", async () => {
  const c = serve("floor");
  await writeRecords(c, target(), 50, { origin: "p.example/floor", segmentRecords: 20, every: 10 });
  await writeRecords(c, { url: "http://127.0.0.1:9", pub: target().pub }, 50, {
    origin: "p.example/floor",
    segmentRecords: 20,
    every: 10,
  });
  const w = ["--witness", `${lw.witness.url}=${target().pub}`, "--origin", "p.example/floor"];
  const r = await prune(c, "--keep-segments", "1", ...w);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /records 1\.\.40\)/, "segments wholly within the witness's 50 records only");
  const seg = join(c.dir, "segment-000004.jsonl");
  writeFileSync(seg, readFileSync(seg, "utf8").replace('"decision":"allow"', '"decision":"deny"'));
  const refused = await prune(c, "--keep-segments", "1", "--force");
  assert.equal(refused.code, 2);
  assert.match(refused.err, /refusing to prune .*record altered/);
});

test("audit.retention: the writer prunes at rotation, and not past what its witnesses acknowledged", async () => {
  const { openAuditSink } = await import("./open.ts");
  const { listSegments } = await import("./segments.ts");
  const write = async (c: { dir: string; key: string }, witnessUrl: string | undefined, n: number) => {
    const sink = await openAuditSink({
      dir: c.dir,
      keyPath: c.key,
      fsync: "none",
      checkpointEvery: 5,
      maxSegmentRecords: 10,
      origin: "p.example/online",
      retention: { keepSegments: 2 },
      ...(witnessUrl ? { witnesses: [{ url: witnessUrl, key: target().pub }] } : {}),
    });
    for (let i = 0; i < n; i++) await sink.record("gate.decision", "agents/a", { decision: "allow", i });
    await sink.close();
  };
  const plain = newCase(lw.root, "online-plain");
  await write(plain, undefined, 60);
  assert.ok(
    listSegments(plain.dir).length <= 3,
    listSegments(plain.dir)
      .map((s) => s.name)
      .join(","),
  );
  const v = await verify(plain);
  assert.equal(v.code, 0, JSON.stringify(v.json));
  assert.ok(v.json.prunedBefore > 40, `pruned up to ${v.json.prunedBefore}`);

  const held = serve("online");
  await write(held, "http://127.0.0.1:9", 60);
  assert.equal(listSegments(held.dir)[0]?.index, 1, "an unreachable witness holds retention back");
  assert.equal((await verify(held)).code, 0);
});

test("every byte of summary.json, nudged by one either way, is TAMPERED", async () => {
  const c = serve("summary-bytes");
  await writeRecords(c, target(), 40, { origin: "p.example/summary-bytes", segmentRecords: 10, every: 10 });
  assert.equal((await prune(c, "--keep-segments", "2")).code, 0);
  const { verifyLogDir } = await import("./verify.ts");
  const path = join(c.dir, "summary.json");
  const good = readFileSync(path);
  const pub = loadPublicKey(c.pub);
  assert.equal(verifyLogDir(c.dir, pub).status, "valid");
  for (let off = 0; off < good.length; off++)
    for (const delta of [1, 255]) {
      const b = Buffer.from(good);
      b[off] = (b[off]! + delta) % 256;
      writeFileSync(path, b);
      assert.equal(verifyLogDir(c.dir, pub).status, "tampered", `byte ${off} + ${delta}`);
    }
  writeFileSync(path, good);
});
