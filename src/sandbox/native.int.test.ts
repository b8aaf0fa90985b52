// The native helpers build, and seccomp-gen turns specs into BPF for both architectures,
// cached per spec. (Whether the program holds is the escape suite's job, on the real kernel.)
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { privilegedSkip } from "../testing/privileged.ts";
import { type NativeHelperError, nativeDir, seccompProgram } from "./native.ts";
import { BUILTIN_MINIMAL } from "./profile.ts";
import { seccompSpec } from "./seccomp.ts";

const skip = privilegedSkip({ root: false, commands: ["cc"] });

test("BPF for x86_64 and aarch64, cached by spec; unknown syscalls are refused by name", { skip }, async () => {
  const cache = await mkdtemp(join(tmpdir(), "corral-bpf-"));
  try {
    const dir = nativeDir();
    const x = await seccompProgram(seccompSpec(BUILTIN_MINIMAL, "x86_64"), dir, cache);
    const a = await seccompProgram(seccompSpec(BUILTIN_MINIMAL, "aarch64"), dir, cache);
    assert.notEqual(x, a);
    // classic BPF: 8 bytes per instruction
    for (const f of [x, a]) assert.ok(statSync(f).size > 0 && statSync(f).size % 8 === 0);
    const mtime = statSync(x).mtimeMs;
    assert.equal(await seccompProgram(seccompSpec(BUILTIN_MINIMAL, "x86_64"), dir, cache), x);
    assert.equal(statSync(x).mtimeMs, mtime, "served from the cache");
    const gate = await seccompProgram(seccompSpec({ ...BUILTIN_MINIMAL, network: "gate" }, "x86_64"), dir, cache);
    assert.notEqual(gate, x);
    await assert.rejects(
      seccompProgram(
        seccompSpec({ ...BUILTIN_MINIMAL, syscalls: { allow: [], deny: ["no_such_call"] } }, "x86_64"),
        dir,
        cache,
      ),
      (e: NativeHelperError) => /unknown syscall: no_such_call/.test(e.message),
    );
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
