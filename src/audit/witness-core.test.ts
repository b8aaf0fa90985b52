// The witness's decision over real signed checkpoints of a real Merkle tree: the first
// checkpoint, a consistent extension, then every way a host could rewrite its past: a truncated
// log, a fork at the same size, a forged proof, a re-signed history, an unknown log.
import assert from "node:assert/strict";
import { randomBytes, verify } from "node:crypto";
import { test } from "node:test";
import { consistencyProof, leafHash, rootHash } from "./merkle.ts";
import { checkpointText, rawPublicKey, signerFromSeed, signNote } from "./signed-note.ts";
import { addCheckpoint, cosignatureKeyHash, type WitnessState } from "./witness-core.ts";

const ORIGIN = "corral.example/audit";
const log = signerFromSeed(ORIGIN, randomBytes(32));
const witness = signerFromSeed("witness.example", randomBytes(32));
const logs = new Map([[ORIGIN, log]]);
const records = (n: number, salt = "") => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`r${i}${salt}`)));

function request(old: number, leaves: Buffer[], proofFrom = old, signer = log): string {
  const text = checkpointText({ origin: ORIGIN, size: leaves.length, root: rootHash(leaves), extra: [] });
  const proof = proofFrom === 0 ? [] : consistencyProof(proofFrom, leaves);
  return [`old ${old}`, ...proof.map((p) => p.toString("base64")), "", signNote(text, signer)].join("\n");
}

test("first checkpoint, then a consistent extension, cosigned as C2SP tlog-cosignature/v1", () => {
  const d = records(20);
  let state: WitnessState = {};
  const first = addCheckpoint(request(0, d.slice(0, 8)), state, logs, witness, 1_800_000_000);
  assert.equal(first.status, 200, first.body);
  state = first.state;
  assert.deepEqual(state[ORIGIN]?.size, 8);
  const second = addCheckpoint(request(8, d), state, logs, witness, 1_800_000_060);
  assert.equal(second.status, 200, second.body);
  // The cosignature: key hash, timestamp, signature over "cosignature/v1\ntime T\n" + checkpoint.
  const blob = Buffer.from(/^— witness\.example (\S+)\n$/.exec(second.body)![1]!, "base64");
  assert.equal(blob.readUInt32BE(0), cosignatureKeyHash("witness.example", rawPublicKey(witness.publicKey)));
  assert.equal(blob.readBigUInt64BE(4), 1_800_000_060n);
  const text = checkpointText({ origin: ORIGIN, size: 20, root: rootHash(d), extra: [] });
  assert.ok(
    verify(null, Buffer.from(`cosignature/v1\ntime 1800000060\n${text}`), witness.publicKey, blob.subarray(12)),
  );
  assert.equal(second.state[ORIGIN]?.size, 20);
});

test("every rewritten past is refused and the witness keeps what it cosigned", () => {
  const d = records(20);
  const state = addCheckpoint(request(0, d), {}, logs, witness, 1).state;
  const cases: Array<[string, string, number]> = [
    ["a truncated log (the newest records and their checkpoints deleted)", request(20, d.slice(0, 12), 0), 400],
    ["a truncated log that claims an older size", request(12, d.slice(0, 12), 0), 409],
    ["a fork at the same size", request(20, records(20, "fork"), 0), 422],
    ["a rewritten past extended further", request(20, [...records(20, "fork"), ...records(5)], 20), 422],
    ["a proof from another size", request(12, [...d, ...records(4, "x")], 12), 409],
    [
      "a history re-signed with a fresh key",
      request(20, [...d, ...records(2, "y")], 20, signerFromSeed(ORIGIN, randomBytes(32))),
      403,
    ],
    [
      "an unknown log",
      request(0, d, 0, signerFromSeed("other.example/log", randomBytes(32))).replace(ORIGIN, "other.example/log"),
      404,
    ],
    ["garbage", "old x\n\n", 400],
  ];
  for (const [what, req, status] of cases) {
    const a = addCheckpoint(req, state, logs, witness, 2);
    assert.equal(a.status, status, `${what}: ${a.body}`);
    assert.deepEqual(a.state, state, `${what}: the state is unchanged`);
  }
  assert.equal(
    addCheckpoint(request(12, d.slice(0, 12), 0), state, logs, witness, 2).body,
    "20",
    "409 names the witness's size",
  );
});
