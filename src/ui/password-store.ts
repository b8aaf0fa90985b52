// Where the admin password record lives: `<stateDir>/admin.json`, mode 0600 in a 0700
// directory, replaced atomically so a crash never leaves half a record.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../policy/user-error.ts";
import type { PasswordRecord } from "./password.ts";

export const PASSWORD_FILE = "admin.json";

const recordSchema = z.strictObject({
  v: z.literal(1),
  algo: z.literal("scrypt"),
  params: z.strictObject({
    N: z
      .number()
      .int()
      .min(2)
      .refine((n) => (n & (n - 1)) === 0, "a power of two"),
    r: z.number().int().positive(),
    p: z.number().int().positive(),
    keylen: z.number().int().min(16).max(128),
  }),
  salt: z.base64().min(16),
  hash: z.base64().min(16),
  updated: z.string(),
});

/** The default UI state directory: system-wide for root, per-user otherwise. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CORRAL_UI_STATE) return env.CORRAL_UI_STATE;
  if (process.getuid?.() === 0) return "/var/lib/corral/ui";
  return join(env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "corral", "ui");
}

export function writePasswordRecord(stateDir: string, record: PasswordRecord): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  const file = join(stateDir, PASSWORD_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** The stored record, undefined when no password was set; throws on a damaged file. */
export function readPasswordRecord(stateDir: string): PasswordRecord | undefined {
  const file = join(stateDir, PASSWORD_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError(`${file}: not valid JSON`, { hint: "set the password again with 'corral ui passwd'" });
  }
  const parsed = recordSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${file}: ${issue?.path.join(".") || "record"}: ${issue?.message}`, {
      hint: "set the password again with 'corral ui passwd'",
    });
  }
  return parsed.data;
}
