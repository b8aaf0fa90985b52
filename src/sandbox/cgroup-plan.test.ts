import assert from "node:assert/strict";
import { test } from "node:test";
import { launchArgs, launchRequest, limitWrites, needsCgroup, parseKeyValues, rlimitSpecs } from "./cgroup-plan.ts";
import { limitsOf } from "./limits.ts";
import { BUILTIN_MINIMAL } from "./profile.ts";

const limits = limitsOf({
  ...BUILTIN_MINIMAL,
  limits: { memory: "512Mi", pids: 128, cpu: 1.5, wall: "60s", nofile: 256, fsize: "1Mi" },
});

test("profile limits become numbers", () => {
  assert.deepEqual(limits, {
    memoryBytes: 512 * 1024 ** 2,
    pids: 128,
    cpu: 1.5,
    wallMs: 60_000,
    nofile: 256,
    fsizeBytes: 1024 ** 2,
  });
  assert.equal(needsCgroup(limits), true);
  assert.equal(needsCgroup({ wallMs: 5 }), false);
});

test("v1 writes: memory then memory+swap (no swap by default), pids, cfs quota", () => {
  assert.deepEqual(limitWrites("v1", limits), [
    { controller: "memory", file: "memory.limit_in_bytes", value: "536870912" },
    { controller: "memory", file: "memory.memsw.limit_in_bytes", value: "536870912" },
    { controller: "pids", file: "pids.max", value: "128" },
    { controller: "cpu", file: "cpu.cfs_period_us", value: "100000" },
    { controller: "cpu", file: "cpu.cfs_quota_us", value: "150000" },
  ]);
  assert.equal(limitWrites("v1", { memoryBytes: 10 }, { memsw: false }).length, 1);
});

test("v2 writes", () => {
  assert.deepEqual(
    limitWrites("v2", { ...limits, swapBytes: 1024 }).map((w) => `${w.file}=${w.value}`),
    ["memory.max=536870912", "memory.swap.max=1024", "pids.max=128", "cpu.max=150000 100000"],
  );
});

test("cold launch joins every cgroup before anything else, sets rlimits, execs bwrap", () => {
  assert.deepEqual(
    launchArgs(["/cg/memory/x/cgroup.procs", "/cg/pids/x/cgroup.procs"], limits, ["/usr/bin/bwrap", "--x"]),
    [
      "--procs",
      "/cg/memory/x/cgroup.procs",
      "--procs",
      "/cg/pids/x/cgroup.procs",
      "--rlimit",
      "core=0",
      "--rlimit",
      "nofile=256",
      "--rlimit",
      "fsize=1048576",
      "--",
      "/usr/bin/bwrap",
      "--x",
    ],
  );
  assert.deepEqual(rlimitSpecs({}), ["core=0"]);
});

test("warm launch request: NUL-separated tokens, program last", () => {
  const b = launchRequest({
    limits: {},
    env: { PATH: "/usr/bin" },
    openFds: [{ path: "/c/p.bpf", fd: 3 }],
    closeFds: [4],
    program: ["/usr/bin/bwrap", "a b"],
  });
  assert.deepEqual(b.toString().split("\0"), [
    "R",
    "core=0",
    "E",
    "PATH=/usr/bin",
    "S",
    "/c/p.bpf",
    "3",
    "C",
    "4",
    "X",
    "/usr/bin/bwrap",
    "a b",
    "",
  ]);
  assert.throws(() => launchRequest({ limits: {}, env: {}, openFds: [], closeFds: [], program: ["a\0b"] }), /NUL/);
});

test("statistics files parse", () => {
  assert.deepEqual(parseKeyValues("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"), {
    oom_kill_disable: 0,
    under_oom: 0,
    oom_kill: 2,
  });
  assert.deepEqual(parseKeyValues("max 5"), { max: 5 });
});
