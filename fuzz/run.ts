// The gate's fuzz properties at scale: `node fuzz/run.ts [--runs 1000000] [--seed N] [--only http,dns,chunked,tls]`.
// Same targets as src/gate/fuzz.test.ts; prints one line per target with inputs/s and any
// counterexample (fast-check shrinks it). Exit 1 on the first failing property.
import { parseArgs } from "node:util";
import * as dns from "dns-packet";
import fc from "fast-check";
import { Resolver } from "../src/gate/dns/resolver.ts";
import {
  checkChunked,
  checkDns,
  checkHttpHead,
  checkTls,
  chunkedArb,
  dnsArb,
  encodeQuery,
  FUZZ_POLICY,
  fuzzIndex,
  httpHeadArb,
  tlsArb,
} from "../src/gate/fuzz-targets.ts";
import { limitsFrom } from "../src/gate/limits.ts";
import { createLogger } from "../src/gate/log.ts";
import { parseRequestHead } from "../src/gate/proxy/http-head.ts";
import { interpretRequest } from "../src/gate/proxy/request.ts";
import { dnsClient, startDnsUpstream, startTestGate, withoutTtls, type Zone } from "../src/gate/testkit.ts";
import { parsePolicy } from "../src/policy/load.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000000" },
    "socket-runs": { type: "string", default: "100000" },
    seed: { type: "string" },
    only: { type: "string", default: "http,chunked,tls,dns,dns-socket" },
  },
});
const runs = Number(values.runs);
const seed = values.seed ? Number(values.seed) : Date.now() % 2 ** 31;
const only = new Set(values.only.split(","));
const index = fuzzIndex();
let failed = false;

async function run(name: string, fn: () => Promise<void> | void, inputs = runs): Promise<void> {
  if (!only.has(name)) return;
  const t = performance.now();
  try {
    await fn();
    const s = (performance.now() - t) / 1000;
    console.log(`${name}: ${inputs} inputs ok in ${s.toFixed(1)}s (${Math.round(inputs / s)}/s), seed ${seed}`);
  } catch (err) {
    failed = true;
    console.log(`${name}: FAILED (seed ${seed})\n${(err as Error).message}`);
  }
}

/** The upstream both DNS targets forward to: public, mixed and inside answers. */
const fuzzZone: Zone = (name, type) => {
  if (type !== "A" && type !== "AAAA") return { TXT: ["t"], ttl: 3600 };
  if (name === "allowed.test") return { A: ["127.0.0.2"], ttl: 3600 };
  if (name.endsWith(".wild.test")) return { A: ["127.0.0.2", "127.0.0.1"], ttl: 3600 };
  if (name.endsWith(".deep.test")) return { A: ["10.0.0.1"], AAAA: ["::1"], ttl: 3600 };
  return "nxdomain";
};

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
  const upstream = await startDnsUpstream(fuzzZone);
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
// `--socket-runs N` (default 100k: each input is two datagrams and a round waits out the silent
// ones). The same inputs through the batched UDP transport (native/dnsbatch.c) and through node:dgram,
// half of them exact repeats of earlier ones so the repeat table is in play: every answer must be
// the same (TTLs aside: the two caches fill a moment apart), and the gate must keep answering.
const total = Number(values["socket-runs"]);
await run(
  "dns-socket",
  async () => {
    const upstream = await startDnsUpstream((name, type) => {
      if (type !== "A" && type !== "AAAA") return { TXT: ["t"], ttl: 3600 };
      if (name === "allowed.test") return { A: ["127.0.0.2"], ttl: 3600 };
      if (name.endsWith(".wild.test")) return { A: ["127.0.0.2", "127.0.0.1"], ttl: 3600 };
      if (name.endsWith(".deep.test")) return { A: ["10.0.0.1"], AAAA: ["::1"], ttl: 3600 };
      return "nxdomain";
    });
    const policy = `${FUZZ_POLICY}dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 300ms, retries: 0 }\n`;
    const quiet = { logger: createLogger({ write: () => true }) };
    const batch = await startTestGate(policy, quiet);
    const plain = await startTestGate(policy, { ...quiet, dnsBatch: false });
    const c = await dnsClient();
    try {
      if (batch.gate.dnsTransport()?.transport !== "batch") throw new Error("dnsbatch.node is not built");
      const fresh = fc.sample(dnsArb, { numRuns: Math.min(total, 200_000), seed });
      // Plain questions (the shape the repeat table takes), in several spellings.
      const plainQs: Buffer[] = [];
      for (const name of ["allowed.test", "ALLOWED.test", "a.wild.test", "x.y.deep.test", "no.test", "b.wild.test"])
        for (const type of ["A", "AAAA", "TXT"] as const)
          for (const edns of [null, 512, 1232, 4096])
            for (const flags of [0, dns.RECURSION_DESIRED])
              plainQs.push(encodeQuery({ id: 0, flags, name, type, edns }));
      const recent: Buffer[] = [];
      let pick = seed;
      for (let done = 0; done < total; ) {
        const inputs: Buffer[] = [];
        for (let i = 0; i < 400 && done < total; i++, done++) {
          pick = (pick * 1103515245 + 12345) & 0x7fffffff;
          const from = i % 3 === 0 || recent.length === 0 ? "fresh" : i % 3 === 1 ? "plain" : "recent";
          inputs.push(
            from === "fresh"
              ? fresh[done % fresh.length]!
              : from === "plain"
                ? plainQs[pick % plainQs.length]!
                : recent[pick % recent.length]!,
          );
        }
        const answers = await Promise.all(
          inputs.map((m) => Promise.all([c.ask(batch.dnsPort, m, 300), c.ask(plain.dnsPort, m, 300)])),
        );
        answers.forEach(([a, b], i) => {
          const [x, y] = [withoutTtls(a), withoutTtls(b)];
          if (x === y || (x && y && x.equals(y))) return;
          throw new Error(
            `input ${inputs[i]!.toString("hex")}: batch ${a?.toString("hex")} vs dgram ${b?.toString("hex")}`,
          );
        });
        for (const m of inputs)
          if (recent.length < 2000) recent.push(m);
          else recent[pick % 2000] = m;
      }
      const stats = batch.gate.dnsTransport()?.stats;
      console.log(`dns-socket: ${stats?.repeats} answered from the repeat table, ${stats?.handled} in JavaScript`);
    } finally {
      c.close();
      await Promise.all([batch.close(), plain.close()]);
      await upstream.close();
    }
  },
  total,
);
process.exitCode = failed ? 1 : 0;
