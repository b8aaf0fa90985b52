// The decision layer's cases, as plain values: every reason code, grants before and after they
// expire (through the remembering paths too), the tunnel's TLS check, the Host check and the
// rebinding filter. Run twice by reason.test.ts — with the shipped wording and with every
// reason rewritten — to prove that only people read the words.
import type * as dns from "dns-packet";
import ipaddr from "ipaddr.js";
import { type BrokerRequest, brokerRequest } from "../gate/credentials/broker.ts";
import { type Decision, decide } from "../gate/decide.ts";
import { decideAnswers } from "../gate/decide-answers.ts";
import { decideName } from "../gate/decide-cached.ts";
import { decideHttpRequest } from "../gate/decide-http.ts";
import { badRequest, decideHostHeader, limited } from "../gate/decide-request.ts";
import { decideTunnelStart, TUNNEL_START_TIMEOUT } from "../gate/decide-tls.ts";
import { buildIndex } from "../gate/policy-index.ts";
import { parsePolicy } from "../policy/load.ts";

export const CASES_POLICY = `version: 1
zones:
  agents: { services: [celery] }
identities:
  rep: { source: [10.203.1.1/32] }
  lrn: { source: [10.203.1.2/32] }
  silent: { source: [10.203.1.3/32] }
egress:
  - name: agents-llm
    from: agents
    allow: [api.openai.com:443, "10.20.0.5:8000"]
    deny: [blocked.openai.com]
    approval: ask
  - from: rep
    mode: report
    allow: [pypi.org:443]
    deny: [evil.example]
  - from: lrn
    mode: learn
credentials:
  openai:
    value: { env: OPENAI_API_KEY }
    for: agents
    to: { host: api.openai.com, methods: [POST], paths: [/v1/chat/completions] }
requests:
  - from: agents
    host: api.openai.com
    allow: ["POST /v1/chat/completions"]
    deny: ["* /v1/files"]
floor:
  allow_ranges: [10.20.0.0/16]
`;

/** What behaviour may depend on: everything in a decision but its words. */
export interface Outcome {
  label: string;
  result: string;
}

function summary(d: Decision | "ok" | "wait" | undefined): string {
  if (d === undefined || typeof d === "string") return String(d);
  return JSON.stringify([
    d.verdict,
    d.mode,
    d.code,
    d.rule.id,
    d.rule.name,
    d.wouldDeny ?? false,
    d.approvable ?? false,
    d.dependsOnGrants ?? false,
    d.name ?? null,
  ]);
}

