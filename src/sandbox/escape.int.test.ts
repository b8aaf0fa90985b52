// The escape suite: every probe runs INSIDE a real bubblewrap sandbox (python3 + ctypes, see
// probes/escape.py, which refuses to run in the host's namespaces) and must be contained. The
// host side checks the other half: its listeners saw no connection, its files are untouched.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { SandboxProfile } from "../policy/schema.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { removeCgroupParent } from "./cgroup.ts";
import { hostNs, PROBES_DIR as PROBES, type ProbeResult, parseProbes as parseLines } from "./probes/harness.ts";
import { run as runSandbox } from "./run.ts";
import type { RunReport } from "./types.ts";

const skip = privilegedSkip({ commands: ["bwrap", "cc", "python3"] });
const PY = "/usr/bin/python3";
const CGROUP_PARENT = `corral-escape-test-${process.pid}`;
const run = (o: Parameters<typeof runSandbox>[0]) => runSandbox({ cgroupParent: CGROUP_PARENT, ...o });
const SECRET = `corral-secret-${process.pid}-${Date.now()}`;

function profile(p: Partial<SandboxProfile> & { limits?: SandboxProfile["limits"] }): SandboxProfile {
  return {
    network: p.network ?? "none",
    filesystem: { read: [PROBES], write: [], deny: [], ...p.filesystem },
    limits: p.limits ?? {},
    syscalls: { allow: [], deny: [] },
    env: [],
  };
}

function parseProbes(r: RunReport): Map<string, ProbeResult> {
  return parseLines(r.stdout ?? "");
}

async function listen(
  server: Server,
  addr: string | { port: number; host: string; ipv6Only?: boolean },
): Promise<void> {
  await new Promise<void>((r, j) => {
    server.once("error", j);
    if (typeof addr === "string") server.listen(addr, () => r());
    else server.listen(addr, () => r());
  });
}

