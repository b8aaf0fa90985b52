// The allowlist resolver: a client learns only names its identity may reach. UDP and TCP;
// every decision goes through decide() and is published; malformed packets get FORMERR or
// silence, never a crash.
import dgram from "node:dgram";
import net from "node:net";
import * as dns from "dns-packet";
import type { GateContext } from "../context.ts";
import type { DecisionEvent } from "../events.ts";
import { resolveCaller } from "../identity.ts";
import { agedAnswers, clientUdpSize, encodeForUdp, filterAnswers, formErr, RCODE, reply } from "./answer.ts";
import { decideName } from "./decide-memo.ts";
import { type FastQuery, parseFastQuery } from "./fastpath.ts";
import type { Resolved } from "./resolver.ts";
import { type BatchStats, BatchUdp, dnsBatchAddon } from "./udp-batch.ts";

const REFUSED_TYPES = new Set(["ANY", "AXFR", "IXFR"]);
const INVALID_NAME = /(^|\.)invalid\.?$/i;
const TCP_IDLE_MS = 10_000;
const TCP_MAX_PENDING = 64;

export interface DnsReply {
  /** the response; absent when only its encoded form exists (memo hit) */
  packet?: dns.Packet;
  /** the encoded response (id already set) */
  wire?: Buffer;
  /** the largest UDP response this client accepts */
  udpSize: number;
  /**
   * Set when the same query bytes from the same client get this same `wire` and the same
   * decision (`event`) until `until` (ctx.now() time), unless the policy, grants or resolver
   * change. A time, not a duration: publishing and sending come between deciding and
   * installing, and must not lengthen it.
   */
  repeat?: { event: DecisionEvent; until: number };
}

/**
 * Encoded responses for cached upstream answers, per resolver: a repeated question for the
 * same cached answer at the same age is answered by copying bytes and setting the id, after
 * the decision for THIS client has been made (decide() always runs).
 */
interface Memo {
  source: dns.Packet;
  index: object;
  age: number;
  wire: Buffer;
  verdict: "allow" | "deny";
  reasonSuffix: string;
  nxdomain: boolean;
  floorReason?: string;
}
const MEMO_MAX = 4096;
const memos = new WeakMap<object, Map<string, Memo>>();

function memoFor(resolver: object): Map<string, Memo> {
  let m = memos.get(resolver);
  if (!m) {
    m = new Map();
    memos.set(resolver, m);
  }
  return m;
}

/** Answers one raw query; undefined means "send nothing". Never throws. */
export async function handleQuery(ctx: GateContext, raw: Buffer, sourceIp: string): Promise<dns.Packet | undefined> {
  const a = await answerQuery(ctx, raw, sourceIp);
  return a?.packet ?? (a?.wire ? dns.decode(a.wire) : undefined);
}

/** Synchronous when the answer is cached (the common case), a promise when it goes upstream. */
export function answerQuery(
  ctx: GateContext,
  raw: Buffer,
  sourceIp: string,
): DnsReply | undefined | Promise<DnsReply | undefined> {
  const learning = ctx.identify && isUnknown(ctx, sourceIp) ? ctx.identify(sourceIp) : undefined;
  // A replica that started a moment ago: learn its address before deciding.
  if (learning) return learning.then(() => answerKnown(ctx, raw, sourceIp));
  return answerKnown(ctx, raw, sourceIp);
}

function isUnknown(ctx: GateContext, sourceIp: string): boolean {
  return resolveCaller(ctx.snapshot().index, sourceIp).via === "none";
}

function answerKnown(
  ctx: GateContext,
  raw: Buffer,
  sourceIp: string,
): DnsReply | undefined | Promise<DnsReply | undefined> {
  const fq = parseFastQuery(raw);
  return (fq && answerMemo(ctx, fq, sourceIp)) || answerDecoded(ctx, raw, sourceIp);
}

/**
 * The repeated question: a plain query (fastpath.ts) whose cached upstream answer already has
 * an encoded response for this policy snapshot and age. decide() runs and the decision is
 * published exactly as on the full path; undefined (nothing published) sends the query there.
 */
