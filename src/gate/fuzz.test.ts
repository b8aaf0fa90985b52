// Fuzzing the gate's entry points: ≈105k generated inputs straight into the parsers and the
// decision path, then a smaller run over real sockets. Never a crash, never an allow that the
// policy does not name. `node fuzz/run.ts` runs the same properties a million times.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { parsePolicy } from "../policy/load.ts";
import type { GateContext } from "./context.ts";
import { Resolver } from "./dns/resolver.ts";
import {
  checkChunked,
  checkDns,
  checkHttpHead,
  checkTls,
  chunkedArb,
  dnsArb,
  FUZZ_POLICY,
  fuzzIndex,
  httpHeadArb,
  tlsArb,
} from "./fuzz-targets.ts";
import { limitsFrom } from "./limits.ts";
import { dnsQuery, rawRequest, startDnsUpstream, startOrigin, startTestGate } from "./testkit.ts";

const index = fuzzIndex();
const seed = Number(process.env.CORRAL_FUZZ_SEED ?? 20261125);

test("HTTP request heads: parse → interpret → decide (60k)", () => {
  fc.assert(
    fc.property(httpHeadArb, (raw) => checkHttpHead(index, raw)),
    { numRuns: 60_000, seed },
  );
});

test("chunked bodies (15k)", () => {
  fc.assert(fc.property(chunkedArb, checkChunked), { numRuns: 15_000, seed });
});

test("TLS ClientHello parser (10k)", () => {
  fc.assert(fc.property(tlsArb, checkTls), { numRuns: 10_000, seed });
});

describe("DNS entry point", () => {
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let resolver: Resolver;
  let ctx: GateContext;
  before(async () => {
    upstream = await startDnsUpstream((name, type) => {
      if (type !== "A" && type !== "AAAA") return { TXT: ["t"], ttl: 300 };
      if (name === "allowed.test") return { A: ["127.0.0.2"], ttl: 300 };
      if (name.endsWith(".wild.test")) return { A: ["127.0.0.2", "127.0.0.1"], ttl: 300 };
      if (name.endsWith(".deep.test")) return { A: ["10.0.0.1"], AAAA: ["::1"], ttl: 300 };
      return "nxdomain";
    });
    resolver = new Resolver({
      upstreams: [{ host: "127.0.0.1", port: upstream.port }],
      timeoutMs: 300,
      retries: 0,
      cacheMax: 1000,
    });
    const limits = limitsFrom(parsePolicy(FUZZ_POLICY, "fuzz.yaml").policy.gate);
    ctx = { snapshot: () => ({ index, grants: [], limits }), resolver, publish: () => {}, now: Date.now };
  });
  after(async () => {
    resolver.close();
    await upstream.close();
  });
  test("queries straight into handleQuery (20k)", async () => {
    await fc.assert(
      fc.asyncProperty(dnsArb, (raw) => checkDns(ctx, raw)),
      { numRuns: 20_000, seed },
    );
  });
});

describe("socket level", () => {
  test("random heads and packets over real sockets: gate survives, nothing internal is reached", async () => {
    const secret = await startOrigin("127.0.0.1");
    const origin = await startOrigin("127.0.0.2", 0);
    const upstream = await startDnsUpstream((name, type) =>
      type === "A" && name === "allowed.test" ? { A: ["127.0.0.2"] } : "nxdomain",
    );
    const g = await startTestGate(
      FUZZ_POLICY.replace("allowed.test:8080", `allowed.test:${origin.port}`) +
        `dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 300ms, retries: 0 }\ngate: { limits: { header_timeout: 1s, per_identity_rps: 100000 } }\n`,
    );
    try {
      const heads = fc.sample(httpHeadArb, { numRuns: 400, seed });
      for (let i = 0; i < heads.length; i += 40) {
        await Promise.all(
          heads
            .slice(i, i + 40)
            .map((h) => rawRequest(g.proxyPort, Buffer.concat([h, Buffer.from("\r\n\r\n")]), { waitMs: 300 })),
        );
      }
      const packets = fc.sample(dnsArb, { numRuns: 600, seed });
      for (let i = 0; i < packets.length; i += 50) {
        await Promise.all(packets.slice(i, i + 50).map((p) => dnsQuery(g.dnsPort, p, { timeoutMs: 300 })));
      }
      const ok = await rawRequest(
        g.proxyPort,
        `GET http://allowed.test:${origin.port}/ HTTP/1.1\r\nHost: allowed.test:${origin.port}\r\n\r\n`,
      );
      assert.equal(ok.status, 200, "still serving");
      assert.equal(secret.requests.length, 0);
      const allowed = g.logs.filter((l) => l["corral.verdict"] === "allow");
      for (const l of allowed)
        assert.match(String(l["destination.domain"]), /^(allowed\.test|[^.]+\.wild\.test|.+\.deep\.test)$/);
    } finally {
      await g.close();
      await Promise.all([secret.close(), origin.close(), upstream.close()]);
    }
  });
});
