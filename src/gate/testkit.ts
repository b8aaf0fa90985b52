// Real servers on loopback for the gate's integration tests: a scriptable DNS upstream, HTTP
// and TCP origins on 127.0.0.x, a gate started from policy text, and a raw-socket client.
// Everything here listens on 127.0.0.0/8 only.
import dgram from "node:dgram";
import http from "node:http";
import net from "node:net";
import * as dns from "dns-packet";
import { parsePolicy } from "../policy/load.ts";
import { Gate, type GateOptions } from "./gate.ts";
import { createLogger } from "./log.ts";

const ANY_LOOPBACK_PORT = { host: "127.0.0.1", port: 0 };

export type ZoneAnswer =
  | { A?: string[]; AAAA?: string[]; CNAME?: string; TXT?: string[]; ttl?: number }
  | "nxdomain"
  | "servfail"
  | "drop";
export type Zone = (name: string, type: string, count: number) => ZoneAnswer | undefined;

export interface DnsUpstream {
  port: number;
  queries: { name: string; type: string; transport: "udp" | "tcp" }[];
  close(): Promise<void>;
}

function answerFor(
  zone: Zone,
  q: dns.Question,
  counts: Map<string, number>,
  transport: "udp" | "tcp",
): dns.Packet | undefined {
  const key = `${q.name.toLowerCase()}|${q.type}`;
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  const z = zone(q.name.toLowerCase(), q.type, n);
  if (z === "drop") return undefined;
  if (z === undefined || z === "nxdomain")
    return {
      type: "response",
      flags: 3 | dns.RECURSION_AVAILABLE,
      questions: [q],
      answers: [],
      authorities: [
        {
          type: "SOA",
          name: "test",
          ttl: 60,
          data: { mname: "ns.test", rname: "h.test", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 },
        },
      ],
    };
  if (z === "servfail") return { type: "response", flags: 2, questions: [q], answers: [] };
  const ttl = z.ttl ?? 300;
  const answers: dns.Answer[] = [];
  if (z.CNAME) answers.push({ type: "CNAME", name: q.name, ttl, data: z.CNAME });
  const owner = z.CNAME ?? q.name;
  if (q.type === "A") for (const a of z.A ?? []) answers.push({ type: "A", name: owner, ttl, data: a });
  if (q.type === "AAAA") for (const a of z.AAAA ?? []) answers.push({ type: "AAAA", name: owner, ttl, data: a });
  if (q.type === "TXT") for (const t of z.TXT ?? []) answers.push({ type: "TXT", name: owner, ttl, data: t });
  const p: dns.Packet = { type: "response", flags: dns.RECURSION_AVAILABLE, questions: [q], answers };
  // Force TCP retry when the UDP answer would be large (tests TC handling).
  if (transport === "udp" && dns.encode(p).length > 512)
    return { type: "response", flags: dns.TRUNCATED_RESPONSE | dns.RECURSION_AVAILABLE, questions: [q], answers: [] };
  return p;
}

export async function startDnsUpstream(zone: Zone): Promise<DnsUpstream> {
  const counts = new Map<string, number>();
  const queries: DnsUpstream["queries"] = [];
  const socks = new Set<net.Socket>();
  const onTcp = (s: net.Socket) => {
    socks.add(s);
    s.on("close", () => socks.delete(s));
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < buf.readUInt16BE(0) + 2) return;
      try {
        const q = dns.decode(buf.subarray(2, buf.readUInt16BE(0) + 2));
        const question = q.questions?.[0];
        if (!question) return;
        queries.push({ name: question.name, type: question.type, transport: "tcp" });
        const a = answerFor(zone, question, counts, "tcp");
        if (a) s.end(dns.streamEncode({ ...a, id: q.id }));
      } catch {
        s.destroy();
      }
    });
  };
  // UDP and TCP on one port: the kernel picks the UDP port, and that TCP port may be taken.
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket("udp4");
    udp.on("message", (msg, rinfo) => {
      try {
        const q = dns.decode(msg);
        const question = q.questions?.[0];
        if (!question) return;
        queries.push({ name: question.name, type: question.type, transport: "udp" });
        const a = answerFor(zone, question, counts, "udp");
        if (a) udp.send(dns.encode({ ...a, id: q.id }), rinfo.port, rinfo.address);
      } catch {}
    });
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
    const port = udp.address().port;
    const tcp = net.createServer(onTcp);
    const ok = await new Promise<boolean>((r) => {
      tcp.once("error", () => r(false));
      tcp.listen(port, "127.0.0.1", () => r(true));
    });
    if (!ok) {
      udp.close();
      if (attempt < 10) continue;
      throw new Error("no free port pair for the test DNS upstream");
    }
    return {
      port,
      queries,
      close: async () => {
        for (const s of socks) s.destroy();
        await Promise.all([
          new Promise<void>((r) => udp.close(() => r())),
          new Promise<void>((r) => tcp.close(() => r())),
        ]);
      },
    };
  }
}

