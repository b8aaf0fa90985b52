// Shell: the DNS server's UDP socket through native/dnsbatch.c (recvmmsg/sendmmsg, one trip into
// JavaScript per batch, and a table of exact repeats answered in C). The table holds only what
// this module installs: the bytes of a query JavaScript has just answered for one client, the
// response it sent, how long that response stays what decide() would say, and the decision event
// to publish for every repeat. Without the addon (no compiler or Node headers when it was built,
// or CORRAL_DNS_BATCH=0) the server keeps to node:dgram.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DecisionEvent } from "../events.ts";

const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Addon {
  BATCH: number;
  SLOT_SIZE: number;
  SLOT_HEAD: number;
  open(host: string, port: number, reusePort: boolean, bufferBytes: number): object;
  port(sock: object): number;
  start(
    sock: object,
    onBatch: (count: number, hitPairs: number, nsPerHit: number) => void,
    inbox: Buffer,
    hits: Buffer,
  ): void;
  install(sock: object, id: number, address: string, query: Buffer, response: Buffer, validMs: number): boolean;
  clear(sock: object): void;
  send(sock: object, buf: Buffer, address: string, port: number): boolean;
  stats(sock: object): [number, number, number, number];
  close(sock: object): void;
}

let addon: Addon | Error | undefined;

/** The addon, or why it is not available (said once in the gate's start-up log). */
export function dnsBatchAddon(env: NodeJS.ProcessEnv = process.env): Addon | Error {
  if (env.CORRAL_DNS_BATCH === "0") return new Error("turned off by CORRAL_DNS_BATCH=0");
  if (addon) return addon;
  const file = join(env.CORRAL_NATIVE_DIR ?? join(PACKAGE_ROOT, "build", "native"), "dnsbatch.node");
  if (!existsSync(file)) return new Error(`${file} not built (scripts/build-native.sh)`);
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (err) {
    addon = new Error(`${file}: ${(err as Error).message}`);
  }
  return addon;
}

export interface BatchStats {
  /** answered from the repeat table, in C */
  repeats: number;
  /** handed to JavaScript */
  handled: number;
  sendDrops: number;
  entries: number;
}

export type QueryHandler = (msg: Buffer, address: string, port: number) => void;

export class BatchUdp {
  readonly port: number;
  private readonly addon: Addon;
  private readonly sock: object;
  private readonly inbox: Buffer;
  private readonly hits: Buffer;
  private readonly hitWords: Uint32Array;
  /** the decision published again for each repeat, by table entry id */
  private readonly events = new Map<number, DecisionEvent>();
  private nextId = 1;
  private closed = false;

  constructor(
    a: Addon,
    host: string,
    port: number,
    reusePort: boolean,
    onQuery: QueryHandler,
    onRepeat: (ev: DecisionEvent, count: number, nsPerHit: number) => void,
  ) {
    this.addon = a;
    // Bursts of queries should queue in the kernel, not be dropped (capped by net.core.rmem_max).
    this.sock = a.open(host, port, reusePort, 4 * 1024 * 1024);
    this.port = a.port(this.sock);
    this.inbox = Buffer.alloc(a.BATCH * a.SLOT_SIZE);
    this.hits = Buffer.alloc(a.BATCH * 8);
    this.hitWords = new Uint32Array(this.hits.buffer, this.hits.byteOffset, a.BATCH * 2);
    const { SLOT_SIZE, SLOT_HEAD } = a;
    a.start(
      this.sock,
      (count, hitPairs, nsPerHit) => {
        // Repeats first: they were answered before anything in this batch reached JavaScript.
        // Never throws back into C: an exception there would take the process down, where
        // node:dgram's 'message' handler would only have lost that datagram's log line.
        for (let p = 0; p < hitPairs; p++) {
          const ev = this.events.get(this.hitWords[2 * p]!);
          try {
            if (ev) onRepeat(ev, this.hitWords[2 * p + 1]!, nsPerHit);
          } catch {}
        }
        const inbox = this.inbox;
        for (let i = 0; i < count && !this.closed; i++) {
          const at = i * SLOT_SIZE;
          if (inbox[at + 4] !== 1) continue;
          const len = inbox.readUInt16BE(at);
          const from = inbox.toString("latin1", at + 8, at + 8 + inbox[at + 5]!);
          // A copy: the slot is overwritten by the next batch while an upstream lookup waits.
          const msg = Buffer.from(inbox.subarray(at + SLOT_HEAD, at + SLOT_HEAD + len));
          try {
            onQuery(msg, from, inbox.readUInt16BE(at + 2));
          } catch {}
        }
      },
      this.inbox,
      this.hits,
    );
  }

  send(buf: Buffer, address: string, port: number): void {
    if (this.closed) return;
    try {
      this.addon.send(this.sock, buf, address, port);
    } catch {
      // an address we cannot send to: the answer goes nowhere, as a lost datagram would
    }
  }

  /**
   * From now until `validMs` have passed (or clear()), `query` from `address` is answered with
   * `response` (its id replaced) and `event` is published again for it.
   */
  install(address: string, query: Buffer, response: Buffer, validMs: number, event: DecisionEvent): void {
    if (this.closed || !(validMs > 0)) return;
    if (this.events.size >= 8192) this.clear();
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff_fff0) + 1;
    if (this.addon.install(this.sock, id, address, query, response, validMs)) this.events.set(id, event);
  }

  /** Forgets every installed repeat: the policy, the grants or the resolver changed. */
  clear(): void {
    if (this.closed) return;
    this.addon.clear(this.sock);
    this.events.clear();
  }

  stats(): BatchStats {
    const [repeats, handled, sendDrops, entries] = this.closed ? [0, 0, 0, 0] : this.addon.stats(this.sock);
    return { repeats, handled, sendDrops, entries };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.clear();
    this.addon.close(this.sock);
  }
}
