import assert from "node:assert/strict";
import { test } from "node:test";
import type { Policy, SandboxProfile } from "../policy/schema.ts";
import {
  BUILTIN_MINIMAL,
  ETC_RO,
  type HostFacts,
  type PathKind,
  plan,
  resolveProfile,
  SANDBOX_PATH,
  SandboxConfigError,
} from "./profile.ts";

const base: SandboxProfile = BUILTIN_MINIMAL;

function facts(extra: Record<string, PathKind> = {}): HostFacts {
  const kinds: Record<string, PathKind> = {
    "/usr": "dir",
    "/etc/ld.so.cache": "file",
    "/etc/ssl": "dir",
    "/home/me/proj": "dir",
    "/home/me": "dir",
    ...extra,
  };
  return { kinds, symlinks: { "/bin": "usr/bin", "/lib": "usr/lib" }, otherHomes: ["/home/other"] };
}

const env = {
  HOME: "/home/me",
  PATH: "/opt/evil/bin:/usr/bin",
  LANG: "C.UTF-8",
  AWS_SECRET_ACCESS_KEY: "s3cr3t",
  TERM: "xterm",
};

function mk(profile: Partial<SandboxProfile>, extra: Record<string, PathKind> = {}, gate = false) {
  return plan({
    profile: { ...base, ...profile },
    command: ["python3", "x.py"],
    cwd: "/home/me/proj",
    env,
    facts: facts(extra),
    seccompFd: 3,
    ...(gate
      ? {
          gate: {
            socket: "/tmp/r/gate.sock",
            netstub: "/opt/corral/netstub",
            resolvConf: "/tmp/r/resolv.conf",
            eventsFd: 4,
            port: 3128,
          },
        }
      : {}),
  });
}

/** The [op, …operands] groups for one bwrap option name. */
function ops(args: string[], op: string, arity: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < args.length; i++) if (args[i] === op) out.push(args.slice(i + 1, i + 1 + arity));
  return out;
}

test("every namespace is new, caps dropped, session and parent-death set, seccomp fd passed", () => {
  const { args } = mk({});
  for (const f of [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-net",
    "--unshare-cgroup",
    "--new-session",
    "--die-with-parent",
    "--disable-userns",
  ]) {
    assert.ok(args.includes(f), f);
  }
  assert.deepEqual(ops(args, "--cap-drop", 1), [["ALL"]]);
  assert.deepEqual(ops(args, "--seccomp", 1), [["3"]]);
  assert.ok(!args.includes("--cap-add"));
  assert.deepEqual(args.slice(-3), ["--", "python3", "x.py"]);
});

test("read-only system, symlinked /bin, /etc subset only, private /tmp, work dir writable, root remounted ro", () => {
  const { args, workDir } = mk({});
  assert.equal(workDir, "/home/me/proj");
  assert.deepEqual(ops(args, "--ro-bind", 2).slice(0, 1), [["/usr", "/usr"]]);
  assert.deepEqual(ops(args, "--symlink", 2), [
    ["usr/bin", "/bin"],
    ["usr/lib", "/lib"],
  ]);
  const etc = ops(args, "--ro-bind", 2).filter(([s]) => s?.startsWith("/etc"));
  assert.deepEqual(
    etc.map(([s]) => s),
    ["/etc/ld.so.cache", "/etc/ssl"],
  );
  assert.ok(ETC_RO.every((p) => p !== "/etc"));
  assert.deepEqual(ops(args, "--tmpfs", 1)[0], ["/tmp"]);
  assert.deepEqual(ops(args, "--bind", 2), [["/home/me/proj", "/home/me/proj"]]);
  assert.deepEqual(ops(args, "--chdir", 1), [["/home/me/proj"]]);
  assert.deepEqual(ops(args, "--remount-ro", 1).at(-1), ["/"]);
  assert.ok(args.indexOf("--tmpfs") < args.indexOf("--bind"), "private /tmp before binds below it");
});

