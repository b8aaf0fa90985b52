// The house rules of DESIGN.md (dependencies point down, capabilities meet only through their
// index.ts, shipped code never imports a test helper) are lint rules in biome.json. This proves
// they fire: a probe file is linted under the repository's own configuration, in a scratch
// copy of the layout, so nothing is ever written into src/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIOME = join(ROOT, "node_modules", ".bin", "biome");

/** Lints `source` as the file `path` (relative to the repository); returns the diagnostics text, "" when clean. */
function lintAs(path: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "corral-house-"));
  try {
    const config = JSON.parse(readFileSync(join(ROOT, "biome.json"), "utf8"));
    config.$schema = undefined;
    config.vcs = { enabled: false };
    writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
    try {
      execFileSync(BIOME, ["lint", "--only=style/noRestrictedImports", path], { cwd: dir, stdio: "pipe" });
      return "";
    } catch (err) {
      return String((err as { stdout?: Buffer }).stdout ?? "") + String((err as { stderr?: Buffer }).stderr ?? "");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const probe = (from: string) => `import * as m from ${JSON.stringify(from)};\nexport const x = m;\n`;

test("forbidden imports fail the lint, each with the rule it breaks", () => {
  const cases: [string, string, RegExp][] = [
    ["src/policy/probe.ts", "../model/types.ts", /policy\/ imports nothing of Corral/],
    ["src/model/probe.ts", "../scan/index.ts", /model\/ imports only policy\//],
    ["src/report/probe.ts", "../cli/main.ts", /never imports cli\//],
    ["src/gate/probe.ts", "../sandbox/index.ts", /gate\/ does not use/],
    ["src/lab/probe.ts", "../compile/plan.ts", /reaches compile\/ only through compile\/index\.ts/],
    ["src/ui/probe.ts", "../gate/admin.ts", /reaches gate\/ only through gate\/index\.ts/],
    ["src/scan/probe.ts", "../testing/shared.ts", /never imports a test helper/],
    ["src/cli/probe.ts", "../gate/testkit.ts", /never imports a test helper/],
  ];
  for (const [path, from, why] of cases) assert.match(lintAs(path, probe(from)), why, `${path} importing ${from}`);
});

test("permitted imports pass", () => {
  for (const [path, from] of [
    ["src/model/probe.ts", "../policy/index.ts"],
    ["src/gate/dns/probe.ts", "../../policy/destination.ts"],
    ["src/lab/probe.ts", "../compile/index.ts"],
    ["src/engine/probe.ts", "../lab/index.ts"],
    ["src/cli/probe.ts", "../gate/decide.ts"],
    ["src/gate/probe.test.ts", "./testkit.ts"],
  ])
    assert.equal(lintAs(path!, probe(from!)), "", `${path} importing ${from}`);
});
