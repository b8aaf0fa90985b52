// The allowlist resolver's pipeline, shared by every transport: who is asking, decide on the
// name, answer from the cache or go upstream, decide on the answers (rebinding), publish the
// request once with its outcome. Malformed packets get FORMERR or silence, never a throw.
import * as dns from "dns-packet";
import type { GateContext } from "../context.ts";
import type { Decision } from "../decide.ts";
import { decideAnswers } from "../decide-answers.ts";
import { decideName } from "../decide-cached.ts";
import type { DecisionEvent, Outcome } from "../events.ts";
import { resolveCaller } from "../identity.ts";
import { agedAnswers, clientUdpSize, formErr, RCODE, reply } from "./answer.ts";
import { type EncodedAnswer, RCODE_NAME, reusable } from "./encoded-answer.ts";
import { type FastQuery, parseFastQuery } from "./fastpath.ts";
import type { Resolved } from "./resolver.ts";

const REFUSED_TYPES = new Set(["ANY", "AXFR", "IXFR"]);
const INVALID_NAME = /(^|\.)invalid\.?$/i;

export interface DnsReply {
  /** the response; absent when only its encoded form exists (a remembered answer) */
  packet?: dns.Packet;
  /** the encoded response (id already set) */
  wire?: Buffer;
  /** the largest UDP response this client accepts */
  udpSize: number;
  /**
   * Set when the same query bytes from the same client get this same `wire` and the same
   * request event until `until` (ctx.now() time), unless the policy, grants or resolver
   * change. A time, not a duration: publishing and sending come between deciding and
   * installing, and must not lengthen it.
   */
  repeat?: { event: DecisionEvent; until: number };
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
  const learning =
    ctx.identify && resolveCaller(ctx.snapshot().index, sourceIp).via === "none" ? ctx.identify(sourceIp) : undefined;
  // A replica that started a moment ago: learn its address before deciding.
  if (learning) return learning.then(() => answerKnown(ctx, raw, sourceIp));
  return answerKnown(ctx, raw, sourceIp);
}

function answerKnown(
  ctx: GateContext,
  raw: Buffer,
  sourceIp: string,
): DnsReply | undefined | Promise<DnsReply | undefined> {
  const fq = parseFastQuery(raw);
  return (fq && answerRemembered(ctx, fq, sourceIp)) || answerDecoded(ctx, raw, sourceIp);
}

const outcomeOf = (d: Decision): Outcome => (d.verdict === "allow" ? "success" : "denied");

function event(
  sourceIp: string,
  identity: string | undefined,
  name: string,
  decision: Decision,
  now: number,
  rcode: string,
): DecisionEvent {
  return {
    time: now,
    transport: "dns",
    sourceIp,
    identity,
    name,
    decision,
    outcome: outcomeOf(decision),
    rcode,
    latencyMs: 0,
    durationMs: 0,
  };
}

/** The remembered answer's event for this client's decision. */
function rememberedEvent(ev: DecisionEvent, hit: EncodedAnswer): DecisionEvent {
  if (hit.rebinding) {
    ev.decision = hit.rebinding;
    ev.outcome = "denied";
  } else if (hit.nxdomain) ev.nxdomain = true;
  if (hit.dropped.length) ev.droppedAnswers = hit.dropped;
  return ev;
}

/**
 * The repeated question: a plain query (fastpath.ts) whose cached upstream answer already has
 * an encoded response in this snapshot. decide() runs and the request is published exactly as
 * on the full path; undefined (nothing published) sends the query there.
 */
