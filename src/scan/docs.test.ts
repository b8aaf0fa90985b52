import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RULES } from "./catalog.ts";
import { generatedDocs, RULES_DIR } from "./docs.ts";

test("docs/rules is up to date (regenerate with: node src/scan/docs.ts)", () => {
  const docs = generatedDocs();
  for (const [name, text] of docs) {
    const path = join(RULES_DIR, name);
    assert.ok(existsSync(path), `${name} is missing`);
    assert.equal(readFileSync(path, "utf8"), text, `${name} is stale`);
  }
  const extra = readdirSync(RULES_DIR).filter((f) => f.endsWith(".md") && !docs.has(f));
  assert.deepEqual(extra, [], "pages for rules that no longer exist");
});

test("catalog: ≥45 rules, unique well-formed ids, complete metadata", () => {
  assert.ok(RULES.length >= 45, `${RULES.length} rules`);
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const r of RULES) {
    assert.match(r.id, /^CRL-[A-Z]\d{3}$/);
    assert.match(r.cwe, /^CWE-\d+$/, r.id);
    assert.ok(r.title && r.rationale.length > 20 && r.fix.length > 5, r.id);
    assert.ok(["critical", "high", "medium", "low", "info"].includes(r.severity), r.id);
  }
});
