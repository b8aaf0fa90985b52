// The allowlist resolver against real upstreams on loopback: failover, SERVFAIL, TTL aging,
// EDNS, truncation, REFUSED mode, and partial rebinding (inside answers dropped, public kept).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as dns from "dns-packet";
import { privilegedSkip } from "../../testing/privileged.ts";
import { type Decoded, dnsQuery, startDnsUpstream, startTestGate, type TestGate } from "../testkit.ts";

const skip = privilegedSkip({ root: false });

const q = (
  port: number,
  name: string,
  type: dns.RecordType = "A",
  extra: Partial<dns.Packet> = {},
): Promise<Decoded | undefined> =>
  dnsQuery(port, {
    type: "query",
    id: 42,
    flags: dns.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    ...extra,
  });

describe("DNS server", { skip }, () => {
  let up: Awaited<ReturnType<typeof startDnsUpstream>>;
  let g: TestGate;
  let refusing: TestGate;
  let dead: TestGate;
  // Cache ageing on a clock moved by hand: the age is exact, however long the test takes.
  let aging: TestGate;
  let clock = Date.UTC(2030, 0, 1);
  before(async () => {
    up = await startDnsUpstream((name, type) => {
      if (name === "half.test")
        return type === "A" ? { A: ["127.0.0.2", "10.1.2.3", "169.254.169.254"], ttl: 100 } : { ttl: 100 };
      if (name === "ok.test") return type === "A" ? { A: ["127.0.0.2"], ttl: 100 } : { ttl: 100 };
      if (name === "gone.test") return "nxdomain";
      if (name === "broken.test") return "servfail";
      if (name === "asked.test") return type === "A" ? { A: ["127.0.0.2"], ttl: 100 } : { ttl: 100 };
      return undefined;
    });
    const policy = (extra: string, upstreams: string) => `version: 1
identities:
  me: { source: [127.0.0.1/32] }
egress:
  - from: me
    allow: [half.test, ok.test, gone.test, broken.test, corral.invalid]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: [${upstreams}], timeout: 300ms, retries: 0${extra} }
`;
    // The first upstream is a closed port: the gate must fail over to the second.
    g = await startTestGate(policy("", `"127.0.0.1:9", "127.0.0.1:${up.port}"`));
    refusing = await startTestGate(policy(", deny_answer: refused", `"127.0.0.1:${up.port}"`));
    dead = await startTestGate(policy("", `"127.0.0.1:9"`));
    aging = await startTestGate(policy("", `"127.0.0.1:9", "127.0.0.1:${up.port}"`), { now: () => clock });
  });
  after(async () => {
    // Safety net for CI: should a socket outlive its test, end this test process once the
    // results are out instead of hanging (unref'd, so it fires only if something is left).
    setTimeout(() => process.exit(), 10_000).unref();
    await Promise.all([g?.close(), refusing?.close(), dead?.close(), aging?.close()]);
    await up?.close();
  });

  test("fails over to a working upstream, then answers from cache with aged TTLs", async () => {
    assert.equal((await q(g.dnsPort, "ok.test"))?.rcode, "NOERROR");
    const first = await q(aging.dnsPort, "ok.test");
    assert.equal(first?.rcode, "NOERROR");
    assert.equal(first?.id, 42);
    const asked = up.queries.filter((x) => x.name === "ok.test" && x.type === "A").length;
    clock += 2500;
    const second = await q(aging.dnsPort, "ok.test");
    assert.equal(up.queries.filter((x) => x.name === "ok.test" && x.type === "A").length, asked, "served from cache");
    assert.equal((second?.answers?.[0] as { ttl?: number } | undefined)?.ttl, 98, "aged by whole seconds held");
  });

  test("mixed answers: inside addresses are dropped, public ones kept", async () => {
    const r = await q(g.dnsPort, "half.test");
    assert.deepEqual(
      r?.answers?.map((a) => (a as { data: string }).data),
      ["127.0.0.2"],
    );
    assert.ok(g.logs.some((l) => JSON.stringify(l["corral.dns.dropped"] ?? []).includes("10.1.2.3 (private)")));
  });

  test("NXDOMAIN passes through; SERVFAIL from upstream and dead upstreams are SERVFAIL", async () => {
    assert.equal((await q(g.dnsPort, "gone.test"))?.rcode, "NXDOMAIN");
    assert.equal((await q(g.dnsPort, "broken.test"))?.rcode, "SERVFAIL");
    assert.equal((await q(dead.dnsPort, "ok.test"))?.rcode, "SERVFAIL");
  });

  test("an allowed .invalid name is NXDOMAIN from the gate itself, never asked upstream (RFC 6761)", async () => {
    assert.equal((await q(g.dnsPort, "corral.invalid"))?.rcode, "NXDOMAIN");
    assert.equal((await q(dead.dnsPort, "corral.invalid"))?.rcode, "NXDOMAIN", "even with no upstream answering");
    assert.equal(up.queries.filter((x) => x.name === "corral.invalid").length, 0);
  });

  test("deny_answer: refused", async () => {
    assert.equal((await q(refusing.dnsPort, "nope.test"))?.rcode, "REFUSED");
    assert.equal((await q(refusing.dnsPort, "ok.test"))?.rcode, "NOERROR");
  });

  test("EDNS: the answer carries OPT; non-query opcodes get NOTIMP; responses are ignored", async () => {
    const r = await q(g.dnsPort, "ok.test", "A", {
      additionals: [
        {
          type: "OPT",
          name: ".",
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    assert.ok(r?.additionals?.some((a) => a.type === "OPT"));
    const notify = await dnsQuery(g.dnsPort, {
      type: "query",
      id: 1,
      flags: 4 << 11,
      questions: [{ name: "ok.test", type: "SOA", class: "IN" }],
    });
    assert.equal(notify?.rcode, "NOTIMP");
    const response = await dnsQuery(
      g.dnsPort,
      { type: "response", id: 1, flags: 0, questions: [{ name: "ok.test", type: "A", class: "IN" }] },
      { timeoutMs: 300 },
    );
    assert.equal(response, undefined);
  });

  test("node:dgram: a grant answers while it lasts on the gate's clock, through the remembered answer, then ends", async () => {
    assert.equal(aging.gate.dnsTransport()?.transport, "dgram");
    assert.equal((await q(aging.dnsPort, "asked.test"))?.rcode, "NXDOMAIN", "not granted: denied");
    const id = aging.gate.approvals.request("me", { name: "asked.test" }, clock)!;
    aging.gate.approvals.approve(id, 2000, "test", clock);
    // Twice: the second answer comes from the encoded-answer memo, decided again.
    for (let i = 0; i < 2; i++) assert.equal((await q(aging.dnsPort, "asked.test"))?.rcode, "NOERROR", "granted");
    clock += 1999;
    assert.equal((await q(aging.dnsPort, "asked.test"))?.rcode, "NOERROR", "the last millisecond of the grant");
    clock += 2;
    assert.equal((await q(aging.dnsPort, "asked.test"))?.rcode, "NXDOMAIN", "expired: denied at once");
    const codes = aging.logs
      .filter((l) => l["destination.domain"] === "asked.test")
      .map((l) => l["corral.reason_code"]);
    assert.deepEqual(codes, ["unlisted", "grant", "grant", "grant", "unlisted"]);
  });
});
