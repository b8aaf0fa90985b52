// Waiting on a condition instead of sleeping a guessed time: a fixed sleep fails on a loaded
// machine and wastes time on an idle one. The deadline is only a ceiling for a broken run, so it
// is generous; a passing test returns as soon as the condition holds.
import assert from "node:assert/strict";

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, everyMs = 20 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
