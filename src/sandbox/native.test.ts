import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NativeHelperError, nativeDir } from "./native.ts";

test("missing helpers are an error with the fix; nothing is built at run time", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-native-"));
  try {
    assert.throws(
      () => nativeDir(dir),
      (e: NativeHelperError) =>
        e instanceof NativeHelperError &&
        /seccomp-gen, netstub, launch missing/.test(e.message) &&
        /build-native\.sh/.test(e.hint ?? ""),
    );
    assert.deepEqual(readdirSync(dir), [], "nothing was built into the directory");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the helpers are built by the package's install script", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.match(pkg.scripts.install, /scripts\/build-native\.sh/);
});
