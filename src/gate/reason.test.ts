import assert from "node:assert/strict";
import { test } from "node:test";
import { codesSeen, runDecisionCases } from "../testing/decision-cases.ts";
import { REASON_CODES, REASON_TEXT, reasonText } from "./reason.ts";

test("the decision layer produces every reason code", () => {
  const seen = codesSeen(runDecisionCases());
  assert.deepEqual(
    REASON_CODES.filter((c) => !seen.has(c)),
    [],
    "codes no case produces",
  );
});

test("grants: allowed while they last, never remembered as allowed, denied once expired", () => {
  const by = new Map(runDecisionCases().map((o) => [o.label, JSON.parse(o.result.startsWith("[") ? o.result : "[]")]));
  assert.equal(by.get("grant")[2], "grant");
  assert.equal(by.get("grant-again")[2], "grant");
  assert.equal(by.get("grant-expired")[2], "unlisted");
  assert.equal(by.get("grant-expired")[7], true, "an unlisted denial depends on grants");
  assert.equal(by.get("grant-dns-expired")[0], "deny");
  assert.equal(by.get("listed-remembered")[7], false);
});

test("rewording every reason changes no behaviour", () => {
  const before = runDecisionCases();
  const saved = { ...REASON_TEXT };
  try {
    for (const code of REASON_CODES) REASON_TEXT[code] = `reworded ${code.split("").reverse().join("")} ✎`;
    const after = runDecisionCases();
    assert.deepEqual(after, before);
    assert.match(reasonText({ code: "unlisted" }), /^reworded/);
  } finally {
    Object.assign(REASON_TEXT, saved);
  }
});

test("reason text: the code's words, then the detail", () => {
  assert.equal(reasonText({ code: "listed", detail: "'api.openai.com:443'" }), "allowed by: 'api.openai.com:443'");
  assert.equal(reasonText({ code: "unlisted" }), "not in allow list");
});
