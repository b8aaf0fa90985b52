// The admin API's bearer token: approvals and per-run identities must not be open to every
// local process. The gate takes CORRAL_GATE_ADMIN_TOKEN, else reads or creates
// <state_dir>/admin.token (0600); clients (approve, ui, run) find it the same way.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../policy/user-error.ts";

export const ADMIN_TOKEN_ENV = "CORRAL_GATE_ADMIN_TOKEN";
export const ADMIN_TOKEN_FILE = "admin.token";

export function adminTokenPath(stateDir: string): string {
  return join(stateDir, ADMIN_TOKEN_FILE);
}

/** The gate side: env, else the state file (created with a fresh random token), else in memory only. */
export function ensureAdminToken(
  env: NodeJS.ProcessEnv,
  stateDir: string | undefined,
): { token: string; source: "env" | "file" | "memory" } {
  const fromEnv = env[ADMIN_TOKEN_ENV]?.trim();
  if (fromEnv) return { token: fromEnv, source: "env" };
  if (!stateDir) return { token: randomBytes(32).toString("hex"), source: "memory" };
  const path = adminTokenPath(stateDir);
  const existing = readTokenFile(path);
  if (existing) {
    // Tighten a file someone loosened: the token is as good as root on the admin API.
    chmodSync(path, 0o600);
    return { token: existing, source: "file" };
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString("hex");
  try {
    const fd = openSync(path, "wx", 0o600);
    writeSync(fd, `${token}\n`);
    closeSync(fd);
    return { token, source: "file" };
  } catch (err) {
    // Another worker created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const theirs = readTokenFile(path);
    if (!theirs)
      throw new UserError(`${path} exists but holds no token`, {
        hint: "delete it: the gate writes a new one at start",
      });
    return { token: theirs, source: "file" };
  }
}

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The client side: env, else the gate's state file when readable; undefined when neither. */
export function findAdminToken(env: NodeJS.ProcessEnv, stateDir: string | undefined): string | undefined {
  const fromEnv = env[ADMIN_TOKEN_ENV]?.trim();
  if (fromEnv) return fromEnv;
  if (!stateDir) return undefined;
  try {
    return readTokenFile(adminTokenPath(stateDir));
  } catch {
    return undefined;
  }
}

/** `Authorization: Bearer <token>` against the expected token, in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  // Compare equal-length buffers always, so the length does not leak through timing either.
  const same = timingSafeEqual(given.length === want.length ? given : want, want);
  return same && given.length === want.length;
}