test("environment is scrubbed to an allowlist, HOME is the work dir, profile env passes", () => {
  const { env: e } = mk({ env: ["AWS_SECRET_ACCESS_KEY", "MODE=ci"] });
  assert.deepEqual(e, {
    PATH: SANDBOX_PATH,
    HOME: "/home/me/proj",
    TMPDIR: "/tmp",
    PWD: "/home/me/proj",
    LANG: "C.UTF-8",
    TERM: "xterm",
    AWS_SECRET_ACCESS_KEY: "s3cr3t",
    MODE: "ci",
  });
  assert.equal(mk({}).env.AWS_SECRET_ACCESS_KEY, undefined);
});

test("secrets under a bound home are masked after the bind (dirs → empty ro tmpfs, files → /dev/null)", () => {
  const { args } = mk(
    { filesystem: { read: [], write: ["~"], deny: ["~/notes.txt"] } },
    { "/home/me/.ssh": "dir", "/home/me/notes.txt": "file", "/home/me/.aws": "missing" },
  );
  const ssh = args.indexOf("/home/me/.ssh");
  const bind = args.findIndex((a, i) => a === "--bind" && args[i + 1] === "/home/me");
  assert.ok(bind >= 0 && ssh > bind, "mask after the bind of ~");
  assert.deepEqual(args.slice(ssh - 1, ssh + 3), ["--tmpfs", "/home/me/.ssh", "--remount-ro", "/home/me/.ssh"]);
  assert.deepEqual(
    ops(args, "--ro-bind", 2).find(([, t]) => t === "/home/me/notes.txt"),
    ["/dev/null", "/home/me/notes.txt"],
  );
  assert.ok(!args.includes("/home/me/.aws"), "absent paths need no mask");
});

test("other users' homes are hidden when a bound path contains them", () => {
  const { args } = mk(
    { filesystem: { read: ["/home"], write: [], deny: [] } },
    { "/home": "dir", "/home/other": "dir" },
  );
  assert.ok(args.join(" ").includes("--tmpfs /home/other --remount-ro /home/other"));
});

test("a bound path inside a denied one is refused, not half-applied", () => {
  assert.throws(
    () =>
      mk(
        { filesystem: { read: ["~/.ssh/known_hosts"], write: [], deny: [] } },
        { "/home/me/.ssh/known_hosts": "file" },
      ),
    SandboxConfigError,
  );
  assert.throws(() => mk({ filesystem: { read: [], write: ["/tmp/none"], deny: [] } }), /does not exist/);
});

test("gate network: netstub wraps the command, socket/resolv.conf bound, proxy env set, only NET_BIND_SERVICE added", () => {
  const { args, env: e } = mk({ network: "gate" }, {}, true);
  assert.deepEqual(ops(args, "--cap-add", 1), [["CAP_NET_BIND_SERVICE"]]);
  assert.ok(!args.includes("--disable-userns"));
  assert.deepEqual(ops(args, "--bind", 2).at(-1), ["/tmp/r/gate.sock", "/run/corral/gate.sock"]);
  assert.ok(ops(args, "--ro-bind", 2).some(([s, t]) => s === "/tmp/r/resolv.conf" && t === "/etc/resolv.conf"));
  const cmd = args.slice(args.indexOf("--") + 1);
  assert.deepEqual(cmd, [
    "/run/corral/netstub",
    "--unix",
    "/run/corral/gate.sock",
    "--port",
    "3128",
    "--events-fd",
    "4",
    "--",
    "python3",
    "x.py",
  ]);
  assert.equal(e.HTTPS_PROXY, "http://127.0.0.1:3128");
  assert.equal(e.NODE_USE_ENV_PROXY, "1");
});

test("profiles: built-in minimal, policy-defined, unknown names list the choices", () => {
  assert.equal(resolveProfile(undefined, "minimal"), BUILTIN_MINIMAL);
  const policy = { sandbox: { profiles: { plugin: { ...base, network: "gate" } } } } as unknown as Policy;
  assert.equal(resolveProfile(policy, "plugin").network, "gate");
  assert.throws(
    () => resolveProfile(policy, "nope"),
    (e: SandboxConfigError) => e.hint?.includes("minimal, plugin") === true,
  );
});

test("empty command is refused", () => {
  assert.throws(
    () => plan({ profile: base, command: [], cwd: "/home/me/proj", env, facts: facts(), seccompFd: 3 }),
    /no command/,
  );
});
