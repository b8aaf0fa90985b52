// Shell: the native helpers (native/*.c, built by scripts/build-native.sh) and the seccomp
// program cache — one BPF file per (arch, spec) hash, so a run normally just opens a file.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../policy/user-error.ts";
import type { SeccompSpec } from "./seccomp.ts";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export class NativeHelperError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}

export const NATIVE_HELPERS = ["seccomp-gen", "netstub", "launch"] as const;

/**
 * Directory holding the built helpers. They are built at install (package.json "install" runs
 * scripts/build-native.sh), never here: a run — often as root — only looks for them.
 */
export function nativeDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = explicit ?? env.CORRAL_NATIVE_DIR ?? join(PACKAGE_ROOT, "build", "native");
  const missing = NATIVE_HELPERS.filter((h) => !existsSync(join(dir, h)));
  if (missing.length === 0) return dir;
  throw new NativeHelperError(
    `native helpers not built: ${missing.join(", ")} missing in ${dir}`,
    `install a C compiler and libseccomp-dev (apt-get install gcc libseccomp-dev), then run \`sh ${join(PACKAGE_ROOT, "scripts", "build-native.sh")}\` (or \`npm rebuild\`), or set CORRAL_NATIVE_DIR`,
  );
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
  return join(base, "corral", "seccomp");
}

/** Bump when native/seccomp-gen.c changes what it emits: cached programs are then rebuilt. */
const GENERATOR_VERSION = "2";

export function specHash(spec: SeccompSpec): string {
  return createHash("sha256").update(`${GENERATOR_VERSION}\n${spec.text}`).digest("hex").slice(0, 32);
}

/** Path of the BPF program for this spec, generating it (atomically) when not cached. */
export async function seccompProgram(spec: SeccompSpec, dir: string, cacheDir: string): Promise<string> {
  const file = join(cacheDir, `${spec.arch}-${specHash(spec)}.bpf`);
  if (existsSync(file)) return file;
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const r = spawnSync(join(dir, "seccomp-gen"), [tmp], { input: spec.text, encoding: "utf8" });
  if (r.status !== 0) {
    await rm(tmp, { force: true });
    throw new NativeHelperError(
      `seccomp-gen failed: ${(r.stderr || r.error?.message || "").trim()}`,
      "check the profile's syscalls.allow / syscalls.deny names",
    );
  }
  await rename(tmp, file);
  return file;
}
