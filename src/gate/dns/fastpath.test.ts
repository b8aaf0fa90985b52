// The fast query reader against dns-packet: whatever it accepts, it must read exactly as the
// full decoder does (id, name, type, class IN, RD, EDNS, UDP size); what it rejects costs
// nothing but speed. Fuzzed with the DNS entry point's generator plus byte mutations.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as dns from "dns-packet";
import fc from "fast-check";
import { parsePolicy } from "../../policy/load.ts";
import { decide } from "../decide.ts";
import { decideName } from "../decide-cached.ts";
import { dnsArb, encodeQuery, fuzzIndex } from "../fuzz-targets.ts";
import { buildIndex } from "../policy-index.ts";
import { clientUdpSize, hasEdns } from "./answer.ts";
import { parseFastQuery } from "./fastpath.ts";

// Every mode and approval: the outcomes that depend on grants must never be remembered.
const MODES_POLICY = `version: 1
identities:
  rep: { source: [127.0.0.1/32] }
  lrn: { source: [127.0.0.2/32] }
  ask: { source: [127.0.0.3/32] }
egress:
  - from: rep
    mode: report
    allow: ["allowed.test"]
    deny: ["nope.test"]
  - from: lrn
    mode: learn
    allow: ["x.wild.test"]
  - from: ask
    approval: ask
    allow: ["allowed.test:8080"]
    deny: ["a.b.deep.test"]
`;

const seed = Number(process.env.CORRAL_FUZZ_SEED ?? 20261125);

let accepted = 0;
function agrees(raw: Buffer): void {
  const fq = parseFastQuery(raw);
  if (!fq) return;
  accepted++;
  const p = dns.decode(raw);
  assert.equal(p.type, "query");
  assert.equal(p.id, fq.id);
  assert.equal(((p.flags ?? 0) >> 11) & 0xf, 0);
  assert.equal(p.questions?.length, 1);
  const q = p.questions![0]!;
  assert.equal(q.name, fq.name);
  assert.equal(q.type, fq.type);
  assert.equal(q.class, "IN");
  assert.equal(((p.flags ?? 0) & dns.RECURSION_DESIRED) !== 0, fq.rd);
  assert.equal(hasEdns(p), fq.edns);
  assert.equal(clientUdpSize(p), fq.udpSize);
  assert.equal(p.answers?.length ?? 0, 0);
  assert.equal(p.authorities?.length ?? 0, 0);
  assert.equal(fq.key, `${q.name}|${q.type}|${(p.flags ?? 0) & dns.RECURSION_DESIRED}|${fq.edns ? 1 : 0}`);
}

// The shape the fast path is for (dnsArb's random flags rarely leave a query plain).
const plain = fc
  .record({
    id: fc.integer({ min: 0, max: 65535 }),
    rd: fc.boolean(),
    name: fc.oneof(fc.domain(), fc.constantFrom("allowed.test", "API.Allowed.Test", "a_b.test", "x-y.wild.test")),
    type: fc.constantFrom("A", "AAAA", "TXT", "MX", "CNAME", "PTR", "SRV", "CAA", "NS", "SOA", "ANY", "AXFR"),
    edns: fc.option(fc.integer({ min: 0, max: 65535 })),
  })
  .map(({ id, rd, name, type, edns }) => encodeQuery({ id, flags: rd ? dns.RECURSION_DESIRED : 0, name, type, edns }));

const mutated = fc
  .tuple(fc.oneof(dnsArb, plain), fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
  .map(([raw, muts]) => {
    const b = Buffer.from(raw);
    for (const [at, v] of muts) if (at < b.length) b[at] = v;
    return b;
  });

test("fast query reader agrees with dns-packet on everything it accepts (40k)", () => {
  fc.assert(fc.property(fc.oneof(dnsArb, plain, mutated), agrees), { numRuns: 40_000, seed });
  // The property says something only if the generator reaches the fast path often.
  assert.ok(accepted > 5_000, `only ${accepted} inputs took the fast path`);
});

test("fast query reader accepts the plain query and refuses the unusual ones", () => {
  const q = (extra: Partial<dns.Packet> = {}) =>
    dns.encode({
      type: "query",
      id: 7,
      flags: dns.RECURSION_DESIRED,
      questions: [{ name: "api.allowed.test", type: "A" }],
      ...extra,
    });
  assert.deepEqual(parseFastQuery(q())?.name, "api.allowed.test");
  assert.equal(parseFastQuery(q())?.udpSize, 512);
  const opt = {
    type: "OPT",
    name: ".",
    udpPayloadSize: 4096,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
  };
  assert.equal(parseFastQuery(q({ additionals: [{ ...opt, options: [] } as dns.Answer] }))?.udpSize, 4096);
  // EDNS options, two questions, a response, non-ASCII label bytes, trailing bytes: full decoder.
  assert.equal(
    parseFastQuery(
      q({ additionals: [{ ...opt, options: [{ code: 10, data: Buffer.alloc(8) }] } as unknown as dns.Answer] }),
    ),
    undefined,
  );
  assert.equal(
    parseFastQuery(
      q({
        questions: [
          { name: "a.test", type: "A" },
          { name: "b.test", type: "A" },
        ],
      }),
    ),
    undefined,
  );
  assert.equal(
    parseFastQuery(dns.encode({ type: "response", id: 1, questions: [{ name: "a.test", type: "A" }] })),
    undefined,
  );
  assert.equal(parseFastQuery(Buffer.concat([q(), Buffer.from([0])])), undefined);
  const dotted = q();
  dotted[13] = 0x2e; // a '.' inside a label
  assert.equal(parseFastQuery(dotted), undefined);
  // A compression pointer in the question.
  const ptr = Buffer.from(q());
  ptr[12] = 0xc0;
  assert.equal(parseFastQuery(ptr), undefined);
});

test("decideName equals decide() for names, identities, ports and grants (20k)", () => {
  const index = fuzzIndex();
  const other = buildIndex(parsePolicy(MODES_POLICY, "modes.yaml").policy, { env: {} });
  const names = [
    "allowed.test",
    "API.allowed.test",
    "x.wild.test",
    "a.b.deep.test",
    "nope.test",
    "127.0.0.1",
    "10.0.0.1",
    "bad_.name",
    "",
  ];
  const identities = [...index.rules.keys(), ...other.rules.keys(), "nobody", undefined];
  fc.assert(
    fc.property(
      fc.constantFrom(...names),
      fc.constantFrom(...identities),
      fc.option(fc.integer({ min: 0, max: 70000 })),
      fc.boolean(),
      fc.integer({ min: 0, max: 3 }),
      (name, identity, port, useOther, now) => {
        const idx = useOther ? other : index;
        const grants = identity ? [{ identity, name: name.toLowerCase(), expires: 2 }] : [];
        const ctx = { grants, now };
        const want = decide(idx, identity, port === null ? { name } : { name, port }, ctx);
        assert.deepEqual(decideName(idx, identity, name, port ?? undefined, ctx), want);
      },
    ),
    { numRuns: 20_000, seed },
  );
});