export interface Origin {
  host: string;
  port: number;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** An HTTP origin answering JSON about each request (and a redirect at /redirect). */
export async function startOrigin(host: string, port = 0): Promise<Origin> {
  const requests: Origin["requests"] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (req.url === "/redirect") {
        res.writeHead(302, { Location: "http://127.0.0.1:1/secret", "Content-Length": "0" });
        return res.end();
      }
      const text = JSON.stringify({
        origin: `${host}:${(server.address() as net.AddressInfo).port}`,
        method: req.method,
        url: req.url,
        body,
      });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A TCP server that echoes, prefixed with its own address (stands in for a TLS origin). */
export async function startEcho(
  host: string,
  port = 0,
): Promise<{ host: string; port: number; accepted: () => number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    socks.add(s);
    s.on("close", () => socks.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface TestGate {
  gate: Gate;
  proxyPort: number;
  dnsPort: number;
  adminPort: number;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startTestGate(policyYaml: string, opts: Partial<GateOptions> = {}): Promise<TestGate> {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const loaded = opts.loaded ?? parsePolicy(policyYaml, opts.policyFile ?? "/tmp/corral-test-policy.yaml");
  const gate = await Gate.start({
    listen: { proxy: ANY_LOOPBACK_PORT, dns: ANY_LOOPBACK_PORT, admin: ANY_LOOPBACK_PORT },
    ...opts,
    loaded,
    logger: opts.logger ?? logger,
  });
  return {
    gate,
    proxyPort: gate.addresses.proxy?.port ?? 0,
    dnsPort: gate.addresses.dns?.port ?? 0,
    adminPort: gate.addresses.admin?.port ?? 0,
    logs,
    close: () => gate.close(),
  };
}

export interface RawResult {
  text: string;
  status: number | undefined;
  closed: boolean;
}

/** Sends raw bytes to the proxy and collects what comes back until close or `waitMs` of quiet. */
export function rawRequest(
  port: number,
  data: string | Buffer | (string | Buffer)[],
  opts: { localAddress?: string; waitMs?: number; gapMs?: number } = {},
): Promise<RawResult> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port, localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : undefined, closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), opts.waitMs ?? 1500);
    };
    sock.on("data", (d) => {
      chunks.push(d);
      arm();
    });
    sock.on("close", () => done(true));
    sock.on("error", () => done(true));
    sock.on("connect", async () => {
      const parts = Array.isArray(data) ? data : [data];
      for (const p of parts) {
        if (sock.destroyed) return;
        sock.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      arm();
    });
  });
}

/**
 * Sends one request and resolves at its status line with the socket still open: once the answer
 * is here the gate has counted the connection, which no sleep can promise.
 */
export function heldRequest(
  port: number,
  data: string,
  opts: { localAddress?: string } = {},
): Promise<{ status: number | undefined; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port, localAddress: opts.localAddress });
    let text = "";
    const done = (status: number | undefined) => {
      sock.removeAllListeners("data");
      resolve({ status, sock });
    };
    sock.on("error", () => done(undefined));
    sock.on("close", () => done(undefined));
    sock.on("data", (d) => {
      text += d.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(text);
      if (m) done(Number(m[1]));
    });
    sock.on("connect", () => sock.write(data));
  });
}

