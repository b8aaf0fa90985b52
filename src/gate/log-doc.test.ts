// docs/gate-log.md lists the reason codes with their words: it must stay the same set.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { REASON_CODES, REASON_TEXT } from "./reason.ts";

test("docs/gate-log.md lists every reason code with its words, and no other", () => {
  const doc = readFileSync(new URL("../../docs/gate-log.md", import.meta.url), "utf8");
  const rows = [...doc.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \|$/gm)].map((m) => [m[1]!, m[2]!.trim()]);
  assert.deepEqual(
    rows,
    REASON_CODES.map((c) => [c, REASON_TEXT[c]]),
  );
});
