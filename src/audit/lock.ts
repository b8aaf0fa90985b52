// One writer per log directory: two writers would fork the chain. The lock file holds the
// writer's pid; a lock left by a process that no longer exists (kill -9) is taken over.
import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../policy/user-error.ts";
import { LOCK_FILE } from "./segments.ts";

const heldHere = new Set<string>();

export class AuditLockError extends UserError {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface DirLock {
  release(): void;
}

export function lockDir(dir: string): DirLock {
  const real = realpathSync(dir);
  if (heldHere.has(real)) throw new AuditLockError(`audit log ${dir} is already open in this process`);
  const path = join(real, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o640);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(real);
      return {
        release() {
          heldHere.delete(real);
          try {
            unlinkSync(path);
          } catch {
            // already gone: nothing to release
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(readFileSync(path, "utf8"), 10);
      } catch {
        // vanished between open and read: retry
      }
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid))
        throw new AuditLockError(`audit log ${dir} is being written by pid ${pid} (${path})`);
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it: retry
      }
    }
  }
  throw new AuditLockError(`could not lock audit log ${dir} (${path})`);
}
