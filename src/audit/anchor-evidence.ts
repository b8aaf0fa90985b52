// Gathering what the anchors hold, for verify: a witness's latest cosigned checkpoint of the
// origin (GET /checkpoint), or the newest checkpoint line in a copy that a syslog server or a
// webhook receiver kept (any line prefix, e.g. a syslog header, is skipped up to the JSON).
import { readFileSync } from "node:fs";
import type { AnchorEvidence } from "./anchor-verify.ts";
import { NoteError, type NoteKey, openNote, parseCheckpoint } from "./signed-note.ts";

export async function witnessEvidence(url: string, witnessKey: NoteKey, origin: string): Promise<AnchorEvidence> {
  const base = { source: url, kind: "witness" as const, witnessKey };
  try {
    const res = await fetch(`${url.replace(/\/+$/, "")}/checkpoint?origin=${encodeURIComponent(origin)}`, {
      signal: AbortSignal.timeout(5000),
      redirect: "error",
    });
    const text = await res.text();
    if (res.status === 404) return base;
    if (!res.ok) return { ...base, error: `${url} answered ${res.status}: ${text.trim().slice(0, 200)}` };
    return { ...base, note: text };
  } catch (err) {
    return { ...base, error: `${url} did not answer (${(err as Error).message})` };
  }
}

export function copyEvidence(file: string, log: NoteKey): AnchorEvidence {
  const base = { source: file, kind: "copy" as const };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return { ...base, error: `cannot read ${file}: ${(err as Error).message}` };
  }
  let best: { size: number; note: string } | undefined;
  let foreign = 0;
  for (const line of text.split("\n")) {
    const at = line.indexOf("{");
    if (at < 0) continue;
    let note: unknown;
    try {
      note = (JSON.parse(line.slice(at)) as { note?: unknown }).note;
    } catch {
      continue;
    }
    if (typeof note !== "string") continue;
    try {
      const opened = openNote(note, [log]);
      const head = parseCheckpoint(opened.text);
      if (head.origin !== log.name) continue;
      if (!opened.verified.includes(log.name)) {
        foreign++;
        continue;
      }
      if (!best || head.size > best.size) best = { size: head.size, note };
    } catch (err) {
      // A line that claims our key but does not verify is forged: count it with the foreign ones.
      if (err instanceof NoteError) foreign++;
      else throw err;
    }
  }
  return { ...base, ...(best ? { note: best.note } : {}), ...(foreign ? { foreign } : {}) };
}
