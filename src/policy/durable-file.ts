// Replacing a small state file so that a crash leaves the old one or the new one, never a torn
// one, and the new one survives power loss once this returns: write a sibling, fsync it, rename
// it over, fsync the directory. Used wherever an answer depends on state being on disk (the
// witness, the key service, sealed-volume metadata, the audit summary). Lives beside
// user-error.ts at the bottom of the house, so every folder may use it.
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** fsync of a file or a directory (after a rename or an unlink in it). */
export function syncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileDurably(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  syncPath(tmp);
  renameSync(tmp, path);
  syncPath(dirname(path));
}
