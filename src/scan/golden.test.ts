// Golden findings over every real deployment file in ../shared/fixtures: (rule, service, file,
// line) per finding, reviewed by hand against the files. Regenerate after a deliberate change
// with UPDATE_GOLDEN=1 and review the diff line by line.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { InputError } from "../model/errors.ts";
import { readDeployment } from "../model/load.ts";
import { computeReachability } from "../model/reachability.ts";
import { fixture, sharedDir, sharedSkip } from "../testing/shared.ts";
import { scan } from "./scan.ts";
import { sourcesFrom } from "./sources.ts";

const GOLDEN = new URL("./golden/", import.meta.url).pathname;
const skip = sharedSkip();

function deploymentFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return deploymentFiles(p);
      return /\.ya?ml$/.test(name) ? [p] : [];
    })
    .sort();
}

export function goldenName(root: string, file: string): string {
  return `${relative(root, file)
    .replace(/\.ya?ml$/, "")
    .replace(/[/\\]/g, "__")}.json`;
}

export function scanFixture(file: string) {
  const deployment = readDeployment([file], { env: {} });
  const texts: Record<string, string> = {};
  for (const f of new Set([...deployment.files, ...deployment.services.map((s) => s.pos.file)]))
    texts[f] = readFileSync(f, "utf8");
  return scan({ deployment, reach: computeReachability(deployment), sources: sourcesFrom(texts) });
}

const root = skip ? "" : join(sharedDir() ?? "", "fixtures");
const files = skip ? [] : deploymentFiles(root);

for (const file of files) {
  const name = goldenName(root, file);
  test(`golden findings: ${name}`, { skip }, () => {
    let actual: unknown;
    try {
      actual = scanFixture(file).findings.map((f) => ({
        ruleId: f.ruleId,
        service: f.service,
        file: relative(root, f.pos.file),
        line: f.pos.line,
      }));
    } catch (err) {
      // Unreadable as deployed without a .env (e.g. `${VAR:?msg}`): the golden records the
      // error and its position, which is what `corral scan` prints before exiting 2.
      if (!(err instanceof InputError)) throw err;
      actual = {
        error: err.message.replaceAll(`${root}/`, ""),
        file: err.pos ? relative(root, err.pos.file) : undefined,
        line: err.pos?.line,
      };
    }
    const path = join(GOLDEN, name);
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path))
      writeFileSync(path, `${JSON.stringify(actual, null, 2)}\n`);
    assert.deepEqual(actual, JSON.parse(readFileSync(path, "utf8")));
  });
}

test("openhands: the docker.sock mount and the 0.0.0.0 publish at their exact lines", { skip }, () => {
  const r = scanFixture(fixture("compose", "openhands", "docker-compose.yml"));
  const text = readFileSync(fixture("compose", "openhands", "docker-compose.yml"), "utf8").split("\n");
  const sock = r.findings.find((f) => f.ruleId === "CRL-M001");
  assert.equal(sock?.pos.line, 18);
  assert.match(text[(sock?.pos.line ?? 0) - 1] ?? "", /- \/var\/run\/docker\.sock:\/var\/run\/docker\.sock/);
  const pub = r.findings.find((f) => f.ruleId === "CRL-N001");
  assert.equal(pub?.pos.line, 14);
  assert.match(text[(pub?.pos.line ?? 0) - 1] ?? "", /- "3000:3000"/);
});

test("superagi: flat network, default Postgres password, latest image", { skip }, () => {
  const file = fixture("compose", "superagi", "docker-compose.yaml");
  const r = scanFixture(file);
  const text = readFileSync(file, "utf8").split("\n");
  const at = (id: string, service: string) => r.findings.find((f) => f.ruleId === id && f.service === service);
  const flat = r.findings.find((f) => f.ruleId === "CRL-N006");
  assert.match(flat?.message ?? "", /super_network/);
  assert.match(text[(flat?.pos.line ?? 0) - 1] ?? "", /- super_network/);
  const pw = at("CRL-S003", "super__postgres");
  assert.equal(pw?.pos.line, 49);
  assert.match(text[48] ?? "", /POSTGRES_PASSWORD=password/);
  const latest = at("CRL-I001", "super__redis");
  assert.equal(latest?.pos.line, 36);
  assert.match(text[35] ?? "", /redis-stack-server:latest/);
});

test("golden files exist for every fixture and none are orphaned", { skip }, () => {
  const expected = new Set(files.map((f) => goldenName(root, f)));
  const present = readdirSync(GOLDEN).filter((f) => f.endsWith(".json"));
  assert.deepEqual(
    present.filter((f) => !expected.has(f)),
    [],
  );
  assert.equal(expected.size, files.length);
});
