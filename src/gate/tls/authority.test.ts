// The gate's CA and leaves against real TLS on loopback: a client that trusts only the CA
// verifies the leaf for the name it asked for, and refuses it for any other name.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import tls from "node:tls";
import { promisify } from "node:util";
import { CA_BUNDLE_FILE, CA_CERT_FILE, loadAuthority, publishAuthority } from "./authority.ts";
import { LeafCertificates } from "./leaves.ts";
import { SERVER_TLS } from "./tls-settings.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-ca-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the CA is made once (key 0600) and loaded after; a key readable by others is refused", () => {
  const first = loadAuthority(join(dir, "state"));
  assert.equal(first.created, true);
  assert.equal(statSync(join(dir, "state", "ca.key")).mode & 0o777, 0o600);
  const again = loadAuthority(join(dir, "state"));
  assert.equal(again.created, false);
  assert.equal(again.cert, first.cert);
  chmodSync(join(dir, "state", "ca.key"), 0o644);
  assert.throws(() => loadAuthority(join(dir, "state")), /readable by others/);
  chmodSync(join(dir, "state", "ca.key"), 0o600);
  publishAuthority(first, join(dir, "public"));
  assert.equal(readFileSync(join(dir, "public", CA_CERT_FILE), "utf8"), first.cert);
  const bundle = readFileSync(join(dir, "public", CA_BUNDLE_FILE), "utf8");
  assert.ok(bundle.endsWith(first.cert) && bundle.split("BEGIN CERTIFICATE").length > 100);
});

async function handshake(servername: string, ca: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = tls.connect({ host: "127.0.0.1", port, servername, ca }, () => {
      resolve(`ok ${c.getProtocol()}`);
      c.destroy();
    });
    c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test("leaves verify against the CA for their own name only, over TLS 1.2 and 1.3", async () => {
  const ca = loadAuthority(undefined);
  const leaves = new LeafCertificates(ca);
  const server = tls.createServer(
    { ...SERVER_TLS, SNICallback: (name, cb) => cb(null, leaves.contextFor(name)) },
    (s) => s.end(),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    assert.equal(await handshake("api.example.com", ca.cert, port), "ok TLSv1.3");
    assert.equal(leaves.contextFor("api.example.com"), leaves.contextFor("api.example.com"));
    const other = loadAuthority(undefined);
    assert.match(
      await handshake("api.example.com", other.cert, port),
      /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/,
    );
    const c = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername: "api.example.com", ca: ca.cert }, () => {
        resolve(String(tls.checkServerIdentity("evil.example.com", s.getPeerCertificate())));
        s.destroy();
      });
      s.on("error", (e) => resolve(e.message));
    });
    assert.match(c, /Hostname\/IP does not match|evil/);
    const tls12 = await new Promise<string>((resolve) => {
      const c = tls.connect(
        { host: "127.0.0.1", port, servername: "b.example.com", ca: ca.cert, maxVersion: "TLSv1.2" },
        () => {
          resolve(`${c.getProtocol()} ${c.getCipher().name}`);
          c.destroy();
        },
      );
      c.on("error", (e) => resolve(e.message));
    });
    assert.match(tls12, /^TLSv1\.2 ECDHE-ECDSA-(AES\d+-GCM|CHACHA20)/);
    // A client asking for a CBC suite only gets no handshake at all.
    const weak = await new Promise<string>((resolve) => {
      const c = tls.connect(
        {
          host: "127.0.0.1",
          port,
          servername: "b.example.com",
          ca: ca.cert,
          maxVersion: "TLSv1.2",
          ciphers: "ECDHE-ECDSA-AES128-SHA",
        },
        () => resolve("handshake"),
      );
      c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    assert.notEqual(weak, "handshake");
  } finally {
    server.close();
  }
});

test("gate workers starting together agree on one CA", async () => {
  const shared = join(dir, "race");
  const script = `import { loadAuthority } from ${JSON.stringify(new URL("./authority.ts", import.meta.url).href)};
const ca = loadAuthority(${JSON.stringify(shared)});
process.stdout.write(JSON.stringify({ cert: ca.cert, created: ca.created }));`;
  const runs = await Promise.all(
    Array.from({ length: 4 }, () => promisify(execFile)(process.execPath, ["--input-type=module", "-e", script])),
  );
  const seen = runs.map((r) => JSON.parse(r.stdout) as { cert: string; created: boolean });
  assert.equal(new Set(seen.map((x) => x.cert)).size, 1, "one certificate for all");
  assert.equal(seen.filter((x) => x.created).length, 1, "made by exactly one of them");
  assert.equal(readFileSync(join(shared, CA_CERT_FILE), "utf8"), seen[0]!.cert);
});