function clientHello(serverName: string): Buffer {
  const name = Buffer.from(serverName);
  const sni = Buffer.concat([
    Buffer.from([0x00, 0x00]),
    u16(name.length + 5),
    u16(name.length + 3),
    Buffer.from([0x00]),
    u16(name.length),
    name,
  ]);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 7),
    Buffer.from([0x00]),
    u16(2),
    Buffer.from([0x13, 0x01]),
    Buffer.from([0x01, 0x00]),
    u16(sni.length),
    sni,
  ]);
  const hs = Buffer.concat([Buffer.from([0x01, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

const a = (data: string): dns.Answer => ({ type: "A", name: "x", ttl: 60, data }) as dns.Answer;

/** Runs every case against a fresh policy index (so a fresh cache) and returns the outcomes. */
export function runDecisionCases(): Outcome[] {
  const index = buildIndex(parsePolicy(CASES_POLICY, "cases.yaml").policy, {
    serviceMap: { celery: "172.18.0.5" },
  });
  const out: Outcome[] = [];
  const push = (label: string, d: Decision | "ok" | "wait" | undefined) => out.push({ label, result: summary(d) });
  const ip = (s: string) => ipaddr.parse(s);
  push("listed", decide(index, "celery", { name: "api.openai.com", port: 443 }));
  push("listed-address", decide(index, "celery", { ip: ip("10.20.0.5"), port: 8000 }));
  push("deny-listed", decide(index, "celery", { name: "blocked.openai.com", port: 443 }));
  push("unlisted", decide(index, "celery", { name: "new.example", port: 443 }));
  push("report-unlisted", decide(index, "rep", { name: "other.example", port: 443 }));
  push("report-deny-listed", decide(index, "rep", { name: "evil.example", port: 443 }));
  push("learn", decide(index, "lrn", { name: "anything.example", port: 443 }));
  push("floor", decide(index, "celery", { name: "169.254.169.254", port: 80 }));
  push("identity-unknown", decide(index, undefined, { name: "api.openai.com", port: 443 }));
  push("no-rule", decide(index, "silent", { name: "api.openai.com", port: 443 }));
  push("invalid-name", decide(index, "celery", { name: "bad_name..example", port: 443 }));
  push("invalid-address", decide(index, "celery", { name: "1.2.3.4.5", port: 443 }));
  push("invalid-port", decide(index, "celery", { name: "api.openai.com", port: 70000 }));
  // A grant, asked three times on the remembering path: before, again (not remembered as
  // allowed), and after it expired.
  const grants = [{ identity: "celery", name: "new.example", port: 443, expires: 2000 }];
  push("grant", decideName(index, "celery", "new.example", 443, { grants, now: 1000 }));
  push("grant-again", decideName(index, "celery", "new.example", 443, { grants, now: 1500 }));
  push("grant-expired", decideName(index, "celery", "new.example", 443, { grants, now: 2500 }));
  push("grant-dns", decideName(index, "celery", "new.example", undefined, { grants, now: 1000 }));
  push("grant-dns-expired", decideName(index, "celery", "new.example", undefined, { grants, now: 2500 }));
  push("listed-remembered", decideName(index, "celery", "api.openai.com", 443, {}));
  push("listed-remembered-again", decideName(index, "celery", "api.openai.com", 443, {}));
  const allowed = decide(index, "celery", { name: "api.openai.com" });
  const rebound = decideAnswers(index.floor, allowed, "A", [a("10.1.2.3"), a("127.0.0.1")]);
  push("rebinding", rebound.decision);
  out.push({ label: "rebinding-kept", result: String(rebound.answers.length) });
  const mixed = decideAnswers(index.floor, allowed, "A", [a("10.1.2.3"), a("93.184.216.34")]);
  push("mixed-answers", mixed.decision);
  out.push({ label: "mixed-kept", result: String(mixed.answers.length) });
  const authority = { host: "api.openai.com", port: 443 };
  push("tls-ok", decideTunnelStart(clientHello("api.openai.com"), "api.openai.com", authority));
  push("sni-mismatch", decideTunnelStart(clientHello("evil.example"), "api.openai.com", authority));
  push("tls-wait", decideTunnelStart(clientHello("api.openai.com").subarray(0, 20), "api.openai.com", authority));
  push("tls-malformed", decideTunnelStart(Buffer.from([0x16, 0x09, 0, 0, 0, 0]), "api.openai.com", authority));
  push("not-tls", decideTunnelStart(Buffer.from("GET / HTTP/1.1\r\n"), "api.openai.com", authority));
  push("not-tls-elsewhere", decideTunnelStart(Buffer.from("SSH-2.0"), "x", { host: "x", port: 22 }));
  push("tls-timeout", TUNNEL_START_TIMEOUT);
  const target = { host: "api.openai.com", port: 80, authority: "api.openai.com" };
  push("host-ok", decideHostHeader("API.OpenAI.com:80", target));
  push("host-mismatch", decideHostHeader("evil.example", target));
  push("bad-request", badRequest("request head too large"));
  push("rate-limited", limited("rate-limited", "request rate"));
  push("overloaded", limited("overloaded", "2 connections"));
  const http = (method: string, path: string) => ({ host: "api.openai.com", port: 443, method, path });
  push("request-listed", decideHttpRequest(index.credentials, "celery", http("POST", "/v1/chat/completions")));
  push("request-denied", decideHttpRequest(index.credentials, "celery", http("GET", "/v1/files")));
  push("request-unlisted", decideHttpRequest(index.credentials, "celery", http("GET", "/v1/models")));
  push("path-ambiguous", decideHttpRequest(index.credentials, "celery", http("POST", "/v1/chat/completions/../x")));
  const placeholder = index.credentials.placeholders.find((p) => p.principal === "celery")!.text;
  const brokered = (over: Partial<BrokerRequest>) => {
    const r = brokerRequest(
      index.credentials,
      {
        identity: "celery",
        host: "api.openai.com",
        port: 443,
        method: "POST",
        target: "/v1/chat/completions",
        headers: [["Authorization", `Bearer ${placeholder}`]],
        tls: true,
        ...over,
      },
      () => "real",
    );
    return r.kind === "unavailable" ? undefined : r.decision;
  };
  push("brokered", brokered({}));
  push("credential-exfiltration", brokered({ host: "pypi.org" }));
  push("credential-forbidden", brokered({ identity: "rep" }));
  push("credential-scope", brokered({ method: "GET" }));
  return out;
}

/** The reason codes the cases produced (reason.test.ts checks they are all of them). */
export function codesSeen(outcomes: readonly Outcome[]): Set<string> {
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (!o.result.startsWith("[")) continue;
    seen.add(JSON.parse(o.result)[2] as string);
  }
  return seen;
}