function answerRemembered(ctx: GateContext, q: FastQuery, sourceIp: string): DnsReply | undefined {
  if (REFUSED_TYPES.has(q.type)) return undefined;
  const started = performance.now();
  const snap = ctx.snapshot();
  const caller = resolveCaller(snap.index, sourceIp);
  const now = ctx.now();
  const decision = decideName(snap.index, caller.identity, q.name, undefined, { grants: snap.grants, now });
  if (decision.verdict === "deny") return undefined;
  const name = decision.name ?? q.name;
  const cached = ctx.resolver.peek(name, q.type as dns.Question["type"]);
  if (!cached) return undefined;
  const hit = reusable(snap.index.cache.answers.get(q.key), cached.packet, cached.ageSeconds);
  if (!hit) return undefined;
  const wire = Buffer.allocUnsafe(hit.wire.length);
  hit.wire.copy(wire);
  wire.writeUInt16BE(q.id, 0);
  const ev = rememberedEvent(event(sourceIp, caller.identity, name, decision, now, hit.rcode), hit);
  ev.latencyMs = ev.durationMs = performance.now() - started;
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
  const started = performance.now();
  const snap = ctx.snapshot();
  const caller = resolveCaller(snap.index, sourceIp);
  const now = ctx.now();
  const decision = decideName(snap.index, caller.identity, q.name, undefined, { grants: snap.grants, now });
  const denyRcode = snap.index.denyAnswer === "refused" ? RCODE.REFUSED : RCODE.NXDOMAIN;
  const name = decision.name ?? q.name;
  const ev = event(sourceIp, caller.identity, name, decision, now, "");
  const done = (packet: dns.Packet | undefined, rcode: number, wire?: Buffer): DnsReply => {
    ev.rcode = RCODE_NAME[rcode] ?? String(rcode);
    ev.latencyMs = ev.durationMs = performance.now() - started;
    ctx.publish(ev);
    return { packet, wire, udpSize };
  };
  if (decision.verdict === "deny") return done(reply(query, denyRcode), denyRcode);
  // RFC 6761 §6.4: `invalid` names never exist, and a caching resolver answers them itself.
  // Asking upstream would only leak the query, and make the client wait out a dead upstream.
  if (INVALID_NAME.test(name)) {
    ev.nxdomain = true;
    return done(reply(query, RCODE.NXDOMAIN), RCODE.NXDOMAIN);
  }
  const upstreamFailed = (err: Error) => {
    ev.outcome = "failure";
    ev.error = `upstream: ${err?.message ?? String(err)}`;
    return done(reply(query, RCODE.SERVFAIL), RCODE.SERVFAIL);
  };
  const cached = ctx.resolver.peek(name, q.type);
  if (!cached) return ctx.resolver.lookup(name, q.type).then(finish, upstreamFailed);
  return finish(cached);

  function finish(r: Resolved): DnsReply {
    const question = q!;
    const memoKey = `${question.name}|${question.type}|${(query.flags ?? 0) & dns.RECURSION_DESIRED}|${query.additionals?.some((x) => x.type === "OPT") ? 1 : 0}`;
    const cache = snap.index.cache.answers;
    const hit = reusable(cache.get(memoKey), r.packet, r.ageSeconds);
    if (hit) {
      const wire = Buffer.from(hit.wire);
      wire.writeUInt16BE(query.id ?? 0, 0);
      rememberedEvent(ev, hit);
      return done(undefined, RCODE[hit.rcode as keyof typeof RCODE] ?? 0, wire);
    }
    const packet = r.packet;
    const rcode = (packet.flags ?? 0) & 0xf;
    const seen = decideAnswers(snap.index.floor, decision, question.type, packet.answers ?? []);
    if (seen.dropped.length) ev.droppedAnswers = seen.dropped;
    let resp: dns.Packet;
    let sent: number;
    if (seen.decision.verdict === "deny") {
      // Every address pointed inside the floor: rebinding. Answered as for a denied name.
      ev.decision = seen.decision;
      ev.outcome = "denied";
      resp = reply(query, denyRcode);
      sent = denyRcode;
    } else {
      ev.nxdomain = rcode === RCODE.NXDOMAIN;
      const soa = ev.nxdomain ? (packet.authorities ?? []).filter((a) => a.type === "SOA") : [];
      resp = reply(query, rcode, agedAnswers(seen.answers, r.ageSeconds), agedAnswers(soa, r.ageSeconds));
      sent = rcode;
    }
    const wire = dns.encode(resp);
    const remembered: EncodedAnswer = {
      source: packet,
      age: r.ageSeconds,
      wire,
      dropped: seen.dropped,
      nxdomain: ev.nxdomain === true,
      rcode: RCODE_NAME[sent] ?? String(sent),
    };
    if (seen.decision.verdict === "deny") remembered.rebinding = Object.freeze(seen.decision);
    cache.set(memoKey, remembered);
    return done(resp, sent, wire);
  }
}
