// The gate's fuzz properties at scale: `node fuzz/run.ts [--runs 1000000] [--seed N] [--only http,dns,chunked,tls]`.
// Same targets as src/gate/fuzz.test.ts; prints one line per target with inputs/s and any
// counterexample (fast-check shrinks it). Exit 1 on the first failing property.
import { parseArgs } from "node:util";
import fc from "fast-check";
import { Resolver } from "../src/gate/dns/resolver.ts";
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
} from "../src/gate/fuzz-targets.ts";
import { limitsFrom } from "../src/gate/limits.ts";
import { parseRequestHead } from "../src/gate/proxy/http-head.ts";
import { interpretRequest } from "../src/gate/proxy/request.ts";
import { startDnsUpstream } from "../src/gate/testkit.ts";
import { parsePolicy } from "../src/policy/load.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000000" },
    seed: { type: "string" },
    only: { type: "string", default: "http,chunked,tls,dns" },
  },
});
const runs = Number(values.runs);
const seed = values.seed ? Number(values.seed) : Date.now() % 2 ** 31;
const only = new Set(values.only.split(","));
const index = fuzzIndex();
let failed = false;

async function run(name: string, fn: () => Promise<void> | void): Promise<void> {
  if (!only.has(name)) return;
  const t = performance.now();
  try {
    await fn();
    const s = (performance.now() - t) / 1000;
    console.log(`${name}: ${runs} inputs ok in ${s.toFixed(1)}s (${Math.round(runs / s)}/s), seed ${seed}`);
  } catch (err) {
    failed = true;
    console.log(`${name}: FAILED (seed ${seed})\n${(err as Error).message}`);
  }
}

await run("http", () => {
  const kinds: Record<string, number> = {};
  fc.assert(
    fc.property(httpHeadArb, (raw) => {
      const h = parseRequestHead(raw, 100);
      const k = "error" in h ? "parse-error" : interpretRequest(h).kind;
      kinds[k] = (kinds[k] ?? 0) + 1;
      checkHttpHead(index, raw);
    }),
    { numRuns: runs, seed },
  );
  console.log(`http coverage: ${JSON.stringify(kinds)}`);
});
await run("chunked", () => fc.assert(fc.property(chunkedArb, checkChunked), { numRuns: runs, seed }));
await run("tls", () => fc.assert(fc.property(tlsArb, checkTls), { numRuns: runs, seed }));
await run("dns", async () => {
  const upstream = await startDnsUpstream((name, type) => {
    if (type !== "A" && type !== "AAAA") return { TXT: ["t"], ttl: 3600 };
    if (name === "allowed.test") return { A: ["127.0.0.2"], ttl: 3600 };
    if (name.endsWith(".wild.test")) return { A: ["127.0.0.2", "127.0.0.1"], ttl: 3600 };
    if (name.endsWith(".deep.test")) return { A: ["10.0.0.1"], AAAA: ["::1"], ttl: 3600 };
    return "nxdomain";
  });
  const resolver = new Resolver({
    upstreams: [{ host: "127.0.0.1", port: upstream.port }],
    timeoutMs: 300,
    retries: 0,
    cacheMax: 10000,
  });
  const limits = limitsFrom(parsePolicy(FUZZ_POLICY, "fuzz.yaml").policy.gate);
  const ctx = { snapshot: () => ({ index, grants: [], limits }), resolver, publish: () => {}, now: Date.now };
  try {
    await fc.assert(
      fc.asyncProperty(dnsArb, (raw) => checkDns(ctx, raw)),
      { numRuns: runs, seed },
    );
  } finally {
    resolver.close();
    await upstream.close();
  }
});
process.exitCode = failed ? 1 : 0;
