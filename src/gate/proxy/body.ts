// Finds where a message body ends in a byte stream, so the proxy forwards exactly one message
// and keeps what follows (the next pipelined request) for later. Chunked framing is parsed
// strictly: a chunk-size line the upstream could read differently is an error.
import type { Framing } from "./http-head.ts";

export interface Feed {
  /** bytes of `chunk` that belong to this body */
  consumed: number;
  done: boolean;
  error?: string;
}

const MAX_LINE = 4096;

export class BodyReader {
  private readonly framing: Framing;
  private remaining: number;
  private state: "size" | "data" | "data-crlf" | "trailer" | "done" = "size";
  private line = "";

  constructor(framing: Framing) {
    this.framing = framing;
    this.remaining = framing.kind === "length" ? framing.length : 0;
    if (framing.kind === "none") this.state = "done";
  }

  get done(): boolean {
    return this.state === "done";
  }

  /** `payload`: called with the body's own bytes in `chunk`, without chunked framing. */
  feed(chunk: Buffer, payload?: (data: Buffer) => void): Feed {
    switch (this.framing.kind) {
      case "none":
        return { consumed: 0, done: true };
      case "close":
        payload?.(chunk);
        return { consumed: chunk.length, done: false };
      case "length": {
        const n = Math.min(this.remaining, chunk.length);
        this.remaining -= n;
        if (this.remaining === 0) this.state = "done";
        if (n > 0) payload?.(chunk.subarray(0, n));
        return { consumed: n, done: this.remaining === 0 };
      }
      case "chunked":
        return this.feedChunked(chunk, payload);
    }
  }

  private feedChunked(chunk: Buffer, payload?: (data: Buffer) => void): Feed {
    let i = 0;
    while (i < chunk.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.remaining, chunk.length - i);
        if (n > 0) payload?.(chunk.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = "data-crlf";
        continue;
      }
      const byte = chunk[i++]!;
      this.line += String.fromCharCode(byte);
      if (this.line.length > MAX_LINE) return { consumed: i, done: false, error: "chunk line too long" };
      if (byte !== 0x0a) continue;
      if (!this.line.endsWith("\r\n")) return { consumed: i, done: false, error: "bare LF in chunked body" };
      const line = this.line.slice(0, -2);
      this.line = "";
      if (line.includes("\r")) return { consumed: i, done: false, error: "bare CR in chunked body" };
      if (this.state === "data-crlf") {
        if (line !== "") return { consumed: i, done: false, error: "chunk data longer than its size" };
        this.state = "size";
      } else if (this.state === "size") {
        const m = /^([0-9a-fA-F]{1,12})(?:[ \t]*;[\x20-\x7e\t]*)?$/.exec(line);
        if (!m) return { consumed: i, done: false, error: "invalid chunk size" };
        this.remaining = Number.parseInt(m[1]!, 16);
        this.state = this.remaining === 0 ? "trailer" : "data";
      } else if (this.state === "trailer") {
        if (line === "") this.state = "done";
        else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(line))
          return { consumed: i, done: false, error: "invalid trailer" };
        // A trailer field travels on to the server like the body: whoever scans one sees both.
        else payload?.(Buffer.from(`\n${line}\n`, "latin1"));
      }
    }
    return { consumed: i, done: this.state === "done" };
  }
}
