// The spec only; the BPF it becomes is tested against the real kernel in escape.int.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BUILTIN_MINIMAL } from "./profile.ts";
import { DEFAULT_DENY, hostArch, seccompSpec } from "./seccomp.ts";

const lines = (t: string) => t.trim().split("\n");

test("default deny set, EPERM; clone3 ENOSYS; clone namespace flags", () => {
  const s = lines(seccompSpec(BUILTIN_MINIMAL, "x86_64").text);
  assert.equal(s[0], "arch x86_64");
  for (const sc of [
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "unshare",
    "setns",
  ]) {
    assert.ok(s.includes(`errno 1 ${sc}`), sc);
  }
  assert.ok(s.includes("errno 38 clone3"));
  assert.ok(s.includes("errno-arg-masked 1 clone 0 0x10000000 0x10000000"), "CLONE_NEWUSER");
});

test("sockets: only AF_UNIX without network, plus AF_INET/AF_INET6 with the gate; EAFNOSUPPORT", () => {
  const none = seccompSpec(BUILTIN_MINIMAL, "x86_64").text;
  const gate = seccompSpec({ ...BUILTIN_MINIMAL, network: "gate" }, "x86_64").text;
  assert.ok(!none.includes("socket 0 1\n"));
  assert.ok(none.includes("errno-arg-eq 97 socket 0 2\n") && none.includes("errno-arg-eq 97 socket 0 10\n"));
  assert.ok(none.includes("errno-arg-eq 97 socket 0 17\n"), "AF_PACKET");
  assert.ok(!gate.includes("socket 0 2\n") && !gate.includes("socket 0 10\n"));
  assert.ok(gate.includes("errno-arg-ge 97 socket 0 46\n"));
});

test("profile allow removes from the default set, deny adds; bad names are refused", () => {
  const p = { ...BUILTIN_MINIMAL, syscalls: { allow: ["ptrace", "clone3"], deny: ["mincore"] } };
  const s = lines(seccompSpec(p, "aarch64").text);
  assert.equal(s[0], "arch aarch64");
  assert.ok(!s.includes("errno 1 ptrace"));
  assert.ok(!s.includes("errno 38 clone3"));
  assert.ok(s.includes("errno 1 mincore"));
  assert.equal(s.filter((l) => l.startsWith("errno 1 ")).length, DEFAULT_DENY.length);
  assert.throws(
    () => seccompSpec({ ...BUILTIN_MINIMAL, syscalls: { allow: [], deny: ["rm -rf"] } }, "x86_64"),
    /not a syscall name/,
  );
});

test("same profile, same spec text (the cache key)", () => {
  assert.equal(seccompSpec(BUILTIN_MINIMAL, "x86_64").text, seccompSpec({ ...BUILTIN_MINIMAL }, "x86_64").text);
  assert.equal(hostArch("x64"), "x86_64");
  assert.equal(hostArch("arm64"), "aarch64");
  assert.throws(() => hostArch("riscv64"));
});
