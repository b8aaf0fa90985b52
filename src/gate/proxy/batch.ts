// Socket writes of one event-loop turn leave together: a socket written in this turn is corked
// once and uncorked after the poll phase (setImmediate). Each socket still gets one write
// syscall, but the peers (wrk, the origin) are woken once per burst instead of once per
// response; on a busy loopback those wake-ups were most of the cost of a write.
import type net from "node:net";

const pending = new Set<net.Socket>();
let scheduled = false;

function flush(): void {
  scheduled = false;
  for (const s of pending) if (!s.destroyed) s.uncork();
  pending.clear();
}

/** Corks `s` until the end of this turn (once, however often it is called). */
export function batchWrites(s: net.Socket): void {
  if (pending.has(s) || s.destroyed) return;
  s.cork();
  pending.add(s);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}
