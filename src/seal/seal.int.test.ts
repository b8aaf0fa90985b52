// Sealed volumes for real: gocryptfs over FUSE, the key service in another network namespace,
// the CLI in this one. A secret written through the plaintext view is nowhere in the cipher
// directory; it survives lock, unlock and rekey; with the key service down the volume stays
// locked and its mountpoint absent (fail closed); a wrong key is refused and changes nothing.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip", "nsenter", "gocryptfs", "fusermount3"] });

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type NetnsPair, netnsPair } from "../testing/netns-pair.ts";
import { waitFor } from "../testing/wait.ts";
import { isMounted } from "./gocryptfs.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "corral-seal-int-"));
const sealDir = join(root, "sealed");
const keysDir = join(root, "keys-state");
const SECRET = `corral-sealed-secret-${process.pid}`;
let hosts: NetnsPair;
let service: ChildProcess | undefined;
let serviceOut = "";

const seal = (...args: string[]) => hosts.node(0, [MAIN, "seal", ...args, "-p", join(root, "corral.yaml")]);

async function startService(): Promise<void> {
  serviceOut = "";
  service = spawn(
    "nsenter",
    [
      `--net=/run/netns/${hosts.names[1]}`,
      process.execPath,
      MAIN,
      "keys",
      "serve",
      "--listen",
      `${hosts.addresses[1]}:7390`,
      "--state",
      keysDir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  service.stdout!.on("data", (d) => {
    serviceOut += d;
  });
  service.stderr!.on("data", (d) => {
    serviceOut += d;
  });
  await waitFor(`the key service: ${serviceOut}`, () => serviceOut.includes("listening"), { timeoutMs: 15_000 });
}

function stopService(): Promise<void> {
  const s = service;
  service = undefined;
  if (!s || s.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    s.once("exit", () => r());
    s.kill("SIGTERM");
  });
}

/** Every file under dir, as raw bytes: what an attacker with the host's disk reads. */
function rawBytes(dir: string): Buffer {
  const out: Buffer[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(Buffer.from(e.name), readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(out);
}

const hashOf = (dir: string) => createHash("sha256").update(rawBytes(dir)).digest("hex");

before(async () => {
  if (skip) return;
  hosts = netnsPair("sl", 63);
  await startService();
  writeFileSync(
    join(root, "corral.yaml"),
    `version: 1
audit: { path: ./audit }
seal:
  dir: ./sealed
  key_service: { url: "http://${hosts.addresses[1]}:7390", key: ./keys-state/identity.pub, token: ./keys-state/token }
  volumes:
    pgdata: {}
    cache: { key_file: ./cache.key }
`,
  );
});

after(async () => {
  for (const v of ["pgdata", "cache"]) {
    const plain = join(sealDir, v, "plain");
    if (existsSync(plain) && isMounted(plain))
      try {
        execFileSync("fusermount3", ["-u", plain]);
      } catch {}
  }
  await stopService();
  hosts?.close();
  rmSync(root, { recursive: true, force: true });
});

test("a secret in a sealed volume is only ciphertext on disk, and survives lock, unlock and rekey", {
  skip,
}, async () => {
  const plain = join(sealDir, "pgdata", "plain");
  const cipher = join(sealDir, "pgdata", "cipher");
  assert.equal(seal("init", "pgdata").code, 0);
  assert.ok(!existsSync(plain), "no plaintext directory before unlock");
  const unlocked = seal("unlock", "pgdata");
  assert.equal(unlocked.code, 0, unlocked.out);
  assert.ok(isMounted(plain));
  writeFileSync(join(plain, "PG_VERSION"), `${SECRET}\n`);
  writeFileSync(join(plain, `table-${SECRET}`), SECRET.repeat(100));
  assert.equal(seal("lock", "pgdata").code, 0);
  assert.ok(!existsSync(plain), "the mountpoint is gone while locked: a container cannot start on it");
  assert.ok(!rawBytes(cipher).includes(SECRET), "not in any name or byte under the cipher directory");
  assert.ok(
    !rawBytes(root).includes(
      Buffer.from(readFileSync(join(keysDir, "keys.json"), "utf8").match(/"1": "([^"]+)"/)![1]!, "base64").toString(
        "hex",
      ),
    ),
    "the key is nowhere on the host's side",
  );
  assert.equal(seal("unlock", "pgdata").code, 0);
  assert.equal(readFileSync(join(plain, "PG_VERSION"), "utf8"), `${SECRET}\n`);
  const rekeyed = seal("rekey", "pgdata");
  assert.equal(rekeyed.code, 0, rekeyed.out);
  assert.match(rekeyed.out, /version 2/);
  assert.equal(seal("lock", "pgdata").code, 0);
  assert.equal(seal("unlock", "pgdata").code, 0, "the new version opens it");
  assert.equal(readFileSync(join(plain, `table-${SECRET}`), "utf8"), SECRET.repeat(100));
  const status = seal("status", "--format", "json");
  assert.equal(JSON.parse(status.out).find((s: { name: string }) => s.name === "pgdata").version, 2);
  assert.equal(seal("lock", "pgdata").code, 0);
});

test("with the key service down the volume stays locked and says why", { skip }, async () => {
  await stopService();
  try {
    const r = seal("unlock", "pgdata");
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /key service .* unreachable/);
    assert.ok(!existsSync(join(sealDir, "pgdata", "plain")), "no plaintext mountpoint: fail closed");
  } finally {
    await startService();
  }
});

test("a wrong key is refused without touching the data; a local key file is reported as weaker", { skip }, () => {
  const cipher = join(sealDir, "cache", "cipher");
  assert.equal(seal("init", "cache").code, 0);
  assert.equal(statSync(join(root, "cache.key")).mode & 0o777, 0o600);
  assert.equal(seal("unlock", "cache").code, 0);
  writeFileSync(join(sealDir, "cache", "plain", "dump.rdb"), SECRET);
  assert.equal(seal("lock", "cache").code, 0);
  const before = hashOf(cipher);
  writeFileSync(join(root, "cache.key"), `${"ab".repeat(32)}\n`, { mode: 0o600 });
  const r = seal("unlock", "cache");
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /does not open/);
  assert.equal(hashOf(cipher), before, "the cipher directory is byte for byte what it was");
  assert.ok(!existsSync(join(sealDir, "cache", "plain")));
  assert.match(seal("status", "cache").out, /WEAKER: the key is on this host/);
});

test("unlock, lock and rekey are audit records", { skip }, () => {
  const lines = readdirSync(join(root, "audit"))
    .filter((f) => f.startsWith("segment-"))
    .flatMap((f) =>
      readFileSync(join(root, "audit", f), "utf8")
        .split("\n")
        .filter(Boolean),
    )
    .map((l) => JSON.parse(l) as { kind: string; data: { action: string; volume: string; ok: boolean } })
    .filter((r) => r.kind === "seal");
  const seen = lines.map((r) => `${r.data.action} ${r.data.volume} ${r.data.ok}`);
  for (const want of [
    "init pgdata true",
    "unlock pgdata true",
    "rekey pgdata true",
    "lock pgdata true",
    "unlock pgdata false",
    "unlock cache false",
  ])
    assert.ok(seen.includes(want), `${want} in ${seen.join(", ")}`);
});
