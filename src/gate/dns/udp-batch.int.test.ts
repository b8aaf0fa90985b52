// The batched UDP transport (native/dnsbatch.c) against node:dgram on real loopback sockets:
// byte-identical answers, every repeat published as a decision, and no repeat outliving a
// change of policy, grant or cached answer.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as dns from "dns-packet";
import { loadPolicy } from "../../policy/index.ts";
import { waitFor } from "../../testing/wait.ts";
import type { DecisionEvent } from "../events.ts";
import { dnsClient, startDnsUpstream, startTestGate, type TestGate, withoutTtls } from "../testkit.ts";
import { dnsBatchAddon } from "./udp-batch.ts";

function addonSkip(): string | false {
  const a = dnsBatchAddon();
  if (!(a instanceof Error)) return false;
  if (process.env.CI === "true") throw new Error(`CI=true but the DNS batching addon is missing: ${a.message}`);
  return `dnsbatch.node not available (${a.message}): skipped (runs in CI)`;
}
const skip = addonSkip();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const query = (name: string, type: dns.RecordType = "A", edns = false): Buffer =>
  dns.encode({
    type: "query",
    id: 1,
    flags: dns.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    ...(edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [] }] } : {}),
  } as dns.Packet);

const rcode = (b: Buffer | undefined) => (b ? b[3]! & 0xf : -1);
const ttlOf = (b: Buffer | undefined) => {
  const a = b && (dns.decode(b).answers?.[0] as { ttl?: number } | undefined);
  return a?.ttl;
};

