// A writable that keeps what was written, for commands run in-process (`main([...], { stdout })`).
import { Writable } from "node:stream";

export function textSink(): { stream: Writable; text: () => string } {
  let text = "";
  return {
    stream: new Writable({
      write(c, _e, cb) {
        text += c;
        cb();
      },
    }),
    text: () => text,
  };
}
