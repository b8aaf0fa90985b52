// The key service on loopback: a key only with the token, sealed and signed; versions rotate
// and become current only on commit; a volume is created once.
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { KeyServiceClient, KeyServiceError } from "./key-client.ts";
import { type RunningKeyService, startKeyService } from "./key-service.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-keys-"));
let svc: RunningKeyService;
let client: KeyServiceClient;
before(async () => {
  svc = await startKeyService({ listen: { host: "127.0.0.1", port: 0 }, stateDir: dir });
  client = new KeyServiceClient(svc.url, createPublicKey(svc.publicPem), readFileSync(svc.tokenPath, "utf8").trim());
});
after(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

test("create once, fetch by version, rotate and commit", async () => {
  const first = await client.create("pgdata");
  assert.equal(first.version, 1);
  assert.equal(first.key.length, 32);
  await assert.rejects(client.create("pgdata"), /exists/);
  assert.deepEqual((await client.fetch("pgdata")).key, first.key);
  const next = await client.rotate("pgdata", 1);
  assert.equal(next.version, 2);
  assert.deepEqual((await client.fetch("pgdata")).key, first.key, "current until commit");
  await client.commit("pgdata", 2);
  assert.deepEqual((await client.fetch("pgdata")).key, next.key);
  assert.deepEqual((await client.fetch("pgdata", 1)).key, first.key, "older versions stay fetchable");
  for (const f of ["identity.key", "token", "keys.json"]) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
});

test("a wrong token, an unknown volume, a pinned key that is not the service's: refused", async () => {
  const wrongToken = new KeyServiceClient(svc.url, createPublicKey(svc.publicPem), "0".repeat(64));
  await assert.rejects(wrongToken.fetch("pgdata"), (e: Error) => e instanceof KeyServiceError && /401/.test(e.message));
  await assert.rejects(client.fetch("nope"), /404/);
  const { generateKeyPairSync } = await import("node:crypto");
  const otherPin = new KeyServiceClient(
    svc.url,
    generateKeyPairSync("ed25519").publicKey,
    readFileSync(svc.tokenPath, "utf8").trim(),
  );
  await assert.rejects(otherPin.fetch("pgdata"), /not signed by the pinned key service/);
});