describe("DNS over batched UDP", { skip }, () => {
  let up: Awaited<ReturnType<typeof startDnsUpstream>>;
  let batch: TestGate;
  let plain: TestGate;
  let dir: string;
  let policyFile: string;
  const policy = (allow: string) => `version: 1
identities:
  me: { source: [127.0.0.1/32] }
  other: { source: [127.0.0.3/32] }
egress:
  - from: me
    allow: [${allow}]
  - from: other
    allow: [other.test]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${up.port}"], timeout: 300ms, retries: 0 }
`;
  const ALLOWED = "ok.test, Mixed.test, gone.test, inside.test, half.test, v6.test, other.test";
  before(async () => {
    up = await startDnsUpstream((name, type) => {
      const n = name.toLowerCase();
      if (n === "gone.test") return "nxdomain";
      if (n === "inside.test") return type === "A" ? { A: ["10.0.0.7"], ttl: 600 } : { ttl: 600 };
      if (n === "half.test") return type === "A" ? { A: ["127.0.0.2", "192.168.1.1"], ttl: 600 } : { ttl: 600 };
      if (n === "v6.test") return type === "AAAA" ? { AAAA: ["2001:db8::1"], ttl: 600 } : { ttl: 600 };
      if (n.endsWith(".test")) return type === "A" ? { A: ["127.0.0.2"], ttl: 3600 } : { ttl: 3600 };
      return undefined;
    });
    dir = await mkdtemp(join(tmpdir(), "corral-dnsbatch-"));
    policyFile = join(dir, "corral.yaml");
    writeFileSync(policyFile, policy(ALLOWED));
    const loaded = await loadPolicy(policyFile);
    batch = await startTestGate("", { loaded, policyFile, stateDir: join(dir, "state") });
    plain = await startTestGate("", { loaded, dnsBatch: false });
  });
  after(async () => {
    setTimeout(() => process.exit(), 10_000).unref();
    await Promise.all([batch?.close(), plain?.close()]);
    await up?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the gate serves UDP through the addon; the comparison gate through node:dgram", () => {
    assert.equal(batch.gate.dnsTransport()?.transport, "batch");
    assert.equal(plain.gate.dnsTransport()?.transport, "dgram");
  });

  test("answers are byte-identical to node:dgram's, first time and repeated, for every kind of question", async () => {
    const c = await dnsClient();
    const questions = [
      query("ok.test"),
      query("ok.test", "A", true),
      query("OK.Test"),
      query("mixed.test", "AAAA"),
      query("gone.test"),
      query("inside.test"),
      query("half.test"),
      query("v6.test", "AAAA"),
      query("denied.example"),
      query("ok.test", "ANY" as dns.RecordType),
      query("other.test"),
      Buffer.from("not dns at all"),
      query("ok.test").subarray(0, 14),
    ];
    try {
      for (const raw of questions) {
        for (let round = 0; round < 4; round++) {
          const [a, b] = [await c.ask(batch.dnsPort, raw), await c.ask(plain.dnsPort, raw)];
          // the ids differ (one client, one id counter): compare the rest
          assert.deepEqual(withoutTtls(a), withoutTtls(b), `${raw.toString("latin1")} round ${round}`);
        }
      }
      assert.ok((batch.gate.dnsTransport()?.stats?.repeats ?? 0) > 0, "repeats were answered in C");
    } finally {
      c.close();
    }
  });

  test("every repeat is published as its own decision and logged as its own line", async () => {
    const c = await dnsClient();
    const seen: DecisionEvent[] = [];
    const on = (ev: DecisionEvent) => seen.push(ev);
    batch.gate.bus.on("decision", on);
    try {
      const raw = query("ok.test", "A", true);
      await c.ask(batch.dnsPort, raw);
      await c.ask(batch.dnsPort, raw);
      const before = batch.gate.dnsTransport()?.stats?.repeats ?? 0;
      const logsBefore = batch.logs.length;
      const decisionsCounted = async () => {
        const m = await batch.gate.metrics.registry.getSingleMetric("corral_gate_decisions_total")?.get();
        return (m?.values ?? [])
          .filter((v) => v.labels.identity === "me" && v.labels.transport === "dns")
          .reduce((sum, v) => sum + v.value, 0);
      };
      const countedBefore = await decisionsCounted();
      seen.length = 0;
      const answered = await c.burst(batch.dnsPort, raw, 2000);
      // Repeats answered in C are published in batches, after their answers left.
      await waitFor("one decision per answer", () => seen.length >= answered);
      const repeats = (batch.gate.dnsTransport()?.stats?.repeats ?? 0) - before;
      assert.ok(repeats > answered / 2, `most of the burst was answered in C (${repeats} of ${answered})`);
      assert.equal(answered, 2000, "every query answered");
      assert.equal(seen.length, answered, "one decision per answer");
      assert.ok(seen.every((e) => e.transport === "dns" && e.name === "ok.test" && e.decision.verdict === "allow"));
      const lines = batch.logs.slice(logsBefore).filter((l) => l["event.action"] === "gate-dns");
      assert.equal(lines.length, answered, "one log line per decision");
      const counted = await decisionsCounted();
      assert.equal(counted - countedBefore, answered, "corral_gate_decisions_total counts each one");
    } finally {
      batch.gate.bus.off("decision", on);
      c.close();
    }
  });

  test("a client with another identity never gets a repeat installed for someone else", async () => {
    const me = await dnsClient("127.0.0.1");
    const other = await dnsClient("127.0.0.3");
    try {
      const raw = query("ok.test");
      for (let i = 0; i < 3; i++) assert.equal(rcode(await me.ask(batch.dnsPort, raw)), 0);
      for (let i = 0; i < 3; i++)
        assert.equal(rcode(await other.ask(batch.dnsPort, raw)), 3, "other may not see ok.test");
      const own = query("other.test");
      for (let i = 0; i < 3; i++) assert.equal(rcode(await other.ask(batch.dnsPort, own)), 0);
      for (let i = 0; i < 3; i++)
        assert.equal(rcode(await me.ask(batch.dnsPort, own)), 0, "me: allowed by its own rule");
    } finally {
      me.close();
      other.close();
    }
  });

  test("a policy reload takes effect on the very next query", async () => {
    const c = await dnsClient();
    try {
      const raw = query("mixed.test");
      const repeats = () => batch.gate.dnsTransport()?.stats?.repeats ?? 0;
      const before = repeats();
      for (let i = 0; i < 3; i++) assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 0);
      assert.ok(repeats() > before, "the allowed answer was being repeated from the table");
      writeFileSync(policyFile, policy(ALLOWED.replace("Mixed.test, ", "")));
      assert.equal(await batch.gate.reload(), true);
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 3, "no longer allowed: NXDOMAIN");
      writeFileSync(policyFile, policy(ALLOWED));
      assert.equal(await batch.gate.reload(), true);
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 0);
    } finally {
      c.close();
    }
  });

  test("a grant answers while it lasts; revoked or expired, the repeat stops at once", async () => {
    const c = await dnsClient();
    try {
      const raw = query("asked.test");
      const id = batch.gate.approvals.request("me", { name: "asked.test" }, Date.now())!;
      assert.ok(id);
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 3, "pending: denied");
      batch.gate.approvals.approve(id, 60_000, "test", Date.now());
      const repeats = () => batch.gate.dnsTransport()?.stats?.repeats ?? 0;
      const before = repeats();
      for (let i = 0; i < 3; i++) assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 0, "approved");
      assert.ok(repeats() > before, "the granted answer was being repeated from the table");
      batch.gate.approvals.deny(id, "test", Date.now());
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 3, "revoked: the next query is denied");
      // The repeat table keeps the kernel's time, so this grant runs on the wall clock (the gate
      // takes no injected clock here): long enough for three loopback queries on a loaded machine,
      // and the wait for its end is measured from the approval, not guessed.
      const id2 = batch.gate.approvals.request("me", { name: "asked.test" }, Date.now())!;
      const approvedAt = Date.now();
      batch.gate.approvals.approve(id2, 2000, "test", approvedAt);
      for (let i = 0; i < 3; i++) assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 0, "approved for 2 s");
      await sleep(Math.max(0, approvedAt + 2100 - Date.now()));
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 3, "expired: denied");
    } finally {
      c.close();
    }
  });

  test("a slow decision listener cannot stretch a repeat past the grant it relied on", async () => {
    const c = await dnsClient();
    let slowOnce = false;
    // Wall-clock edges (the repeat table keeps the kernel's time). The grant must end inside the
    // cached answer's first second (the memo is per age); within that, the margins are as wide
    // as fit so a loaded machine still lands each query on the intended side of the edge.
    const GRANT_MS = 900;
    const slow = () => {
      if (!slowOnce) return;
      slowOnce = false;
      const until = Date.now() + 600;
      while (Date.now() < until) {}
    };
    batch.gate.bus.on("decision", slow);
    try {
      const raw = query("slow.test");
      const t0 = Date.now();
      const id = batch.gate.approvals.request("me", { name: "slow.test" }, t0)!;
      batch.gate.approvals.approve(id, GRANT_MS, "test", t0);
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 0, "granted: answered, remembered");
      await sleep(Math.max(0, t0 + GRANT_MS - 400 - Date.now()));
      // Answered from the memo, 400 ms before the grant ends; publishing it takes 600 ms.
      slowOnce = true;
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 0);
      await sleep(Math.max(0, t0 + GRANT_MS + 100 - Date.now()));
      assert.ok(Date.now() > t0 + GRANT_MS);
      assert.equal(rcode(await c.ask(batch.dnsPort, raw)), 3, "the grant has ended: denied, not repeated");
    } finally {
      batch.gate.bus.off("decision", slow);
      c.close();
    }
  });

  test("answers age with the cache: the TTL counts down across repeats", async () => {
    const c = await dnsClient();
    try {
      const raw = query("ok.test", "A", true);
      const first = ttlOf(await c.ask(batch.dnsPort, raw));
      for (let i = 0; i < 5; i++) await c.ask(batch.dnsPort, raw);
      await sleep(2100);
      const later = ttlOf(await c.ask(batch.dnsPort, raw));
      const laterPlain = ttlOf(await c.ask(plain.dnsPort, raw));
      assert.ok(first !== undefined && later !== undefined && later <= first - 2, `${first} then ${later}`);
      assert.ok(laterPlain !== undefined);
    } finally {
      c.close();
    }
  });

  test("mutated repeats: every answer equals node:dgram's (differential, 3,000 inputs)", async () => {
    const c = await dnsClient();
    let seed = 0x5eed;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    try {
      const bases = [query("ok.test"), query("ok.test", "A", true), query("inside.test"), query("gone.test")];
      for (const b of bases) for (let i = 0; i < 3; i++) await c.ask(batch.dnsPort, b);
      const mutate = (): Buffer => {
        const raw = Buffer.from(bases[rand(bases.length)]!);
        if (rand(4) === 0) return raw.subarray(0, 2 + rand(raw.length - 2));
        for (let k = 0; k <= rand(3); k++) raw[2 + rand(raw.length - 2)] = rand(256);
        return raw;
      };
      // In rounds of 75 at once: an input that gets no answer costs one timeout per round.
      for (let round = 0; round < 40; round++) {
        const inputs = Array.from({ length: 75 }, mutate);
        const answers = await Promise.all(
          inputs.map((m) => Promise.all([c.ask(batch.dnsPort, m, 250), c.ask(plain.dnsPort, m, 250)])),
        );
        for (const [i, [a, b]] of answers.entries())
          assert.deepEqual(withoutTtls(a), withoutTtls(b), `input ${inputs[i]!.toString("hex")}`);
      }
    } finally {
      c.close();
    }
  });

  test("a dual-stack listener ([::]) repeats for IPv6 and IPv4 clients, each from its own entry", async () => {
    const g = await startTestGate(
      `version: 1
identities:
  me: { source: ["::1/128", 127.0.0.1/32] }
egress:
  - from: me
    allow: [ok.test]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${up.port}"] }
`,
      {
        listen: {
          dns: { host: "::", port: 0 },
          proxy: { host: "127.0.0.1", port: 0 },
          admin: { host: "127.0.0.1", port: 0 },
        },
      },
    );
    try {
      assert.equal(g.gate.dnsTransport()?.transport, "batch");
      for (const [type, host] of [
        ["udp6", "::1"],
        ["udp4", "127.0.0.1"],
      ] as const) {
        const s = dgram.createSocket(type);
        const answers: Buffer[] = [];
        s.on("message", (m) => answers.push(m));
        for (let i = 0; i < 4; i++) {
          s.send(query("ok.test"), g.dnsPort, host);
          await sleep(30);
        }
        await waitFor(`${host}: four answers`, () => answers.length >= 4);
        s.close();
        assert.equal(answers.length, 4, `${host}: every query answered`);
        assert.ok(
          answers.every(
            (a) => rcode(a) === 0 && (dns.decode(a).answers?.[0] as { data?: unknown })?.data === "127.0.0.2",
          ),
        );
      }
      const stats = g.gate.dnsTransport()?.stats;
      assert.equal(stats?.entries, 2, "one entry per client address");
      assert.ok((stats?.repeats ?? 0) >= 2, "both clients were answered from the table");
    } finally {
      await g.close();
    }
  });

  test("the addon refuses entries it must not trust: endless lifetimes, oversized queries", () => {
    const a = dnsBatchAddon();
    assert.ok(!(a instanceof Error));
    const sock = a.open("127.0.0.1", 0, false, 0);
    try {
      const q = query("ok.test");
      const r = Buffer.alloc(40);
      for (const ms of [Number.POSITIVE_INFINITY, Number.NaN, 1e300, 5001, 0, -1])
        assert.equal(a.install(sock, 1, "127.0.0.1", q, r, ms), false, `lifetime ${ms}`);
      assert.equal(a.install(sock, 1, "127.0.0.1", Buffer.alloc(513), r, 1000), false, "query over 512 bytes");
      assert.equal(a.install(sock, 1, "127.0.0.1", q, Buffer.alloc(4097), 1000), false, "response over 4096 bytes");
      assert.equal(a.install(sock, 1, "not an address", q, r, 1000), false);
      assert.equal(a.install(sock, 1, "127.0.0.1", q, r, 1000), true);
      assert.equal(a.stats(sock)[3], 1);
    } finally {
      a.close(sock);
    }
  });

  test("close releases the socket and its descriptors", async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    const baseline = fds();
    for (let i = 0; i < 5; i++) {
      const g = await startTestGate("", { loaded: await loadPolicy(policyFile), serve: { dns: true } });
      const port = g.dnsPort;
      await g.close();
      // the port is free again: bind it
      const s = dgram.createSocket("udp4");
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.bind(port, "127.0.0.1", () => resolve());
      });
      s.close();
    }
    await waitFor(`descriptors back near ${baseline}`, () => fds() <= baseline + 2);
  });
});