function answerMemo(ctx: GateContext, q: FastQuery, sourceIp: string): DnsReply | undefined {
  if (REFUSED_TYPES.has(q.type)) return undefined;
  const started = performance.now();
  const snap = ctx.snapshot();
  const caller = resolveCaller(snap.index, sourceIp);
  const now = ctx.now();
  const decision = decideName(snap.index, caller.identity, q.name, undefined, { grants: snap.grants, now });
  if (decision.verdict === "deny") return undefined;
  const cached = ctx.resolver.peek(decision.name ?? q.name, q.type as dns.Question["type"]);
  if (!cached) return undefined;
  const hit = memoFor(ctx.resolver).get(q.key);
  if (!hit || hit.source !== cached.packet || hit.index !== snap.index || hit.age !== cached.ageSeconds)
    return undefined;
  const wire = Buffer.allocUnsafe(hit.wire.length);
  hit.wire.copy(wire);
  wire.writeUInt16BE(q.id, 0);
  const ev: DecisionEvent = {
    time: now,
    transport: "dns",
    sourceIp,
    identity: caller.identity,
    name: decision.name ?? q.name,
    decision:
      hit.verdict === "deny"
        ? {
            ...decision,
            verdict: "deny",
            mode: "enforce",
            reason: hit.floorReason ?? "ssrf floor",
            rule: { id: "floor", name: "ssrf-floor" },
          }
        : hit.reasonSuffix
          ? { ...decision, reason: decision.reason + hit.reasonSuffix }
          : decision,
    latencyMs: 0,
  };
  if (hit.verdict === "allow" && hit.nxdomain) ev.nxdomain = true;
  ev.latencyMs = performance.now() - started;
  ctx.publish(ev);
  return { wire, udpSize: q.udpSize, repeat: { event: ev, until: now + stableFor(cached, snap.grants, now) } };
}

/** How long decide() and the cached answer stay as they are: grants are the only clock in decide(). */
function stableFor(cached: Resolved, grants: readonly { expires: number }[], now: number): number {
  let ms = cached.stableMs ?? 0;
  for (const g of grants) if (g.expires > now && g.expires - now < ms) ms = g.expires - now;
  return ms;
}

function answerDecoded(
  ctx: GateContext,
  raw: Buffer,
  sourceIp: string,
): DnsReply | undefined | Promise<DnsReply | undefined> {
  let query: dns.Packet;
  try {
    query = dns.decode(raw);
  } catch {
    const fe = formErr(raw);
    return fe ? { packet: dns.decode(fe), udpSize: 512 } : undefined;
  }
  const udpSize = clientUdpSize(query);
  if (query.type === "response") return undefined;
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  if (opcode !== 0) return { packet: reply(query, RCODE.NOTIMP), udpSize };
  const q = query.questions?.[0];
  if (!q || (query.questions?.length ?? 0) !== 1) return { packet: reply(query, RCODE.FORMERR), udpSize };
  if (REFUSED_TYPES.has(q.type) || (q.class !== "IN" && q.class !== undefined))
    return { packet: reply(query, RCODE.REFUSED), udpSize };
  const question: dns.Question = q;
  const started = performance.now();
  const snap = ctx.snapshot();
  const caller = resolveCaller(snap.index, sourceIp);
  const now = ctx.now();
  const decision = decideName(snap.index, caller.identity, q.name, undefined, { grants: snap.grants, now });
  const denyRcode = snap.index.denyAnswer === "refused" ? RCODE.REFUSED : RCODE.NXDOMAIN;
  const event: DecisionEvent = {
    time: now,
    transport: "dns",
    sourceIp,
    identity: caller.identity,
    name: decision.name ?? q.name,
    decision,
    latencyMs: 0,
  };
  const done = (ev: DecisionEvent, packet: dns.Packet | undefined, wire?: Buffer): DnsReply => {
    ev.latencyMs = performance.now() - started;
    ctx.publish(ev);
    return { packet, wire, udpSize };
  };
  if (decision.verdict === "deny") return done(event, reply(query, denyRcode));
  const name = decision.name ?? q.name;
  // RFC 6761 §6.4: `invalid` names never exist, and a caching resolver answers them itself.
  // Asking upstream would only leak the query, and make the client wait out a dead upstream.
  if (INVALID_NAME.test(name))
    return done(
      {
        ...event,
        nxdomain: true,
        decision: { ...decision, reason: `${decision.reason}; special-use name (RFC 6761)` },
      },
      reply(query, RCODE.NXDOMAIN),
    );
  const upstreamFailed = () =>
    done(
      { ...event, decision: { ...decision, reason: `${decision.reason}; upstream failed` } },
      reply(query, RCODE.SERVFAIL),
    );
  const cached = ctx.resolver.peek(name, q.type);
  if (!cached) return ctx.resolver.lookup(name, q.type).then(finish, upstreamFailed);
  return finish(cached);

  function finish(r: Resolved): DnsReply {
    const q = question;
    const memo = memoFor(ctx.resolver);
    const memoKey = `${q.name}|${q.type}|${(query.flags ?? 0) & dns.RECURSION_DESIRED}|${query.additionals?.some((x) => x.type === "OPT") ? 1 : 0}`;
    const hit = memo.get(memoKey);
    if (hit && hit.source === r.packet && hit.index === snap.index && hit.age === r.ageSeconds) {
      const wire = Buffer.from(hit.wire);
      wire.writeUInt16BE(query.id ?? 0, 0);
      const ev: DecisionEvent =
        hit.verdict === "deny"
          ? {
              ...event,
              decision: {
                ...decision,
                verdict: "deny",
                mode: "enforce",
                reason: hit.floorReason ?? "ssrf floor",
                rule: { id: "floor", name: "ssrf-floor" },
              },
            }
          : {
              ...event,
              nxdomain: hit.nxdomain,
              ...(hit.reasonSuffix ? { decision: { ...decision, reason: decision.reason + hit.reasonSuffix } } : {}),
            };
      return done(ev, undefined, wire);
    }
    const packet = r.packet;
    const age = r.ageSeconds;
    const rcode = (packet.flags ?? 0) & 0xf;
    const filtered = filterAnswers(packet.answers ?? [], snap.index.floor);
    const addressQuestion = q.type === "A" || q.type === "AAAA";
    const hadAddresses = (packet.answers ?? []).some((a) => a.type === q.type);
    const keptAddresses = filtered.answers.some((a) => a.type === q.type);
    const remember = (m: Omit<Memo, "source" | "index" | "age" | "wire">, resp: dns.Packet): Buffer => {
      const wire = dns.encode(resp);
      if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value as string);
      memo.set(memoKey, { ...m, source: packet, index: snap.index, age, wire });
      return wire;
    };
    if (filtered.dropped.length > 0 && addressQuestion && hadAddresses && !keptAddresses) {
      // Every address pointed inside the floor: rebinding. Answer as for a denied name.
      const floorReason = `ssrf floor: answers ${filtered.dropped.join(", ")}`;
      const resp = reply(query, denyRcode);
      const wire = remember({ verdict: "deny", reasonSuffix: "", nxdomain: false, floorReason }, resp);
      return done(
        {
          ...event,
          decision: {
            ...decision,
            verdict: "deny",
            mode: "enforce",
            reason: floorReason,
            rule: { id: "floor", name: "ssrf-floor" },
          },
        },
        resp,
        wire,
      );
    }
    const reasonSuffix = filtered.dropped.length ? `; dropped ${filtered.dropped.join(", ")}` : "";
    const nxdomain = rcode === RCODE.NXDOMAIN;
    const resp = reply(
      query,
      rcode,
      agedAnswers(filtered.answers, age),
      nxdomain
        ? agedAnswers(
            (packet.authorities ?? []).filter((a) => a.type === "SOA"),
            age,
          )
        : [],
    );
    const wire = remember({ verdict: "allow", reasonSuffix, nxdomain }, resp);
    return done(
      {
        ...event,
        nxdomain,
        ...(reasonSuffix ? { decision: { ...decision, reason: decision.reason + reasonSuffix } } : {}),
      },
      resp,
      wire,
    );
  }
}

