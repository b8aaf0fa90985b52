// Test helpers for the dashboard: a state directory with a known password, hashed cheaply.
// Not used by production code.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword } from "./password.ts";
import { writePasswordRecord } from "./password-store.ts";

export const TEST_PASSWORD = "correct horse battery staple";
/** Cheap scrypt for tests only; production uses DEFAULT_PARAMS. */
export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1, keylen: 32 };

export async function stateWithPassword(password = TEST_PASSWORD): Promise<{ dir: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-state-"));
  writePasswordRecord(dir, await hashPassword(password, FAST_SCRYPT));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
