// One sealed volume on this host: <dir>/<name>/cipher (ciphertext only, what Docker never sees),
// <dir>/<name>/plain (the gocryptfs mountpoint, bind-mounted into the service by the overlay;
// it exists only while unlocked, so a locked volume makes the container fail to start instead
// of starting on an empty plaintext directory), and <dir>/<name>/seal.json (which key version
// opens it, and where the key is kept; never the key).
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileDurably } from "../policy/durable-file.ts";
import { UserError } from "../policy/user-error.ts";
import { changeKey, GocryptfsError, initCipher, isMounted, mount, unmount } from "./gocryptfs.ts";
import type { KeySource } from "./key-client.ts";

export class SealError extends UserError {}

export interface SealedVolume {
  name: string;
  /** the seal directory (seal.dir) */
  dir: string;
  source: KeySource;
}

export interface SealStatus {
  name: string;
  initialized: boolean;
  unlocked: boolean;
  custody: KeySource["custody"];
  version: number | undefined;
  cipher: string;
  plain: string;
}

interface Meta {
  volume: string;
  version: number;
  /** set while a rekey is under way: if it was cut short, this version may be the one that opens */
  pending?: number;
  custody: string;
  created: string;
}

export function sealPaths(dir: string, name: string) {
  const base = join(dir, name);
  return { base, cipher: join(base, "cipher"), plain: join(base, "plain"), meta: join(base, "seal.json") };
}

function readMeta(path: string): Meta | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Meta;
  } catch {
    throw new SealError(`${path} is damaged`, { hint: "restore it: it names the key version that opens the volume" });
  }
}

function writeMeta(path: string, meta: Meta): void {
  writeFileDurably(path, `${JSON.stringify(meta, null, 2)}\n`, 0o600);
}

export function sealStatus(v: SealedVolume): SealStatus {
  return volumeStatus(v.dir, v.name, v.source.custody);
}

/** State only, no key source needed (the dashboard's view). */
export function volumeStatus(dir: string, name: string, custody: KeySource["custody"]): SealStatus {
  const p = sealPaths(dir, name);
  const meta = readMeta(p.meta);
  return {
    name,
    initialized: meta !== undefined,
    unlocked: isMounted(p.plain),
    custody,
    version: meta?.version,
    cipher: p.cipher,
    plain: p.plain,
  };
}

export async function sealInit(v: SealedVolume): Promise<SealStatus> {
  const p = sealPaths(v.dir, v.name);
  if (existsSync(p.meta))
    throw new SealError(`volume ${v.name} is sealed already (${p.meta})`, { hint: `corral seal unlock ${v.name}` });
  mkdirSync(p.cipher, { recursive: true, mode: 0o700 });
  const { key, version } = await v.source.create(v.name);
  await initCipher(p.cipher, key);
  writeMeta(p.meta, { volume: v.name, version, custody: v.source.custody, created: new Date().toISOString() });
  return sealStatus(v);
}

export async function sealUnlock(v: SealedVolume): Promise<SealStatus> {
  const p = sealPaths(v.dir, v.name);
  const meta = readMeta(p.meta);
  if (!meta) throw new SealError(`volume ${v.name} is not sealed yet`, { hint: `corral seal init ${v.name}` });
  if (isMounted(p.plain)) return sealStatus(v);
  // The key first: with no key there is no mountpoint, and the container cannot start.
  const tryVersion = async (version: number) => {
    const { key } = await v.source.fetch(v.name, version);
    mkdirSync(p.plain, { recursive: true, mode: 0o755 });
    try {
      await mount(p.cipher, p.plain, key);
    } catch (err) {
      rmdirSync(p.plain);
      throw err;
    } finally {
      key.fill(0);
    }
  };
  try {
    await tryVersion(meta.version);
  } catch (err) {
    // A rekey cut short after gocryptfs took the new key: that version opens it.
    if (meta.pending === undefined || !(err instanceof GocryptfsError)) throw err;
    await tryVersion(meta.pending);
    writeMeta(p.meta, { ...meta, version: meta.pending, pending: undefined });
  }
  return sealStatus(v);
}

export async function sealLock(v: SealedVolume): Promise<SealStatus> {
  const p = sealPaths(v.dir, v.name);
  if (isMounted(p.plain)) await unmount(p.plain);
  if (existsSync(p.plain)) rmdirSync(p.plain);
  return sealStatus(v);
}

/** A new key version opens the volume; the data is not rewritten (gocryptfs re-wraps its master key). */
export async function sealRekey(v: SealedVolume): Promise<SealStatus> {
  const p = sealPaths(v.dir, v.name);
  const meta = readMeta(p.meta);
  if (!meta) throw new SealError(`volume ${v.name} is not sealed yet`, { hint: `corral seal init ${v.name}` });
  const old = await v.source.fetch(v.name, meta.version);
  const next = await v.source.rotate(v.name, meta.version);
  writeMeta(p.meta, { ...meta, pending: next.version });
  try {
    await changeKey(p.cipher, old.key, next.key);
  } catch (err) {
    writeMeta(p.meta, meta);
    throw err;
  } finally {
    old.key.fill(0);
    next.key.fill(0);
  }
  // The cipher directory opens with the new key only now: record it, then let the source retire the old.
  writeMeta(p.meta, { ...meta, version: next.version, pending: undefined });
  await v.source.commit(v.name, next.version);
  return sealStatus(v);
}
