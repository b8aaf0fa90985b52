// Connecting to the one address route() checked. A refusal and a timeout are different
// failures for the client (502 and 504) and in the log.
import net from "node:net";
import { type Addr, formatAddr } from "../ssrf.ts";

export type Dialled = { sock: net.Socket } | { status: 502 | 504; error: string };

export function dial(addr: Addr, port: number, timeoutMs: number): Promise<Dialled> {
  const where = `${formatAddr(addr)}:${port}`;
  const s = net.connect({ host: formatAddr(addr), port, noDelay: true });
  return settle(s, "connect", timeoutMs, {
    timedOut: `connect to ${where} timed out after ${timeoutMs} ms`,
    failed: (err) => `cannot connect to ${where}: ${err.code ?? err.message}`,
  });
}

/**
 * A connection attempt's outcome: the socket once `ready` fires, a 504 after `timeoutMs`, or a
 * 502 saying why (plain TCP here, TLS in tls/tls-upstream.ts).
 */
export function settle(
  s: net.Socket,
  ready: "connect" | "secureConnect",
  timeoutMs: number,
  text: { timedOut: string; failed: (err: NodeJS.ErrnoException) => string },
): Promise<Dialled> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ status: 504, error: text.timedOut });
    }, timeoutMs);
    s.once(ready, () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve({ sock: s });
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ status: 502, error: text.failed(err) });
    });
  });
}
