// The probe matrix as test reports, for CI systems that already read them: TAP 13 (one test per
// cell) and JUnit XML (one testcase per cell, a failure per mismatch). Pure.
import type { Cell } from "./matrix.ts";

function label(c: Cell): string {
  const via = c.via ? ` via ${c.via.host}:${c.via.port}` : "";
  const want = c.expected ? `allow${c.rule ? ` (${c.rule})` : ""}` : "deny";
  return `${c.from} -> ${c.to} ${c.port}/${c.protocol}${via}: ${want}`;
}

const seen = (c: Cell) => (c.observed ? "open" : "blocked");

export function renderTap(cells: Cell[], notes: string[] = []): string {
  const lines = ["TAP version 13", `1..${cells.length}`, ...notes.map((n) => `# ${n}`)];
  cells.forEach((c, i) => {
    const ok = c.observed === c.expected;
    lines.push(`${ok ? "ok" : "not ok"} ${i + 1} - ${label(c)}`);
    if (!ok) lines.push("  ---", `  expected: ${c.expected ? "open" : "blocked"}`, `  observed: ${seen(c)}`, "  ...");
  });
  return `${lines.join("\n")}\n`;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function renderJunit(cells: Cell[], suite: string, notes: string[] = []): string {
  const failures = cells.filter((c) => c.observed !== c.expected).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="corral verify" tests="${cells.length}" failures="${failures}">`,
    `  <testsuite name="${xml(suite)}" tests="${cells.length}" failures="${failures}">`,
  ];
  if (notes.length) out.push(`    <system-out>${xml(notes.join("\n"))}</system-out>`);
  for (const c of cells) {
    const name = xml(label(c));
    const classname = xml(c.from);
    if (c.observed === c.expected) out.push(`    <testcase classname="${classname}" name="${name}"/>`);
    else
      out.push(
        `    <testcase classname="${classname}" name="${name}">`,
        `      <failure message="expected ${c.expected ? "open" : "blocked"}, observed ${seen(c)}"/>`,
        "    </testcase>",
      );
  }
  out.push("  </testsuite>", "</testsuites>", "");
  return out.join("\n");
}
