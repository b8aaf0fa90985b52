// Where checkpoints go off the host: witnesses (C2SP tlog-witness, cosigned and verified), and
// copies for people without a second machine (a webhook, remote syslog), which keep each
// checkpoint line for `corral audit verify --anchor-copy`. One `deliver` per attempt; a thrown
// AnchorRefused is a verdict (retrying the same checkpoint will not help), anything else is
// transient.

import { createSocket } from "node:dgram";
import { createConnection } from "node:net";
import { hostname } from "node:os";
import { addCheckpointBody, NoProofError } from "./anchor-proof.ts";
import { canonicalize } from "./canonical.ts";
import type { NoteKey } from "./signed-note.ts";
import type { Checkpoint } from "./types.ts";
import { cosignatureTime } from "./witness-core.ts";

export class AnchorRefused extends Error {}

export interface Delivered {
  /** the size the target now holds for this log */
  size: number;
  /** the witness's cosigned checkpoint (log signature + cosignature) */
  note?: string;
}

export interface AnchorTarget {
  readonly id: string;
  readonly kind: "witness" | "webhook" | "syslog";
  deliver(cp: Checkpoint, signal: AbortSignal): Promise<Delivered>;
}

export class WitnessTarget implements AnchorTarget {
  readonly kind = "witness";
  readonly id: string;
  /** what we believe the witness holds; corrected by its 409 answers */
  private size = 0;
  private readonly url: string;
  private readonly key: NoteKey;
  private readonly dir: string;

  constructor(url: string, key: NoteKey, dir: string) {
    this.id = url;
    this.url = url;
    this.key = key;
    this.dir = dir;
  }

  async deliver(cp: Checkpoint, signal: AbortSignal): Promise<Delivered> {
    // A 409 names the witness's size; one retry from there is the protocol's normal path.
    for (let attempt = 0; attempt < 2; attempt++) {
      let body: string;
      try {
        body = await addCheckpointBody(this.dir, cp, this.size);
      } catch (err) {
        if (err instanceof NoProofError) throw new AnchorRefused(err.message);
        throw err;
      }
      const res = await fetch(`${this.url.replace(/\/+$/, "")}/add-checkpoint`, {
        method: "POST",
        body,
        signal,
        redirect: "error",
      });
      const text = await res.text();
      if (res.status === 409 && /^\d+\s*$/.test(text)) {
        this.size = Number(text.trim());
        continue;
      }
      if (res.status === 200) {
        const note = cp.note! + text;
        // A witness that answers 200 without a valid cosignature has not anchored anything.
        if (cosignatureTime(note, this.key) === undefined)
          throw new Error(`${this.url} answered 200 without a cosignature by ${this.key.name}`);
        this.size = cp.seq;
        return { size: cp.seq, note };
      }
      if (res.status >= 500) throw new Error(`${this.url} answered ${res.status}: ${text.trim().slice(0, 200)}`);
      throw new AnchorRefused(
        `${this.url} refused the checkpoint at seq ${cp.seq} (${res.status}: ${text.trim().slice(0, 200)})`,
      );
    }
    throw new Error(`${this.url} kept answering 409`);
  }
}

/** The line a copy target sends: the checkpoints.jsonl line itself. */
export function checkpointLine(cp: Checkpoint): string {
  return canonicalize({ ...cp });
}

export class WebhookTarget implements AnchorTarget {
  readonly kind = "webhook";
  readonly id: string;
  private readonly url: string;

  constructor(url: string) {
    this.id = url;
    this.url = url;
  }

  async deliver(cp: Checkpoint, signal: AbortSignal): Promise<Delivered> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: checkpointLine(cp),
      signal,
      redirect: "error",
    });
    await res.arrayBuffer();
    if (res.ok) return { size: cp.seq };
    if (res.status >= 500 || res.status === 429) throw new Error(`${this.url} answered ${res.status}`);
    throw new AnchorRefused(`${this.url} refused the checkpoint (${res.status})`);
  }
}

/** RFC 5424 over UDP (one datagram) or TCP (newline-framed, as rsyslog's imtcp reads it). */
export class SyslogTarget implements AnchorTarget {
  readonly kind = "syslog";
  readonly id: string;
  private readonly proto: "udp" | "tcp";
  private readonly host: string;
  private readonly port: number;

  constructor(url: string) {
    const u = new URL(url);
    this.proto = u.protocol === "tcp:" ? "tcp" : "udp";
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port || 514);
    this.id = url;
  }

  message(cp: Checkpoint): string {
    // facility 13 (log audit), severity 6 (informational)
    const host = hostname().replace(/\s/g, "") || "-";
    return `<110>1 ${cp.time} ${host} corral - audit-checkpoint - ${checkpointLine(cp)}`;
  }

  deliver(cp: Checkpoint, signal: AbortSignal): Promise<Delivered> {
    const msg = Buffer.from(this.message(cp), "utf8");
    return new Promise((resolve, reject) => {
      if (this.proto === "udp") {
        const sock = createSocket(this.host.includes(":") ? "udp6" : "udp4");
        sock.send(msg, this.port, this.host, (err) => {
          sock.close();
          if (err) reject(err);
          else resolve({ size: cp.seq });
        });
        return;
      }
      const sock = createConnection({ host: this.host, port: this.port, signal });
      sock.once("error", reject);
      sock.once("connect", () => sock.end(Buffer.concat([msg, Buffer.from("\n")]), () => resolve({ size: cp.seq })));
    });
  }
}