/**
 * Replies go to rinfo.address, always an IP literal: answer the lookup synchronously instead of
 * dns.lookup's extra tick per datagram.
 */
function literalLookup(
  address: string,
  family: unknown,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  cb(null, address, family === 6 || address.includes(":") ? 6 : 4);
}

/**
 * Replies leave after the batch of datagrams libuv read in this turn (setImmediate runs after
 * the poll phase): the client is woken once per burst instead of once per answer, and on a
 * busy loopback those wake-ups were most of the cost of each send.
 */
class UdpOut {
  private readonly udp: dgram.Socket;
  private queue: { buf: Buffer; port: number; address: string }[] = [];
  private scheduled = false;

  constructor(udp: dgram.Socket) {
    this.udp = udp;
  }

  push(buf: Buffer, port: number, address: string): void {
    this.queue.push({ buf, port, address });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const m of q) {
      try {
        this.udp.send(m.buf, m.port, m.address);
      } catch {
        // closed socket: the answers go nowhere, as they would have a moment later
      }
    }
  }
}

export interface DnsServer {
  /** how UDP is read and written: native batches (udp-batch.ts) or node:dgram */
  transport: "batch" | "dgram";
  /** the batch transport's counters */
  batchStats(): BatchStats | undefined;
  tcp: net.Server;
  address: { host: string; port: number };
  close(): Promise<void>;
}

export interface DnsServerOptions {
  /** one of several processes on this port (SO_REUSEPORT) */
  reusePort?: boolean;
  /** use native/dnsbatch.c when it is built (default); false keeps to node:dgram */
  batch?: boolean;
  /** told once when batch was asked for and is not available */
  onBatchUnavailable?: (why: string) => void;
}

interface UdpTransport {
  kind: "batch" | "dgram";
  port: number;
  stats(): BatchStats | undefined;
  close(): Promise<void>;
}

function sendable(a: DnsReply): Buffer {
  return a.wire && a.wire.length <= a.udpSize ? a.wire : encodeForUdp(a.packet ?? dns.decode(a.wire!), a.udpSize);
}

