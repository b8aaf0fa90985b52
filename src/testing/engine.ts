// A real Docker Engine for integration tests, sealed in a network namespace of its own
// (../shared/docker-lab.md): the namespace has no uplink, so containers reach only what a test
// puts there. Stopped by the pid it was started with; the data root is removed.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Engine {
  /** dockerd's own version, e.g. 20.10.24+dfsg1. */
  version: string;
  /** `unix://…` for DOCKER_HOST. */
  host: string;
  netns: string;
  env: NodeJS.ProcessEnv;
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Stops dockerd and starts it again on the same data (containers with a restart policy return). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * Engines the tests run on: the system's, and each one unpacked by scripts/install-engine.sh
 * under ENGINES_DIR (dockerd and containerd of another Debian release, the system's runc).
 */
export const ENGINES_DIR = "/opt/corral-test/engines";

export function installedEngines(): Array<{ name: string; dir?: string }> {
  const extra = existsSync(ENGINES_DIR)
    ? readdirSync(ENGINES_DIR)
        .filter((n) => existsSync(join(ENGINES_DIR, n, "usr/sbin/dockerd")))
        .sort()
        .map((n) => ({ name: n, dir: join(ENGINES_DIR, n) }))
    : [];
  return [{ name: "system" }, ...extra];
}

export async function startEngine(options: { dir?: string } = {}): Promise<Engine> {
  const netns = `crl-eng-${process.pid}-${counter++}`;
  const root = mkdtempSync(join(tmpdir(), "corral-engine-"));
  for (const d of ["data", "exec"]) mkdirSync(join(root, d));
  await run("ip", ["netns", "add", netns]);
  let daemon: ChildProcess | undefined;
  const sock = join(root, "docker.sock");
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_BUILDKIT: "0" };
  const halt = async () => {
    if (daemon?.pid && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon?.once("exit", r));
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => daemon?.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const stop = async () => {
    await halt();
    await run("ip", ["netns", "del", netns]).catch(() => undefined);
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  const launch = async () => {
    // nsenter, not `ip netns exec`: the latter remounts /sys and dockerd loses the cgroup mounts.
    const child = spawn(
      "nsenter",
      [
        `--net=/run/netns/${netns}`,
        "dockerd",
        "--data-root",
        join(root, "data"),
        "--exec-root",
        join(root, "exec"),
        "--pidfile",
        join(root, "docker.pid"),
        "-H",
        `unix://${sock}`,
        "--storage-driver",
        "vfs",
        "--containerd-namespace",
        netns,
        "--containerd-plugins-namespace",
        `${netns}-p`,
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
        // Another engine's dockerd finds its own containerd and docker-proxy first.
        env: options.dir
          ? { ...process.env, PATH: `${options.dir}/usr/sbin:${options.dir}/usr/bin:${process.env.PATH ?? ""}` }
          : process.env,
      },
    );
    daemon = child;
    let log = "";
    child.stderr?.on("data", (d) => {
      log = (log + d).slice(-4000);
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dockerd exited: ${log}`);
      const ok = await run("docker", ["version", "--format", "{{.Server.Version}}"], { env }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not come up in 60 s: ${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  try {
    await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }
  const docker: Engine["docker"] = (args, opts = {}) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        "docker",
        args,
        { env, timeout: opts.timeoutMs ?? 240_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`docker ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  const restart = async () => {
    await halt();
    await launch();
  };
  const version = (await docker(["version", "--format", "{{.Server.Version}}"])).trim();
  return { version, host: env.DOCKER_HOST, netns, env, docker, restart, stop };
}

/**
 * A base image with only Node in it: the machine's node binary and the libraries `ldd` lists,
 * plus busybox for a shell and wget. It stands in for the official Node image, which no registry
 * here serves.
 */
export async function importNodeImage(engine: Engine, tag: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "corral-noderoot-"));
  // mkdtemp makes it 0700: as the image's / it would shut out every non-root user.
  chmodSync(root, 0o755);
  try {
    const node = process.execPath;
    const put = (src: string, dest: string) => {
      mkdirSync(join(root, dirname(dest)), { recursive: true });
      copyFileSync(src, join(root, dest));
      chmodSync(join(root, dest), 0o755);
    };
    put(node, "/usr/local/bin/node");
    const { stdout } = await run("ldd", [node]);
    for (const lib of stdout.match(/\/\S+/g) ?? []) put(lib, lib);
    put(busybox(), "/bin/busybox");
    for (const applet of ["sh", "wget", "nc", "sleep", "cat"]) symlinkSync("busybox", join(root, "bin", applet));
    mkdirSync(join(root, "tmp"), { mode: 0o1777 });
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\ngate:x:10001:10001::/:/bin/sh\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\ngate:x:10001:\n");
    const file = `${root}.tar`;
    await run("tar", ["-C", root, "-cf", file, "."]);
    try {
      await engine.docker(["import", "-c", "ENV PATH=/usr/local/bin:/bin", file, tag]);
    } finally {
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function busybox(): string {
  const found = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (!found) throw new Error("busybox is not installed (apt-get install busybox-static)");
  return found;
}

/** `corral compile --target compose` as the engine tests and benches run it: the overlay in dir/out. */
export async function compileOverlay(dir: string, composeFile = "app/docker-compose.yml"): Promise<void> {
  const { runCli } = await import("./cli.ts");
  const r = await runCli(
    ["compile", "--policy", "corral.yaml", "-f", composeFile, "-o", "out", "--target", "compose"],
    { cwd: dir },
  );
  if (r.code !== 0) throw new Error(`corral compile: ${r.err}`);
}

export interface Upstream {
  /** the stand-in internet's address: its DNS server (53/udp) and HTTP origin (80) */
  address: string;
  stop(): Promise<void>;
}

/**
 * The internet, for a gate on the engine: a namespace beyond the engine's host (a veth pair on
 * `10.203.<octet>.0/30`) holding a DNS server that answers every name with its own address and
 * an HTTP origin (src/testing/upstream.mjs). Nothing leaves the machine.
 */
/** `tlsDir`: also an HTTPS origin on 443 with that directory's origin.key and origin.crt. */
export async function startUpstream(engine: Engine, octet: number, tlsDir?: string): Promise<Upstream> {
  const ns = `crl-up-${process.pid}-${octet}`;
  const address = `10.203.${octet}.2`;
  const ip = (args: string[]) => run("ip", args);
  const hostSide = `crlup${octet}`;
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child?.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill();
      await exited;
    }
    await ip(["netns", "del", ns]).catch(() => undefined);
  };
  try {
    await ip(["netns", "add", ns]);
    await ip(["link", "add", hostSide, "netns", engine.netns, "type", "veth", "peer", "name", "up0", "netns", ns]);
    await ip(["-n", engine.netns, "addr", "add", `10.203.${octet}.1/30`, "dev", hostSide]);
    await ip(["-n", engine.netns, "link", "set", hostSide, "up"]);
    await ip(["-n", ns, "addr", "add", `${address}/30`, "dev", "up0"]);
    await ip(["-n", ns, "link", "set", "up0", "up"]);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
    await ip(["-n", ns, "route", "add", "default", "via", `10.203.${octet}.1`]);
    const root = join(dirname(new URL(import.meta.url).pathname), "../..");
    child = spawn(
      "ip",
      [
        "netns",
        "exec",
        ns,
        process.execPath,
        join(root, "src/testing/upstream.mjs"),
        address,
        root,
        ...(tlsDir ? [tlsDir] : []),
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const started = child;
    await new Promise<void>((resolve, reject) => {
      started.stdout?.once("data", () => resolve());
      started.once("exit", (code) => reject(new Error(`upstream exited ${code}`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, stop };
}
