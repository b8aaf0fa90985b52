import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { composeFromText } from "../model/compose/index.ts";
import { computeReachability } from "../model/reachability.ts";
import { parsePolicy } from "../policy/index.ts";
import { policyView } from "../scan/policy-view.ts";
import { scan } from "../scan/scan.ts";
import { sourcesFrom } from "../scan/sources.ts";
import { scanComposeText, scanK8sText } from "../scan/testing.ts";
import { sharedSkip } from "../testing/shared.ts";
import { renderDot, renderJson, renderMarkdown, renderMermaid, renderSarif, renderText, toSarif } from "./index.ts";
import { sarifValidator } from "./testing.ts";

const COMPOSE = `services:
  proxy:
    image: nginx:1.27
    ports: ["80:80"]
  api:
    image: acme/api:1.0
    privileged: true  # corral-ignore CRL-R001: test fixture
  postgres:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: postgres
`;

test("text: grouped by service, source line with its number, suppressed listed with reason", async () => {
  const r = await scanComposeText(COMPOSE);
  const out = renderText(r, { sources: sourcesFrom({ "/project/compose.yaml": COMPOSE }) });
  assert.match(out, /^postgres$/m);
  assert.match(out, /CRL-S003 {2}POSTGRES_PASSWORD is set to the default password "postgres"/);
  assert.match(out, /11 │ {7}POSTGRES_PASSWORD: postgres/);
  assert.match(out, /suppressed\n {2}CRL-R001 {2}api {2}\/project\/compose.yaml:7 {2}\(inline: test fixture\)/);
  assert.match(out, /1 suppressed, 3 services\n$/);
  assert.doesNotMatch(out, /\u001b\[/);
  assert.match(renderText(r, { color: true }), /\u001b\[31mHIGH/);
});

test("json: versioned, stable shape", async () => {
  const r = await scanComposeText(COMPOSE);
  const j = JSON.parse(renderJson(r, { toolVersion: "1.2.3" }));
  assert.equal(j.schemaVersion, 1);
  assert.equal(j.tool.version, "1.2.3");
  assert.deepEqual(Object.keys(j), [
    "schemaVersion",
    "tool",
    "platform",
    "files",
    "summary",
    "services",
    "findings",
    "reachability",
  ]);
  const f = j.findings.find((x: { ruleId: string }) => x.ruleId === "CRL-S003");
  assert.deepEqual(Object.keys(f), [
    "ruleId",
    "severity",
    "title",
    "service",
    "message",
    "location",
    "related",
    "fingerprint",
    "profiles",
    "suppressed",
  ]);
  assert.deepEqual(f.related, []);
  assert.deepEqual(f.location, { file: "/project/compose.yaml", line: 11, column: 7 });
  assert.equal(j.findings.find((x: { ruleId: string }) => x.ruleId === "CRL-R001").suppressed.reason, "test fixture");
  assert.deepEqual(
    j.services.map((s: { id: string; tier: string }) => [s.id, s.tier]),
    [
      ["proxy", "web"],
      ["api", "agents"],
      ["postgres", "data"],
    ],
  );
});

test("sarif: validates against the 2.1.0 schema", { skip: sharedSkip() }, async () => {
  const r = await scanComposeText(COMPOSE);
  const doc = JSON.parse(renderSarif(r, { displayPath: (f) => f.replace("/project/", ""), toolVersion: "0.1.0" }));
  assert.equal(sarifValidator()(doc), undefined);
});

test("sarif: a real fixture's report validates too", { skip: sharedSkip() }, async () => {
  const { readDeployment } = await import("../model/load.ts");
  const { fixture } = await import("../testing/shared.ts");
  const file = fixture("compose", "openhands", "dev-compose.yml");
  const deployment = readDeployment([file], { env: {} });
  const r = scan({
    deployment,
    reach: computeReachability(deployment),
    sources: sourcesFrom({ [file]: readFileSync(file, "utf8") }),
  });
  const doc = toSarif(r, { displayPath: (f) => f.replace(/^.*\/fixtures\//, "") });
  assert.equal(sarifValidator()(JSON.parse(JSON.stringify(doc))), undefined);
  const m001 = doc.runs[0]?.results.find((x) => x.ruleId === "CRL-M001");
  assert.equal(m001?.locations[0]?.physicalLocation.artifactLocation.uri, "compose/openhands/dev-compose.yml");
  assert.equal(m001?.locations[0]?.physicalLocation.region.startLine, 23);
});

test("sarif: rules carry help markdown and security-severity; results fingerprints and suppressions", async () => {
  const r = await scanComposeText(COMPOSE);
  const s = toSarif(r, { displayPath: (f) => f.replace("/project/", "") });
  const run = s.runs[0]!;
  const rule = run.tool.driver.rules.find((x) => x.id === "CRL-S003")!;
  assert.equal(rule.properties["security-severity"], "8.0");
  assert.match(rule.help.markdown, /```yaml/);
  const res = run.results.find((x) => x.ruleId === "CRL-S003")!;
  assert.equal(res.locations[0]?.physicalLocation.artifactLocation.uri, "compose.yaml");
  assert.equal(res.locations[0]?.physicalLocation.region.startLine, 11);
  assert.match(res.partialFingerprints["corralFindingHash/v1"], /^[0-9a-f]{32}$/);
  assert.equal(run.results.find((x) => x.ruleId === "CRL-R001")?.suppressions?.[0]?.kind, "inSource");
  assert.equal(run.tool.driver.rules[res.ruleIndex!]?.id, "CRL-S003");
});

const HOSTPATH = `apiVersion: apps/v1
kind: Deployment
metadata: { name: agent, namespace: agents }
spec:
  template:
    spec:
      containers:
        - name: agent
          image: acme/agent:1.0
          volumeMounts:
            - name: sock
              mountPath: /var/run/docker.sock
      volumes:
        - name: sock
          hostPath: { path: /var/run/docker.sock }
`;

test("related locations: a hostPath finding is at the volume; the mount is shown in text, JSON and SARIF", async () => {
  const r = await scanK8sText(HOSTPATH);
  const k6 = r.findings.find((f) => f.ruleId === "CRL-K006");
  assert.equal(k6?.pos.line, 15);
  assert.deepEqual(
    k6?.related?.map((x) => [x.pos.line, x.message]),
    [[11, "mounted at /var/run/docker.sock"]],
  );
  const text = renderText(r, { sources: sourcesFrom({ "/project/manifest.yaml": HOSTPATH }) });
  assert.match(
    text,
    /CRL-K006 .*\n {4}\/project\/manifest.yaml:15:\d+ .*\n(.*\n)*? {4}↳ \/project\/manifest.yaml:11:15 {2}mounted at \/var\/run\/docker.sock {2}│ - name: sock/,
  );
  const json = JSON.parse(renderJson(r)).findings.find((f: { ruleId: string }) => f.ruleId === "CRL-K006");
  assert.deepEqual(json.related, [
    { file: "/project/manifest.yaml", line: 11, column: 15, message: "mounted at /var/run/docker.sock" },
  ]);
  const sarif = toSarif(r).runs[0]?.results.find((x) => x.ruleId === "CRL-K006");
  assert.deepEqual(sarif?.locations[0]?.physicalLocation.region, { startLine: 15, startColumn: 11 });
  assert.deepEqual(sarif?.relatedLocations, [
    {
      id: 1,
      physicalLocation: {
        artifactLocation: { uri: "file:///project/manifest.yaml" },
        region: { startLine: 11, startColumn: 15 },
      },
      message: { text: "mounted at /var/run/docker.sock" },
    },
  ]);
});

test("related locations: SARIF with relatedLocations validates against the 2.1.0 schema", {
  skip: sharedSkip(),
}, async () => {
  const doc = toSarif(await scanK8sText(HOSTPATH));
  assert.ok(doc.runs[0]?.results.some((x) => x.relatedLocations));
  assert.equal(sarifValidator()(JSON.parse(JSON.stringify(doc))), undefined);
});

test("related locations: a suppression written on the mount still applies after the finding moved to the volume", async () => {
  const text = HOSTPATH.replace(
    "- name: sock\n              mountPath",
    "- name: sock  # corral-ignore CRL-K006, CRL-M001: builder\n              mountPath",
  );
  const r = await scanK8sText(text);
  for (const id of ["CRL-K006", "CRL-M001"]) {
    const f = r.findings.find((x) => x.ruleId === id);
    assert.equal(f?.suppressed?.reason, "builder", id);
  }
});

test("markdown: summary and table", async () => {
  const r = await scanComposeText(COMPOSE);
  const md = renderMarkdown(r, { displayPath: (f) => f.replace("/project/", "") });
  assert.match(md, /^### Corral scan/);
  assert.match(md, /\| 🔴 \| `CRL-S003` \| postgres \| `compose.yaml:11` \|/);
  assert.match(md, /<details><summary>1 suppressed<\/summary>/);
});

test("mermaid and dot: tiers as subgraphs, edges; undeclared edges red with a policy", () => {
  const text = `services:
  api: { image: acme/api:1.0, networks: [back] }
  postgres: { image: postgres:16, networks: [back] }
networks:
  back: {}
`;
  const deployment = composeFromText(text, { env: {} });
  const reach = computeReachability(deployment);
  const loaded = parsePolicy(
    `version: 1
zones:
  api: { services: [api] }
  data: { services: [postgres] }
flows:
  - { from: api, to: data, ports: [5432/tcp] }
`,
    "/project/corral.yaml",
  );
  const policy = policyView(loaded, deployment);
  const r = scan({ deployment, reach, sources: sourcesFrom({}), policy });
  const mm = renderMermaid(r);
  assert.match(mm, /subgraph g\d\["data"\]\n {4}s1\["postgres"\]/);
  assert.match(mm, /s0 -- "all ports" --> s1/);
  assert.match(mm, /linkStyle 0,1 stroke:#d00/);
  const dot = renderDot(r);
  assert.match(dot, /subgraph cluster_\d+ \{\n {4}label="api";/);
  assert.match(dot, /s1 -> s0 \[label="all ports", color=red/);
  const plain = renderMermaid(scan({ deployment, reach, sources: sourcesFrom({}) }));
  assert.doesNotMatch(plain, /linkStyle/);
  assert.match(plain, /subgraph g\d\["agents"\]/);
  assert.ok(r.findings.some((f) => f.ruleId === "CRL-P001" && f.service === "api"));
});