/** A decoded packet with the header fields dns-packet adds when decoding. */
export type Decoded = dns.Packet & { rcode?: string; flag_tc?: boolean };

/** One DNS query over UDP to the gate; resolves to the decoded answer or undefined on timeout. */
export function dnsQuery(
  port: number,
  packet: dns.Packet | Buffer,
  opts: { localAddress?: string; timeoutMs?: number } = {},
): Promise<Decoded | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const done = (p: Decoded | undefined) => {
      clearTimeout(timer);
      s.close();
      resolve(p);
    };
    const timer = setTimeout(() => done(undefined), opts.timeoutMs ?? 1500);
    s.on("message", (m) => {
      try {
        done(dns.decode(m));
      } catch {
        done(undefined);
      }
    });
    s.bind(0, opts.localAddress ?? "127.0.0.1", () => {
      s.send(Buffer.isBuffer(packet) ? packet : dns.encode(packet), port, "127.0.0.1");
    });
  });
}

/** A real ClientHello from node's TLS stack for `servername`, captured on a loopback listener. */
export async function captureClientHello(servername?: string): Promise<Buffer> {
  const tls = await import("node:tls");
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once("connection", (s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf);
          s.destroy();
        }
      });
    });
  });
  const c = tls.connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false });
  c.on("error", () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

/** A port that was free on `host` a moment ago (for servers that need a fixed port). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A client on `localAddress` that sends raw queries and returns the raw answers (by id). */
export async function dnsClient(localAddress = "127.0.0.1") {
  const s = dgram.createSocket("udp4");
  const waiting = new Map<number, (b: Buffer | undefined) => void>();
  s.on("message", (m) => {
    if (m.length < 2) return;
    const id = m.readUInt16BE(0);
    waiting.get(id)?.(m);
    waiting.delete(id);
  });
  await new Promise<void>((r) => s.bind(0, localAddress, () => r()));
  // Answers to a burst arrive faster than this process reads them (capped by net.core.rmem_max).
  try {
    s.setRecvBufferSize(8 * 1024 * 1024);
  } catch {}
  let nextId = 1;
  return {
    /** Sends `raw` (its id replaced) and waits up to `ms` for the answer. */
    ask(port: number, raw: Buffer, ms = 700): Promise<Buffer | undefined> {
      const id = nextId++ & 0xffff;
      const q = Buffer.from(raw);
      if (q.length >= 2) q.writeUInt16BE(id, 0);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, ms);
        waiting.set(id, (b) => {
          clearTimeout(t);
          resolve(b && Buffer.from(b));
        });
        s.send(q, port, "127.0.0.1");
      });
    },
    /**
     * Sends `count` copies, 100 in flight at a time (more would overflow this client's receive
     * buffer, not the gate's); resolves with how many were answered.
     */
    async burst(port: number, raw: Buffer, count: number): Promise<number> {
      let answered = 0;
      for (let sent = 0; sent < count; sent += 100) {
        const n = Math.min(100, count - sent);
        const answers = await Promise.all(Array.from({ length: n }, () => this.ask(port, raw, 3000)));
        answered += answers.filter(Boolean).length;
      }
      return answered;
    },
    close: () => s.close(),
  };
}

/**
 * The answer with every TTL set to 0: the two gates cache the same upstream answer a moment
 * apart, so its age may differ by a second between them; everything else must be identical.
 */
export function withoutTtls(b: Buffer | undefined): Buffer | undefined {
  if (!b) return undefined;
  try {
    const p = dns.decode(b);
    for (const r of [...(p.answers ?? []), ...(p.authorities ?? []), ...(p.additionals ?? [])])
      if (r.type !== "OPT" && "ttl" in r) (r as { ttl?: number }).ttl = 0;
    const again = dns.encode(p);
    return again.length === b.length ? again.subarray(2) : b.subarray(2);
  } catch {
    return b.subarray(2);
  }
}
