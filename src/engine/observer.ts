// `corral observe`'s loop: read the lines ulogd2 added, name both ends by the containers running
// now, fold them into the record and save record and cursor together, atomically. A crash
// between saves loses nothing: the next start reads again from the saved cursor, so every line
// is counted exactly once in what is on disk.
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { eventFromLine, readNewLines } from "./nflog.ts";
import {
  type AddressOwner,
  DEFAULT_MAX_FLOWS,
  emptyRecord,
  type FlowRecord,
  FlowRecordError,
  foldEvents,
  parseRecord,
} from "./observed-flows.ts";

export function saveRecord(path: string, record: FlowRecord): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record, null, 1)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename itself is durable only once the directory is.
  const dir = openSync(dirname(path), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The saved record, or an empty one; a damaged file is kept aside (never overwritten) and named. */
export function loadRecord(path: string, now = Date.now()): { record: FlowRecord; setAside?: string } {
  if (!existsSync(path)) return { record: emptyRecord() };
  try {
    return { record: parseRecord(readFileSync(path, "utf8")) };
  } catch (err) {
    if (!(err instanceof FlowRecordError)) throw err;
    const aside = `${path}.damaged-${now}`;
    renameSync(path, aside);
    return { record: emptyRecord(), setAside: `${aside} (${err.message})` };
  }
}

export interface ObserverOptions {
  /** ulogd2's JSON lines */
  jsonFile: string;
  /**
   * When the file is ours (our own ulogd2), keep it under this size: a full file is moved aside,
   * ulogd2 asked to reopen (SIGHUP), and the old file read to its end. A SIEM's file is never touched.
   */
  rotate?: { maxBytes: number; reopen: () => void };
  /** where the record is kept */
  recordFile: string;
  /** who has which address now: the live containers' attachments and the bridges' gateways */
  owner: () => Promise<AddressOwner>;
  /** which replica an address is (asked after owner(), in the same tick) */
  replica?: () => Promise<AddressOwner>;
  maxFlows?: number;
}

export interface ObserveTick {
  lines: number;
  events: number;
  newFlows: number;
  record: FlowRecord;
}

export class Observer {
  private record: FlowRecord;
  private readonly o: ObserverOptions;
  readonly setAside: string | undefined;

  constructor(options: ObserverOptions) {
    this.o = options;
    const loaded = loadRecord(options.recordFile);
    this.record = loaded.record;
    this.setAside = loaded.setAside;
  }

  /** Reads everything new, folds it and saves; the record on disk and its cursor move together. */
  async tick(): Promise<ObserveTick> {
    const rotated = this.rotateIfFull();
    const fresh = readNewLines(this.o.jsonFile, rotated ? undefined : this.record.cursor);
    const lines = [...(rotated ?? []), ...fresh.lines];
    const cursor = fresh.cursor;
    const same = this.record.cursor?.offset === cursor.offset && this.record.cursor.inode === cursor.inode;
    if (!rotated && lines.length === 0 && same) return { lines: 0, events: 0, newFlows: 0, record: this.record };
    const events = lines.flatMap((l) => {
      const e = eventFromLine(l);
      return e ? [e] : [];
    });
    const before = this.record.flows.length;
    const owner = await this.o.owner();
    const replica = await this.o.replica?.();
    this.record = {
      ...foldEvents(this.record, events, owner, this.o.maxFlows ?? DEFAULT_MAX_FLOWS, replica),
      cursor,
    };
    saveRecord(this.o.recordFile, this.record);
    return {
      lines: lines.length,
      events: events.length,
      newFlows: this.record.flows.length - before,
      record: this.record,
    };
  }

  /**
   * The lines left in a full file, read to its end after it was moved aside and ulogd2 reopened
   * a new one: nothing written before the reopen is lost. Undefined when nothing was rotated.
   */
  private rotateIfFull(): string[] | undefined {
    const r = this.o.rotate;
    if (!r || !existsSync(this.o.jsonFile) || statSync(this.o.jsonFile).size < r.maxBytes) return undefined;
    const aside = `${this.o.jsonFile}.1`;
    renameSync(this.o.jsonFile, aside);
    r.reopen();
    // ulogd2 reopens on its next loop; until then its lines still land in the old file, so that
    // is read only once the new file exists (or after a bounded wait).
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50 && !existsSync(this.o.jsonFile); i++) Atomics.wait(pause, 0, 0, 20);
    const rest: string[] = [];
    let at = this.record.cursor && { ...this.record.cursor, file: aside };
    for (;;) {
      const { lines, cursor } = readNewLines(aside, at);
      rest.push(...lines);
      if (lines.length === 0) break;
      at = cursor;
    }
    rmSync(aside, { force: true });
    return rest;
  }
}