describe("sandbox escape suite", { skip }, () => {
  let tmp = "";
  let home = "";
  const servers: Server[] = [];
  let connections = 0;
  let inetPort = 0;
  const abstract = `\0corral-escape-${process.pid}`;
  let results = new Map<string, ProbeResult>();
  let report: RunReport;
  const hostTmpMarker = `/tmp/corral-escape-marker-${process.pid}`;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "corral-escape-"));
    home = join(tmp, "home");
    for (const d of [".ssh", ".aws", ".docker/run", "project"]) mkdirSync(join(home, d), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n");
    writeFileSync(join(home, ".aws", "credentials"), "[default]\naws_secret_access_key=fake\n");
    mkdirSync(join(tmp, "var-run"));
    const count = () => {
      connections++;
    };
    const mk = () => {
      const s = createServer((c) => {
        count();
        c.destroy();
      });
      servers.push(s);
      return s;
    };
    const inet = mk();
    await listen(inet, { port: 0, host: "::", ipv6Only: false });
    inetPort = (inet.address() as { port: number }).port;
    await listen(mk(), abstract);
    await listen(mk(), join(tmp, "host.sock"));
    await listen(mk(), join(tmp, "var-run", "docker.sock"));
    await listen(mk(), join(home, ".docker", "run", "docker.sock"));

    report = await run({
      command: [
        PY,
        join(PROBES, "escape.py"),
        hostNs(),
        `inet=${inetPort}`,
        `unix=@${abstract.slice(1)}`,
        `unix=${join(tmp, "host.sock")}`,
        `read=${join(home, ".ssh", "id_ed25519")}:${join(home, ".aws", "credentials")}:/root/.ssh/id_rsa:/etc/shadow`,
        `listdir=${join(home, ".ssh")}:${join(home, ".aws")}:${join(home, ".docker")}:/home:/root:/run`,
        `environ=${SECRET}`,
        `write=/etc/corral-escape:/usr/corral-escape:/corral-escape:/proc/sys/kernel/hostname:/var/corral-escape`,
        "openw=/proc/sysrq-trigger:/proc/sys/kernel/core_pattern:/proc/sys/vm/drop_caches:/etc/passwd:/usr/bin/env",
        "ptrace",
        "mount",
        "setuid",
        "raw",
        "io_uring",
        "bpf",
        "keyctl",
        "unshare",
        "personality",
        `unix=${join(tmp, "var-run", "docker.sock")}`,
        `unix=${join(home, ".docker", "run", "docker.sock")}`,
      ],
      profileValue: profile({
        filesystem: { read: [PROBES, join(tmp, "var-run")], write: [], deny: [join(tmp, "var-run", "docker.sock")] },
        limits: { pids: 64, memory: "256Mi", wall: "60s" },
      }),
      cwd: home,
      env: { HOME: home, PATH: process.env.PATH, LANG: "C.UTF-8", CORRAL_TEST_SECRET: SECRET },
      stdio: "pipe",
    });
    // A write to the work dir's parent lands in the sandbox's private /tmp, never on the host.
    await run({
      command: [
        PY,
        "-c",
        `open(${JSON.stringify(join(tmp, "outside"))}, "w").write("x"); open(${JSON.stringify(hostTmpMarker)}, "w").write("x")`,
      ],
      profileValue: profile({}),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    results = parseProbes(report);
  });

  after(async () => {
    for (const s of servers) s.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    await rm(hostTmpMarker, { force: true });
    await removeCgroupParent(CGROUP_PARENT);
  });

  const expectContained = (name: string) => {
    const r = results.get(name);
    assert.ok(r, `probe ${name} did not report (stdout: ${report.stdout}\nstderr: ${report.stderr})`);
    assert.equal(r.contained, true, `${name}: ${r.detail}`);
  };

  test("the probes ran sandboxed and completed", () => {
    assert.equal(report.exitCode, 0, report.stderr);
    assert.ok(!results.has("guard"), "probe guard refused: not in a sandbox");
  });
  test("AF_INET / AF_INET6 to a host loopback listener", () => expectContained("inet"));
  test("AF_UNIX abstract and path sockets of the host, docker.sock", () => {
    const unix = (report.stdout ?? "").split("\n").filter((l) => l.includes('"probe": "unix='));
    assert.equal(unix.length, 4);
    for (const l of unix) assert.equal((JSON.parse(l) as ProbeResult).contained, true, l);
  });
  test("no host listener saw a connection", () => assert.equal(connections, 0));
  test("~/.ssh, ~/.aws keys and /etc/shadow are unreadable; secret dirs look empty", () => {
    expectContained("read");
    expectContained("listdir");
  });
  test("/proc/*/environ shows no host secret", () => expectContained("environ"));
  test("writes outside the work dir are refused or stay inside", () => {
    expectContained("write");
    expectContained("openw");
    assert.equal(existsSync(join(tmp, "outside")), false);
    assert.equal(existsSync(hostTmpMarker), false);
  });
  test("ptrace / process_vm_readv", () => expectContained("ptrace"));
  test("mount / umount2", () => expectContained("mount"));
  test("setuid escalation: no capabilities, no_new_privs", () => expectContained("setuid"));
  test("raw sockets, AF_PACKET, AF_NETLINK, AF_VSOCK", () => expectContained("raw"));
  test("io_uring", () => expectContained("io_uring"));
  test("bpf", () => expectContained("bpf"));
  test("keyctl / add_key", () => expectContained("keyctl"));
  test("unshare, clone with namespace flags, clone3 → ENOSYS, setns", () => expectContained("unshare"));
  test("personality flags", () => expectContained("personality"));
  test("the report has cgroup figures", () => {
    assert.ok(report.cgroup, "cgroup created");
    assert.ok((report.peakMemoryBytes ?? 0) > 0);
    assert.ok((report.cpuTimeMs ?? 0) > 0);
  });

  test("fork bomb: pids-limited, host stays responsive", async () => {
    const pending = run({
      command: [PY, join(PROBES, "escape.py"), hostNs(), "forkbomb=4"],
      profileValue: profile({ limits: { pids: 32, cpu: 0.5, wall: "30s" } }),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    await new Promise((r) => setTimeout(r, 1000));
    // The host can still start processes while the bomb runs (median of 5 spawns).
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      assert.equal(spawnSync("/bin/true").status, 0);
      latencies.push(performance.now() - t0);
    }
    const median = latencies.sort((a, b) => a - b)[2]!;
    const r = await pending;
    // Generous: the suite shares two cores with other tests; a starved host takes seconds.
    assert.ok(median < 1000, `host spawn took ${median} ms (median) during the bomb`);
    expectContainedIn(r, "forkbomb");
    assert.ok(r.limitHits.includes("pids"), JSON.stringify(r));
  });

  test("memory hog: OOM-killed and reported", async () => {
    const r = await run({
      command: [PY, join(PROBES, "escape.py"), hostNs(), "memhog=1024"],
      profileValue: profile({ limits: { memory: "64Mi", wall: "30s" } }),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    assert.ok(r.limitHits.includes("oom"), JSON.stringify(r));
    assert.equal(r.exitCode, 137);
    assert.ok((r.peakMemoryBytes ?? 0) <= 64 * 1024 * 1024 + 1024 * 1024);
  });

  test("rlimits: core 0, nofile and fsize enforced; a too-large write is reported", async () => {
    const r = await run({
      command: [
        PY,
        "-c",
        "import resource, os\nprint(resource.getrlimit(resource.RLIMIT_CORE), resource.getrlimit(resource.RLIMIT_NOFILE))\nfs=[]\ntry:\n  [fs.append(open('/dev/null')) for _ in range(100)]\nexcept OSError as e: print('EMFILE', e.errno)\nfor f in fs: f.close()\nopen('big', 'wb').write(b'x' * 3_000_000)",
      ],
      profileValue: profile({ limits: { nofile: 32, fsize: "1Mi", wall: "20s" } }),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    assert.match(r.stdout ?? "", /\(0, 0\) \(32, 32\)/);
    assert.match(r.stdout ?? "", /EMFILE 24/);
    // Python ignores SIGXFSZ, so it sees EFBIG; a plain program is killed and that is reported.
    assert.match(r.stderr ?? "", /File too large/);
    const sh = await run({
      command: ["/bin/sh", "-c", "head -c 3000000 /dev/zero > big"],
      profileValue: profile({ limits: { fsize: "1Mi", wall: "20s" } }),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    assert.ok(sh.limitHits.includes("fsize") || /File size limit/.test(sh.stderr ?? ""), JSON.stringify(sh));
    await rm(join(home, "big"), { force: true });
  });

  test("cpu quota: a busy loop gets about its share", async () => {
    const r = await run({
      command: [PY, "-c", "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"],
      profileValue: profile({ limits: { cpu: 0.2, wall: "20s" } }),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    assert.equal(r.exitCode, 0, r.stderr);
    // 0.2 CPU for ~1.5 s is ~300 ms; unthrottled it would be ~1500 ms.
    assert.ok((r.cpuTimeMs ?? 0) > 100 && (r.cpuTimeMs ?? 0) < 700, `cpu ${r.cpuTimeMs} ms`);
  });

  test("wall clock: the whole run is killed and reported", async () => {
    const t0 = performance.now();
    const r = await run({
      command: ["/bin/sh", "-c", "sleep 60 & sleep 60"],
      profileValue: profile({ limits: { wall: "1s" } }),
      cwd: home,
      env: { HOME: home },
      stdio: "pipe",
    });
    assert.ok(r.limitHits.includes("timeout"));
    assert.ok(performance.now() - t0 < 10_000);
  });
});

function expectContainedIn(r: RunReport, name: string) {
  const p = parseProbes(r).get(name);
  assert.ok(p, `no ${name} result: ${r.stdout} ${r.stderr}`);
  assert.equal(p.contained, true, p.detail);
}