async function openDgram(ctx: GateContext, host: string, port: number, reusePort: boolean): Promise<UdpTransport> {
  const udp = dgram.createSocket({
    type: host.includes(":") ? "udp6" : "udp4",
    reuseAddr: false,
    reusePort,
    lookup: literalLookup,
  });
  udp.on("error", () => {});
  const out = new UdpOut(udp);
  const send = (a: DnsReply | undefined, rinfo: dgram.RemoteInfo) => {
    if (a) out.push(sendable(a), rinfo.port, rinfo.address);
  };
  udp.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    try {
      const a = answerQuery(ctx, msg, rinfo.address);
      if (a instanceof Promise) a.then((r) => send(r, rinfo)).catch(() => {});
      else send(a, rinfo);
    } catch {}
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind({ port, address: host, exclusive: true }, () => {
      udp.off("error", reject);
      resolve();
    });
  });
  // Bursts of queries should queue in the kernel, not be dropped (capped by net.core.rmem_max).
  try {
    udp.setRecvBufferSize(4 * 1024 * 1024);
    udp.setSendBufferSize(4 * 1024 * 1024);
  } catch {}
  return {
    kind: "dgram",
    port: udp.address().port,
    stats: () => undefined,
    close: () => new Promise<void>((r) => udp.close(() => r())),
  };
}

function openBatch(
  ctx: GateContext,
  onChange: NonNullable<GateContext["onChange"]>,
  addon: Exclude<ReturnType<typeof dnsBatchAddon>, Error>,
  host: string,
  port: number,
  reusePort: boolean,
): UdpTransport {
  let sock: BatchUdp | undefined;
  const send = (a: DnsReply | undefined, address: string, port: number) => {
    if (a) sock?.send(sendable(a), address, port);
  };
  sock = new BatchUdp(
    addon,
    host,
    port,
    reusePort,
    (msg, address, port) => {
      const a = answerQuery(ctx, msg, address);
      if (a instanceof Promise) {
        a.then((r) => send(r, address, port)).catch(() => {});
        return;
      }
      send(a, address, port);
      if (a?.repeat && a.wire && a.wire.length <= a.udpSize)
        sock?.install(address, msg, a.wire, a.repeat.until - ctx.now(), a.repeat.event);
    },
    (ev, count, nsPerHit) => ctx.publish({ ...ev, time: ctx.now(), latencyMs: nsPerHit / 1e6 }, count),
  );
  const batch = sock;
  const unsubscribe = onChange(() => batch.clear());
  return {
    kind: "batch",
    port: batch.port,
    stats: () => batch.stats(),
    close: async () => {
      unsubscribe();
      batch.close();
    },
  };
}

export async function startDnsServer(
  ctx: GateContext,
  host: string,
  port: number,
  opts: DnsServerOptions = {},
): Promise<DnsServer> {
  const reusePort = opts.reusePort ?? false;
  // Repeats may only be remembered by a context that says when to forget them.
  const onChange = ctx.onChange;
  const addon = opts.batch === false || !onChange ? undefined : dnsBatchAddon();
  if (addon instanceof Error) opts.onBatchUnavailable?.(addon.message);
  const openUdp = async (p: number): Promise<UdpTransport> =>
    addon && !(addon instanceof Error) && onChange
      ? openBatch(ctx, onChange, addon, host, p, reusePort)
      : openDgram(ctx, host, p, reusePort);
  const sockets = new Set<net.Socket>();
  const onTcp = (sock: net.Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    let pending = 0;
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < len + 2) break;
        const msg = buf.subarray(2, len + 2);
        buf = buf.subarray(len + 2);
        if (++pending > TCP_MAX_PENDING) {
          sock.destroy();
          return;
        }
        Promise.resolve()
          .then(() => answerQuery(ctx, Buffer.from(msg), sock.remoteAddress ?? ""))
          .then((a) => {
            pending--;
            if (!a || sock.destroyed) return;
            const wire = a.wire ?? dns.encode(a.packet!);
            const len = Buffer.alloc(2);
            len.writeUInt16BE(wire.length);
            sock.write(Buffer.concat([len, wire]));
          })
          .catch(() => sock.destroy());
      }
      if (buf.length > 65537) sock.destroy();
    });
  };
  // UDP and TCP share one port number. With port 0 the kernel picks the UDP port, and that
  // TCP port may be taken: try again with another.
  for (let attempt = 0; ; attempt++) {
    const udp = await openUdp(port);
    const boundPort = udp.port;
    const tcp = net.createServer(onTcp);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ port: boundPort, host, ...(reusePort ? { reusePort: true, exclusive: true } : {}) }, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      await udp.close();
      if (port !== 0 || attempt >= 10) throw err;
      continue;
    }
    return {
      transport: udp.kind,
      batchStats: () => udp.stats(),
      tcp,
      address: { host, port: boundPort },
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([udp.close(), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}
