// Learn mode: destinations an identity actually used, counted, kept in state_dir/learned.json
// for `corral policy suggest`, with when each was first and last used beside it
// (learned-seen.json: the same evidence observe mode keeps for flows). Pure suggestion code
// lives in suggest.ts.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../policy/user-error.ts";

/** identity → "host:port" → count */
export type Learned = Record<string, Record<string, number>>;

/** identity → "host:port" → [first, last] used, milliseconds since the epoch */
export type LearnedSeen = Record<string, Record<string, [number, number]>>;

/** One file per gate worker (learned.json, learned.2.json, …) so workers never overwrite each other. */
export function learnedPath(stateDir: string, worker?: number, kind: "learned" | "learned-seen" = "learned"): string {
  return join(stateDir, worker === undefined || worker === 1 ? `${kind}.json` : `${kind}.${worker}.json`);
}

function readOne<T extends Learned | LearnedSeen = Learned>(file: string): T {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {} as T;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UserError(`${file}: not JSON (${(err as Error).message})`, {
      hint: "the gate writes it atomically, so it was edited by hand: fix it or move it aside",
    });
  }
}

/** Everything learned, summed over all workers' files. */
export function readLearned(stateDir: string): Learned {
  let names: string[];
  try {
    names = readdirSync(stateDir).filter((n) => /^learned(\.\d+)?\.json$/.test(n));
  } catch {
    return {};
  }
  const out: Learned = {};
  for (const n of names) {
    for (const [identity, dests] of Object.entries(readOne(join(stateDir, n)))) {
      const per = out[identity] ?? {};
      for (const [d, c] of Object.entries(dests)) per[d] = (per[d] ?? 0) + c;
      out[identity] = per;
    }
  }
  return out;
}

/** When each destination was first and last used, over all workers' files. */
export function readLearnedSeen(stateDir: string): LearnedSeen {
  let names: string[];
  try {
    names = readdirSync(stateDir).filter((n) => /^learned-seen(\.\d+)?\.json$/.test(n));
  } catch {
    return {};
  }
  const out: LearnedSeen = {};
  for (const n of names)
    for (const [identity, dests] of Object.entries(readOne<LearnedSeen>(join(stateDir, n)))) {
      const per = out[identity] ?? {};
      for (const [d, [first, last]] of Object.entries(dests)) {
        const held = per[d];
        per[d] = held ? [Math.min(held[0], first), Math.max(held[1], last)] : [first, last];
      }
      out[identity] = per;
    }
  return out;
}

export class LearnStore {
  private readonly dir: string | undefined;
  private readonly file: string | undefined;
  private readonly seenFile: string | undefined;
  private readonly data: Learned;
  private readonly seen: LearnedSeen;
  private readonly now: () => number;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(stateDir: string | undefined, worker?: number, now: () => number = Date.now) {
    this.dir = stateDir;
    this.file = stateDir ? learnedPath(stateDir, worker) : undefined;
    this.seenFile = stateDir ? learnedPath(stateDir, worker, "learned-seen") : undefined;
    this.data = this.file ? readOne(this.file) : {};
    this.seen = this.seenFile ? readOne<LearnedSeen>(this.seenFile) : {};
    this.now = now;
  }

  record(identity: string, host: string, port: number | undefined): void {
    const key = port === undefined ? host : host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const per = this.data[identity] ?? {};
    this.data[identity] = per;
    per[key] = (per[key] ?? 0) + 1;
    const t = this.now();
    const when = this.seen[identity] ?? {};
    this.seen[identity] = when;
    when[key] = [when[key]?.[0] ?? t, t];
    this.dirty = true;
    if (!this.timer && this.dir) {
      this.timer = setTimeout(() => this.flush(), 1000);
      this.timer.unref();
    }
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dir || !this.file || !this.dirty) return;
    mkdirSync(this.dir, { recursive: true });
    for (const [file, data] of [
      [this.file, this.data],
      [this.seenFile, this.seen],
    ] as const) {
      if (!file) continue;
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
      renameSync(tmp, file);
    }
    this.dirty = false;
  }

  snapshot(): Learned {
    return structuredClone(this.data);
  }
}
