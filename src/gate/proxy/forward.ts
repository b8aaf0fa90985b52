// An absolute-URI request relayed to the checked address: the request body by its framing, the
// response head validated and cleaned of hop-by-hop headers, its body by its framing. An
// upstream connection is kept for the next request to the same destination. The request ends
// when its response has been relayed (or when either side fails).
import { type BodyScanner, exfiltrationInBody } from "../credentials/broker.ts";
import type { Placeholder } from "../credentials/credential-index.ts";
import { badRequest } from "../decide-request.ts";
import type { Addr } from "../ssrf.ts";
import { dialTls, type UpstreamTls } from "../tls/tls-upstream.ts";
import { batchWrites } from "./batch.ts";
import { BodyReader } from "./body.ts";
import type { ClientConnection } from "./connection.ts";
import { dial } from "./dial.ts";
import type { Exchange } from "./exchange.ts";
import {
  endToEndHeaders,
  headEnd,
  parseResponseHead,
  responseFraming,
  serializeHead,
  wantsClose,
} from "./http-head.ts";

const MAX_RESPONSE_HEAD = 65536;

export async function forward(
  conn: ClientConnection,
  ex: Exchange,
  key: string,
  addr: Addr,
  port: number,
  head: Buffer,
  body: BodyReader,
  method: string,
  clientClose: boolean,
  via: { tls?: UpstreamTls; scanner?: BodyScanner } = {},
): Promise<void> {
  if (conn.upstream && (conn.upstream.key !== key || conn.upstream.sock.destroyed)) {
    conn.upstream.sock.destroy();
    conn.upstream = undefined;
  }
  if (!conn.upstream) {
    const timeout = conn.ctx.snapshot().limits.connectTimeoutMs;
    const dialled = await (via.tls ? dialTls(addr, port, timeout, via.tls) : dial(addr, port, timeout));
    if (conn.state === "closed") {
      if ("sock" in dialled) dialled.sock.destroy();
      return;
    }
    if (!("sock" in dialled)) return conn.failed(dialled.status, dialled.error);
    const s = dialled.sock;
    s.setTimeout(conn.ctx.snapshot().limits.idleTimeoutMs, () => s.destroy());
    s.on("error", () => {});
    conn.upstream = { sock: s, key };
  }
  const up = conn.upstream.sock;
  const client = conn.sock;
  batchWrites(up);
  up.write(head);
  // Request body: what is already buffered, then the client stream, until framing says done.
  /** the client is paused until the upstream drains */
  let held = false;
  const pump = (): boolean => {
    if (body.done || conn.buf.length === 0) return body.done;
    // The scanner reads the body's own bytes (chunked framing taken out), so a placeholder
    // split across two chunks is still one string to it.
    let seen: Placeholder | undefined;
    const scanner = via.scanner;
    const look = (data: Buffer) => {
      seen ??= scanner?.feed(data);
    };
    const f = body.feed(conn.buf, scanner ? look : undefined);
    if (f.error) {
      conn.refuse(400, badRequest(f.error));
      return false;
    }
    if (f.consumed > 0) {
      // A placeholder in a body is never where a key is sent: the request stops here, before
      // the bytes that complete it leave.
      if (seen) {
        conn.refuse(403, exfiltrationInBody(seen));
        return false;
      }
      ex.bytesUp += f.consumed;
      conn.hooks.bytes("up", f.consumed);
      // A slow upstream holds the client back instead of filling the gate's memory.
      if (!up.write(conn.buf.subarray(0, f.consumed)) && !f.done && !held) {
        held = true;
        client.pause();
        up.once("drain", () => {
          held = false;
          if (conn.state !== "closed" && !body.done) client.resume();
        });
      }
    }
    conn.buf = conn.buf.subarray(f.consumed);
    return f.done;
  };
  await new Promise<void>((resolve) => {
    let respHead: Buffer = Buffer.alloc(0);
    let reader: BodyReader | undefined;
    let closeAfter = clientClose;
    let finished = false;
    /** the final status the client has been sent */
    let status: number | undefined;
    let responseDelimitedByClose = false;
    const cleanup = () => {
      up.off("data", onUp);
      up.off("close", onUpClose);
      client.off("data", onClient);
    };
    const complete = () => {
      if (finished) return;
      finished = true;
      cleanup();
      resolve();
      if (conn.state === "closed") return;
      ex.end({ status });
      // The upstream answered before the request body ended: the rest of that body must not
      // be read as the next request, so this connection ends here.
      if (!body.done) closeAfter = true;
      conn.finished(closeAfter);
    };
    const upstreamFailed = (error: string) => {
      if (status === undefined) return conn.failed(502, error);
      // The head is out: the client sees a cut connection, and the log says why.
      ex.end({ status, error });
      conn.destroy(error);
    };
    const onClient = () => {
      // Pipelined bytes after this body stay in buf (onData) and wait for this response.
      if (!body.done) pump();
      if (body.done) client.pause();
    };
    const onUpClose = () => {
      if (reader && !reader.done && responseDelimitedByClose) {
        closeAfter = true;
        complete();
        return;
      }
      cleanup();
      finished = true;
      resolve();
      if (conn.state !== "closed")
        upstreamFailed(status === undefined ? "upstream closed without a response" : "upstream closed mid-response");
    };
    // Corked until the end of the turn: a response head and its body leave in one write.
    const onUp = (d: Buffer) => {
      batchWrites(client);
      relay(d);
    };
    const relay = (d: Buffer) => {
      if (conn.state === "closed") return;
      let data = d;
      while (data.length > 0) {
        if (!reader) {
          respHead = respHead.length === 0 ? data : Buffer.concat([respHead, data]);
          const end = headEnd(respHead);
          if (end < 0) {
            if (respHead.length > MAX_RESPONSE_HEAD) return upstreamFailed("upstream response head too large");
            return;
          }
          const parsed = parseResponseHead(respHead.subarray(0, end - 4), 1000);
          const rawHead = respHead.subarray(0, end);
          data = respHead.subarray(end);
          respHead = Buffer.alloc(0);
          if ("error" in parsed) return upstreamFailed(`upstream ${parsed.error}`);
          const code = Number(parsed.startLine[1]);
          if (code === 101) return upstreamFailed("upstream switched protocols");
          const framing = responseFraming(parsed, method);
          if ("error" in framing) return upstreamFailed(`upstream ${framing.error}`);
          if (wantsClose(parsed, parsed.startLine[0])) closeAfter = true;
          if (framing.kind === "close") {
            closeAfter = true;
            responseDelimitedByClose = true;
          }
          if (!body.done) closeAfter = true;
          const headers = endToEndHeaders(parsed);
          const cleanReason = /^[\t\x20-\x7e]*$/.test(parsed.startLine[2]);
          if (!closeAfter && cleanReason && parsed.startLine[0] === "1.1" && headers.length === parsed.headers.length) {
            // Nothing to strip or add: the validated head goes out as it came.
            client.write(rawHead);
          } else {
            if (closeAfter) headers.push(["Connection", "close"]);
            client.write(serializeHead(`HTTP/1.1 ${parsed.startLine[1]} ${parsed.startLine[2]}`, headers));
          }
          if (code >= 100 && code < 200) continue; // interim: the final response follows
          status = code;
          reader = new BodyReader(framing);
          if (reader.done) {
            if (data.length > 0) closeAfter = true; // bytes beyond the response: do not trust this upstream
            return complete();
          }
          continue;
        }
        const f = reader.feed(data);
        if (f.error) return upstreamFailed(`upstream ${f.error}`);
        if (f.consumed > 0) {
          ex.bytesDown += f.consumed;
          conn.hooks.bytes("down", f.consumed);
          if (!client.write(data.subarray(0, f.consumed))) {
            up.pause();
            client.once("drain", () => up.resume());
          }
        }
        data = data.subarray(f.consumed);
        if (f.done) {
          if (data.length > 0) closeAfter = true;
          return complete();
        }
      }
    };
    up.on("data", onUp);
    up.on("close", onUpClose);
    client.on("data", onClient);
    const bodyDone = pump();
    if (bodyDone) client.pause();
    else if (!held) client.resume();
  });
}
