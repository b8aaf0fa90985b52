// The fallback key source: a key file on this host (64 hex digits, 0600). Reported as weaker
// everywhere it shows: whoever reads the host's files reads the key with them.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { KeyServiceError, type KeySource } from "./key-client.ts";

function read(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new KeyServiceError(`cannot read key file ${path}: ${(err as Error).message}`, {
      hint: "seal.volumes.<name>.key_file names it; corral seal init makes it",
    });
  }
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new KeyServiceError(`${path} is not a key (64 hex digits)`, {
      hint: "restore the key file the volume was sealed with",
    });
  if ((statSync(path).mode & 0o077) !== 0)
    throw new KeyServiceError(`key file ${path} is readable by group or others`, { hint: `chmod 600 ${path}` });
  return Buffer.from(text, "hex");
}

export class FileKeySource implements KeySource {
  readonly custody = "local file" as const;
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async create(): Promise<{ key: Buffer; version: number }> {
    if (!existsSync(this.path))
      writeFileSync(this.path, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    return { key: read(this.path), version: 1 };
  }

  async fetch(_volume: string, version?: number): Promise<{ key: Buffer; version: number }> {
    return { key: read(this.path), version: version ?? 1 };
  }

  async rotate(_volume: string, current: number): Promise<{ key: Buffer; version: number }> {
    writeFileSync(`${this.path}.new`, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    return { key: read(`${this.path}.new`), version: current + 1 };
  }

  async commit(): Promise<void> {
    renameSync(`${this.path}.new`, this.path);
  }
}
