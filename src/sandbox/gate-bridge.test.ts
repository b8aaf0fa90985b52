// The host end of the sandbox's network, against real loopback servers (no root needed).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request } from "node:http";
import { connect, createServer as createTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startGateBridge } from "./gate-bridge.ts";

test("plain requests and CONNECT reach the gate with the run's token replacing any other", async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-bridge-"));
  const auths: string[] = [];
  const gate = createServer((req, res) => {
    auths.push(`${req.method} ${req.url} ${req.headers["proxy-authorization"]} ${req.headers["x-corral-run"]}`);
    res.end("via gate");
  });
  gate.on("connect", (req, sock) => {
    auths.push(`CONNECT ${req.url} ${req.headers["proxy-authorization"]} ${req.headers["x-corral-run"]}`);
    sock.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
  });
  await new Promise<void>((r) => gate.listen(0, "127.0.0.1", () => r()));
  const port = (gate.address() as { port: number }).port;
  const sock = join(dir, "gate.sock");
  const bridge = await startGateBridge(sock, { host: "0.0.0.0", port }, "tok", "run-1");
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          socketPath: sock,
          path: "http://example.test/a",
          headers: { "proxy-authorization": "Bearer forged", "x-corral-run": "forged-run" },
        },
        (res) => {
          let b = "";
          res.on("data", (c: Buffer) => {
            b += c.toString();
          });
          res.on("end", () => resolve(b));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(body, "via gate");
    const status = await new Promise<string>((resolve) => {
      const c = connect(sock, () =>
        c.write(
          "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\nProxy-Authorization: Bearer forged\r\n\r\n",
        ),
      );
      c.once("data", (b: Buffer) => {
        resolve(b.toString().split("\r\n")[0] ?? "");
        c.destroy();
      });
    });
    assert.equal(status, "HTTP/1.1 403 Forbidden");
    assert.deepEqual(auths, [
      "GET http://example.test/a Bearer tok run-1",
      "CONNECT example.test:443 Bearer tok run-1",
    ]);
    assert.deepEqual(
      bridge.requests.map((r) => `${r.method} ${r.status}`),
      ["GET 200", "CONNECT 403"],
    );
  } finally {
    await bridge.close();
    gate.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unreachable gate answers 502, never hangs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-bridge-"));
  const probe = createTcp();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const sock = join(dir, "gate.sock");
  const bridge = await startGateBridge(sock, { host: "127.0.0.1", port }, undefined);
  try {
    const status = await new Promise<number>((resolve) => {
      request({ socketPath: sock, path: "http://example.test/" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end();
    });
    assert.equal(status, 502);
  } finally {
    await bridge.close();
    await rm(dir, { recursive: true, force: true });
  }
});
