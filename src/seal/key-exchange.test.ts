// The key's way across the network: it opens only for the host that asked, only when the pinned
// service signed it, and only for the volume and version asked for.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { test } from "node:test";
import { ephemeral, KeyExchangeError, openKey, sealKey } from "./key-exchange.ts";

const service = generateKeyPairSync("ed25519");
const impostor = generateKeyPairSync("ed25519");
const volumeKey = randomBytes(32);

test("the host that asked opens the key; nothing in the answer is the key", () => {
  const host = ephemeral();
  const answer = sealKey(volumeKey, "pgdata", 3, host.publicKey, service.privateKey);
  assert.ok(!JSON.stringify(answer).includes(volumeKey.toString("base64")));
  assert.ok(!JSON.stringify(answer).includes(volumeKey.toString("hex")));
  assert.deepEqual(openKey(answer, host, service.publicKey, { volume: "pgdata", version: 3 }), volumeKey);
});

test("another host, another signer, another volume or version, or an altered byte: refused", () => {
  const host = ephemeral();
  const answer = sealKey(volumeKey, "pgdata", 3, host.publicKey, service.privateKey);
  const cases: Array<[string, () => Buffer]> = [
    ["another host's ephemeral key", () => openKey(answer, ephemeral(), service.publicKey, { volume: "pgdata" })],
    [
      "an impostor service",
      () =>
        openKey(sealKey(volumeKey, "pgdata", 3, host.publicKey, impostor.privateKey), host, service.publicKey, {
          volume: "pgdata",
        }),
    ],
    ["another volume", () => openKey(answer, host, service.publicKey, { volume: "redis" })],
    ["another version", () => openKey(answer, host, service.publicKey, { volume: "pgdata", version: 2 })],
    [
      "a relabelled volume",
      () => openKey({ ...answer, volume: "redis" }, host, service.publicKey, { volume: "redis" }),
    ],
    [
      "an altered ciphertext",
      () => {
        const c = Buffer.from(answer.ciphertext, "base64");
        c[0]! ^= 1;
        return openKey({ ...answer, ciphertext: c.toString("base64") }, host, service.publicKey, { volume: "pgdata" });
      },
    ],
  ];
  for (const [what, attempt] of cases) assert.throws(attempt, KeyExchangeError, what);
});
