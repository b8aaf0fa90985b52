// Connecting to the one address route() checked. A refusal and a timeout are different
// failures for the client (502 and 504) and in the log.
import net from "node:net";
import { type Addr, formatAddr } from "../ssrf.ts";

export type Dialled = { sock: net.Socket } | { status: 502 | 504; error: string };

export function dial(addr: Addr, port: number, timeoutMs: number): Promise<Dialled> {
  const where = `${formatAddr(addr)}:${port}`;
  return new Promise((resolve) => {
    const s = net.connect({ host: formatAddr(addr), port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ status: 504, error: `connect to ${where} timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve({ sock: s });
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ status: 502, error: `cannot connect to ${where}: ${err.code ?? err.message}` });
    });
  });
}
