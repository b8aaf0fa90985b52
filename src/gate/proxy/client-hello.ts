// Holding a tunnel's first client bytes until its TLS decision can be made: the ClientHello is
// complete (bounded by size in decide-tls.ts and in time by header_timeout). Plain tunnels and
// terminated ones both start here.
import type { Socket } from "node:net";
import type { Decision } from "../decide.ts";
import { TUNNEL_START_TIMEOUT } from "../decide-tls.ts";

export type HelloVerdict = "wait" | "ok" | Decision;

/**
 * Reads from `client` (already holding `first`) until `check` is no longer "wait", then calls
 * `done` once with the verdict and every byte read. `armNow`: start the clock at once, not
 * only when a handshake starts arriving.
 */
export function awaitClientHello(
  client: Socket,
  first: Buffer,
  check: (hello: Buffer) => HelloVerdict,
  timeoutMs: number,
  armNow: boolean,
  done: (verdict: "ok" | Decision, hello: Buffer) => void,
): void {
  let hello = first;
  const v = check(hello);
  if (v !== "wait") {
    done(v, hello);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer ??= setTimeout(() => {
      client.off("data", onHello);
      done(TUNNEL_START_TIMEOUT, hello);
    }, timeoutMs);
  };
  if (armNow || hello.length > 0) arm();
  const onHello = (d: Buffer) => {
    hello = Buffer.concat([hello, d]);
    const next = check(hello);
    if (next === "wait") return arm();
    clearTimeout(timer);
    client.off("data", onHello);
    done(next, hello);
  };
  client.on("data", onHello);
  client.once("close", () => clearTimeout(timer));
  client.resume();
}
