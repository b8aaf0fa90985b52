// A TLS origin with a CA of its own, made by openssl (not by the gate's certificate code, so a
// mistake there cannot hide in both sides), and an HTTPS client that goes through the gate's
// CONNECT the way an SDK does. Loopback only.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";

export interface OriginPki {
  caFile: string;
  ca: string;
  key: string;
  cert: string;
}

/** A CA and a server certificate for `names`, in `dir`. */
export function makeOriginPki(dir: string, names: readonly string[]): OriginPki {
  const f = (n: string) => join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      f("origin-ca.key"),
      "-out",
      f("origin-ca.crt"),
      "-subj",
      "/CN=Test origin CA",
      "-days",
      "2",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    ],
    { stdio: "pipe" },
  );
  execFileSync(
    "openssl",
    ["req", ...ec, "-keyout", f("origin.key"), "-out", f("origin.csr"), "-subj", `/CN=${names[0]}`],
    {
      stdio: "pipe",
    },
  );
  writeFileSync(
    f("origin.ext"),
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\n`,
  );
  execFileSync(
    "openssl",
    [
      "x509",
      "-req",
      "-in",
      f("origin.csr"),
      "-CA",
      f("origin-ca.crt"),
      "-CAkey",
      f("origin-ca.key"),
      "-CAcreateserial",
      "-out",
      f("origin.crt"),
      "-days",
      "2",
      "-extfile",
      f("origin.ext"),
    ],
    { stdio: "pipe" },
  );
  return {
    caFile: f("origin-ca.crt"),
    ca: readFileSync(f("origin-ca.crt"), "utf8"),
    key: readFileSync(f("origin.key"), "utf8"),
    cert: readFileSync(f("origin.crt"), "utf8"),
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  protocol: string | null;
}

export interface TlsOrigin {
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** An HTTPS server that answers each request with what it received (JSON). */
export async function startTlsOrigin(
  host: string,
  pki: OriginPki,
  opts: { maxVersion?: tls.SecureVersion } = {},
): Promise<TlsOrigin> {
  const requests: SeenRequest[] = [];
  const server = https.createServer({ key: pki.key, cert: pki.cert, ...opts }, (req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        protocol: (req.socket as tls.TLSSocket).getProtocol(),
      };
      requests.push(seen);
      const text = JSON.stringify({ ok: true, url: seen.url });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface ViaProxy {
  proxyPort: number;
  host: string;
  port: number;
  /** the CA the client trusts for the destination (the gate's, for a terminated one) */
  ca: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** sent as is after the head, with no Content-Length added (chunked bodies) */
  rawBody?: string;
  localAddress?: string;
  maxVersion?: tls.SecureVersion;
}

export interface ViaProxyResult {
  /** the CONNECT's status */
  connect: number | undefined;
  /** the request's status inside the tunnel */
  status: number | undefined;
  text: string;
  /** why the TLS handshake failed, if it did */
  tlsError?: string;
}

/** CONNECT through the proxy, TLS to the destination over it, one request, its response. */
export function httpsViaProxy(o: ViaProxy): Promise<ViaProxyResult> {
  return new Promise((resolve) => {
    const raw = net.connect({ host: "127.0.0.1", port: o.proxyPort, localAddress: o.localAddress });
    let head = "";
    let settled = false;
    const timer = setTimeout(() => done({ connect: undefined, status: undefined, text: "timeout" }), 10_000);
    const done = (r: ViaProxyResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      resolve(r);
    };
    raw.on("error", () => done({ connect: undefined, status: undefined, text: "proxy connection failed" }));
    raw.once("connect", () => raw.write(`CONNECT ${o.host}:${o.port} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\n\r\n`));
    const onHead = (d: Buffer) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      raw.off("data", onHead);
      const connect = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      if (connect !== 200) return done({ connect, status: undefined, text: head });
      const s = tls.connect({
        socket: raw,
        servername: o.host,
        ca: o.ca,
        ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
        ALPNProtocols: ["http/1.1"],
      });
      let text = "";
      s.on("error", (err) =>
        done({
          connect,
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]) || undefined,
          text,
          tlsError: err.message,
        }),
      );
      s.on("data", (c: Buffer) => {
        text += c.toString("utf8");
      });
      s.on("close", () => done({ connect, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]) || undefined, text }));
      s.once("secureConnect", () => {
        const body = o.body ?? "";
        const headers = {
          Host: o.port === 443 ? o.host : `${o.host}:${o.port}`,
          Connection: "close",
          ...(body && o.rawBody === undefined ? { "Content-Length": String(Buffer.byteLength(body)) } : {}),
          ...o.headers,
        };
        const lines = Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("");
        s.write(`${o.method ?? "GET"} ${o.path ?? "/"} HTTP/1.1\r\n${lines}\r\n${o.rawBody ?? body}`);
      });
    };
    raw.on("data", onHead);
  });
}
