// Shared by the audit tests and the benchmark: temporary log directories with a key kept
// outside them. Not used by production code.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningKey } from "./keys.ts";
import { type AuditLogOptions, openAuditLog } from "./log.ts";

export interface Scratch {
  root: string;
  dir: string;
  keyPath: string;
  pubPath: string;
  cleanup(): void;
}

export function scratch(prefix = "corral-audit-"): Scratch {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const keyPath = join(root, "audit.key");
  const { pub } = generateSigningKey(keyPath);
  return {
    root,
    dir: join(root, "log"),
    keyPath,
    pubPath: pub,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Writes `n` gate decisions and closes (so a final checkpoint covers them all). */
export async function writeSample(s: Scratch, n: number, opts: Partial<AuditLogOptions> = {}): Promise<void> {
  const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath, fsync: "none", ...opts });
  const pending = [];
  for (let i = 0; i < n; i++)
    pending.push(
      log.record(
        "gate.decision",
        { identity: `agent-${i % 3}`, ip: `10.0.0.${i % 7}` },
        { decision: i % 5 === 0 ? "deny" : "allow", host: "api.openai.com", port: 443, rule: `egress[${i % 2}]` },
      ),
    );
  await Promise.all(pending);
  await log.close();
}
