// What ships: the build (tsconfig.build.json) compiles no test helper, and it compiles at all
// without them — so nothing shipped imports one.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HELPER = /(^src\/testing\/|\/testkit\.ts$|\/testing\.ts$|\/fuzz-targets\.ts$|\.test\.ts$)/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [relative(ROOT, join(dir, e.name))] : [],
  );
}

test("the build compiles every shipped source and no test helper", () => {
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  const listed = execFileSync(tsc, ["-p", "tsconfig.build.json", "--listFilesOnly"], { cwd: ROOT })
    .toString()
    .split("\n")
    .filter((f) => f.startsWith(join(ROOT, "src")))
    .map((f) => relative(ROOT, f));
  assert.deepEqual(
    listed.filter((f) => HELPER.test(f)),
    [],
    "test helpers in the build",
  );
  const helpers = sources(join(ROOT, "src")).filter((f) => HELPER.test(f) && !f.endsWith(".test.ts"));
  assert.ok(helpers.length >= 5, `found the helpers: ${helpers.join(", ")}`);
  // The build type-checks with them excluded: no shipped file imports a helper.
  execFileSync(tsc, ["-p", "tsconfig.build.json", "--noEmit"], { cwd: ROOT, stdio: "pipe" });
});
