// Scan cost on a large generated compose file (2,000 services, 200 networks) against the anchor
// of `yaml` alone parsing the same text, in the same run; median of several runs each.
// usage: node bench/scan/run.ts     → bench/results/scan.json    (goal: scan ≤ 3× yaml parse)
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { LineCounter, parse, parseDocument } from "yaml";
import { composeFromText } from "../../src/model/compose/index.ts";
import { computeReachability } from "../../src/model/reachability.ts";
import { renderJson } from "../../src/report/index.ts";
import { scan } from "../../src/scan/scan.ts";
import { sourcesFrom } from "../../src/scan/sources.ts";

const SERVICES = 2000;
const NETWORKS = 200;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const IMAGES = [
  "postgres:16",
  "redis:7",
  "nginx:1.27",
  "acme/agent:1.0",
  "qdrant/qdrant:latest",
  "acme/api@sha256:00aa",
  "traefik:v3.1",
];

/** A realistic mix: ports, env (some secrets), binds, caps, labels, limits on some. */
export function generate(services = SERVICES, networks = NETWORKS): string {
  const out: string[] = ["name: bench", "services:"];
  for (let i = 0; i < services; i++) {
    const image = IMAGES[i % IMAGES.length];
    out.push(`  svc${i}:`, `    image: ${image}`);
    out.push("    networks:", `      - net${i % networks}`, `      - net${(i * 7 + 3) % networks}`);
    // Like real stacks, few services publish: 1 in 50 on all interfaces, 1 in 25 on loopback.
    // (Every container can reach a host-published port, so each one adds ~2,000 edges.)
    if (i % 50 === 0) out.push("    ports:", `      - "${10000 + i}:8080"`);
    else if (i % 25 === 0) out.push("    ports:", `      - "127.0.0.1:${20000 + i}:9090"`);
    out.push(
      "    environment:",
      `      - APP_NAME=svc${i}`,
      `      - API_TOKEN=\${API_TOKEN_${i}}`,
      i % 50 === 0 ? "      - POSTGRES_PASSWORD=postgres" : `      - LOG_LEVEL=info`,
    );
    out.push("    volumes:", `      - ./data/${i}:/data`, `      - vol${i % 10}:/cache:ro`);
    if (i % 10 === 0) out.push("    cap_add:", "      - NET_ADMIN", "    privileged: true");
    if (i % 2 === 0)
      out.push("    security_opt:", "      - no-new-privileges:true", "    cap_drop: [ALL]", "    read_only: true");
    if (i % 4 === 0)
      out.push("    deploy:", "      resources:", "        limits: { memory: 512m, cpus: '0.5', pids: 256 }");
    out.push(
      "    labels:",
      `      traefik.http.routers.r${i}.rule: Host(\`s${i}.example\`)`,
      "    restart: unless-stopped",
    );
  }
  out.push("networks:");
  for (let n = 0; n < networks; n++) out.push(`  net${n}:`, ...(n % 2 === 0 ? ["    internal: true"] : []));
  out.push("volumes:");
  for (let v = 0; v < 10; v++) out.push(`  vol${v}: {}`);
  return `${out.join("\n")}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function main(): void {
  const text = generate();
  const file = "/bench/compose.yaml";
  const sources = sourcesFrom({ [file]: text });

  const yamlParse: number[] = [];
  const yamlDocument: number[] = [];
  const read: number[] = [];
  const reach: number[] = [];
  const rules: number[] = [];
  const json: number[] = [];
  const total: number[] = [];
  let findings = 0;
  let edges = 0;

  // One warm-up of everything, then interleaved runs so drift hits anchor and subject alike.
  for (let run = 0; run <= RUNS; run++) {
    const a = time(() => parse(text, { maxAliasCount: -1 }));
    const b = time(() => parseDocument(text, { lineCounter: new LineCounter() }));
    let d: ReturnType<typeof composeFromText> | undefined;
    let r: ReturnType<typeof computeReachability> | undefined;
    const tRead = time(() => {
      d = composeFromText(text, { file, env: {} });
    });
    const tReach = time(() => {
      r = computeReachability(d!);
    });
    let res: ReturnType<typeof scan> | undefined;
    const tRules = time(() => {
      res = scan({ deployment: d!, reach: r!, sources });
      findings = res.findings.length;
    });
    const tJson = time(() => renderJson(res!));
    edges = r!.edges.length;
    if (run === 0) continue;
    yamlParse.push(a);
    yamlDocument.push(b);
    read.push(tRead);
    reach.push(tReach);
    rules.push(tRules);
    json.push(tJson);
    total.push(tRead + tReach + tRules);
  }

  const anchor = median(yamlParse);
  const result = {
    bench: "scan",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "?", node: process.version },
    input: {
      services: SERVICES,
      networks: NETWORKS,
      bytes: Buffer.byteLength(text),
      lines: text.split("\n").length,
      edges,
      findings,
    },
    runs: RUNS,
    anchor: { name: "yaml.parse(text) — yaml alone, same text, same run", medianMs: Math.round(anchor * 10) / 10 },
    medianMs: {
      yamlParseDocumentWithLineCounter: Math.round(median(yamlDocument) * 10) / 10,
      readCompose: Math.round(median(read) * 10) / 10,
      reachability: Math.round(median(reach) * 10) / 10,
      rulesAndSuppressions: Math.round(median(rules) * 10) / 10,
      jsonReportNotInTotal: Math.round(median(json) * 10) / 10,
      scanTotal: Math.round(median(total) * 10) / 10,
    },
    ratio: {
      scanTotalVsYamlParse: Math.round((median(total) / anchor) * 100) / 100,
      rulesOnlyVsYamlParse: Math.round((median(rules) / anchor) * 100) / 100,
    },
    goal: "scanTotalVsYamlParse <= 3",
  };
  result.goal = `scanTotalVsYamlParse <= 3: ${result.ratio.scanTotalVsYamlParse <= 3 ? "met" : "NOT met"}`;

  const dir = join(import.meta.dirname, "..", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "scan.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

if (import.meta.main) main();
