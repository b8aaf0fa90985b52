import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { after, test } from "node:test";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { policyJsonSchemaText } from "../policy/json-schema.ts";
import { runCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";

const tmp = mkdtempSync(join(tmpdir(), "corral-init-schema-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const compose = join(tmp, "docker-compose.yml");
writeFileSync(
  compose,
  `services:
  web:
    image: nginx
    ports: ["8080:80"]
    depends_on: [api]
  api:
    image: example/api
    environment:
      DATABASE_URL: postgres://u:p@db:5432/app
  db:
    image: postgres:16
`,
);

function schemaRefOf(policyText: string): string {
  const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(policyText);
  assert.ok(m, `no schema modeline on the first line:\n${policyText.split("\n")[0]}`);
  return m[1]!;
}

function npmPackFiles(): string[] | undefined {
  try {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

test("corral init points $schema at a file this Corral ships, which validates the policies", async () => {
  mkdirSync(join(tmp, "policy"), { recursive: true });
  const r = await runCli(["init", "-f", compose, "-o", "policy/corral.yaml"], { cwd: tmp });
  assert.equal(r.code, 0, r.err);
  const written = join(tmp, "policy", "corral.yaml");
  const text = readFileSync(written, "utf8");
  const ref = schemaRefOf(text);
  assert.doesNotMatch(ref, /^[a-z]+:/i, "a path, not an address someone else serves");
  // yaml-language-server resolves a relative $schema against the policy's own directory.
  const schemaFile = resolve(dirname(written), ref);
  assert.ok(existsSync(schemaFile), `${ref} does not resolve from ${dirname(written)}`);
  const content = readFileSync(schemaFile, "utf8");
  assert.equal(content, policyJsonSchemaText(), "the schema of this version, not an older copy");

  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(content));
  const example = parse(readFileSync(join(PROJECT_ROOT, "examples", "superagi", "corral.yaml"), "utf8"));
  assert.equal(validate(example), true, JSON.stringify(validate.errors));
  assert.equal(validate(parse(text)), true, JSON.stringify(validate.errors));
  assert.equal(validate({ version: 1, zonez: {} }), false);
});

test("corral init --stdout resolves the schema from the working directory", async () => {
  const r = await runCli(["init", "-f", compose, "--stdout"], { cwd: tmp });
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(resolve(tmp, schemaRefOf(r.out))));
});

const packed = npmPackFiles();

test("the schema init refers to is in the npm package", { skip: packed ? false : "npm not found" }, async () => {
  const r = await runCli(["init", "-f", compose, "--stdout"], { cwd: tmp });
  const inPackage = relative(PROJECT_ROOT, resolve(tmp, schemaRefOf(r.out)));
  assert.ok(packed!.includes(inPackage), `${inPackage} is not in npm pack --dry-run`);
});
