// gocryptfs (Debian's package): per-directory encryption through FUSE. The cipher directory
// holds only encrypted names and contents (plus gocryptfs.conf, the master key encrypted with
// the password); the mountpoint shows plaintext while mounted. The password (the volume key,
// hex) goes in on stdin, so it never touches a file or an argv.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { UserError } from "../policy/user-error.ts";

export class GocryptfsError extends UserError {}
/** gocryptfs's own exit code for a wrong password: nothing was changed. */
export const WRONG_PASSWORD = 12;

function run(args: string[], input: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("gocryptfs", ["-q", "-nosyslog", ...args], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.once("error", (err) =>
      reject(
        new GocryptfsError(`cannot run gocryptfs: ${err.message}`, {
          hint: "apt-get install gocryptfs fuse3",
        }),
      ),
    );
    // 'exit', not 'close': a mount forks a daemon that keeps our stderr pipe open.
    child.once("exit", (code) =>
      setImmediate(() => {
        child.stderr.destroy();
        resolve({ code: code ?? 1, stderr: stderr.trim() });
      }),
    );
    child.stdin.end(input);
  });
}

function password(key: Buffer): string {
  // An empty or short key would make gocryptfs ask for a password it cannot get: refuse it here.
  if (key.length < 16) throw new GocryptfsError(`a volume key of ${key.length} bytes is not a key`);
  return key.toString("hex");
}

export async function initCipher(cipherDir: string, key: Buffer): Promise<void> {
  const r = await run(["-init", cipherDir], password(key));
  if (r.code !== 0) throw new GocryptfsError(`gocryptfs -init ${cipherDir} failed (${r.code}): ${r.stderr}`);
}

export async function mount(cipherDir: string, mountpoint: string, key: Buffer): Promise<void> {
  // allow_other: data stores run as their own users (postgres 999, redis 999) inside containers.
  const r = await run(["-allow_other", cipherDir, mountpoint], password(key));
  if (r.code === WRONG_PASSWORD)
    throw new GocryptfsError(`the key does not open ${cipherDir}: nothing was changed`, {
      hint: "is this the volume's key source (and version)? a wrong key is refused, the data is untouched",
    });
  if (r.code !== 0) throw new GocryptfsError(`gocryptfs could not mount ${cipherDir} (${r.code}): ${r.stderr}`);
}

export async function changeKey(cipherDir: string, oldKey: Buffer, newKey: Buffer): Promise<void> {
  const r = await run(["-passwd", cipherDir], `${password(oldKey)}\n${password(newKey)}\n`);
  if (r.code === WRONG_PASSWORD)
    throw new GocryptfsError(`the current key does not open ${cipherDir}: nothing was changed`);
  if (r.code !== 0) throw new GocryptfsError(`gocryptfs -passwd ${cipherDir} failed (${r.code}): ${r.stderr}`);
}

export function unmount(mountpoint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("fusermount3", ["-u", mountpoint], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.once("error", (err) =>
      reject(new GocryptfsError(`cannot run fusermount3: ${err.message}`, { hint: "apt-get install fuse3" })),
    );
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(
            new GocryptfsError(`cannot unmount ${mountpoint}: ${stderr.trim()}`, {
              hint: "stop what uses it (docker compose stop)",
            }),
          ),
    );
  });
}

/** Whether a gocryptfs mount sits at `mountpoint` (from /proc/self/mounts, octal escapes decoded). */
export function isMounted(mountpoint: string): boolean {
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((l) => {
      const [, target, type] = l.split(" ");
      return type === "fuse.gocryptfs" && target !== undefined && decode(target) === mountpoint;
    });
}
