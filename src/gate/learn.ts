// Learn mode: destinations an identity actually used, counted, kept in state_dir/learned.json
// for `corral policy suggest`. Pure suggestion code lives in suggest.ts.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** identity → "host:port" → count */
export type Learned = Record<string, Record<string, number>>;

/** One file per gate worker (learned.json, learned.2.json, …) so workers never overwrite each other. */
export function learnedPath(stateDir: string, worker?: number): string {
  return join(stateDir, worker === undefined || worker === 1 ? "learned.json" : `learned.${worker}.json`);
}

function readOne(file: string): Learned {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Learned;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
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

export class LearnStore {
  private readonly dir: string | undefined;
  private readonly file: string | undefined;
  private readonly data: Learned;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(stateDir: string | undefined, worker?: number) {
    this.dir = stateDir;
    this.file = stateDir ? learnedPath(stateDir, worker) : undefined;
    this.data = this.file ? readOne(this.file) : {};
  }

  record(identity: string, host: string, port: number | undefined): void {
    const key = port === undefined ? host : host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const per = this.data[identity] ?? {};
    this.data[identity] = per;
    per[key] = (per[key] ?? 0) + 1;
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
    const file = this.file;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`);
    renameSync(tmp, file);
    this.dirty = false;
  }

  snapshot(): Learned {
    return structuredClone(this.data);
  }
}
