// What was observed, as a change of corral.yaml: a flow per (from, to) service pair with exactly
// the ports seen, and each learned egress destination under its identity, every addition with its
// evidence as a comment. Never wider than what was seen: services, not zones; ports, not ranges;
// names as learned (a wildcard only when the caller folded them on request). Edited through the
// yaml library's document API, so the user's comments and layout stay. Pure: the caller says what
// the policy already allows and what the SSRF floor forbids.
import { isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";
import { HOST_TARGET } from "./zones.ts";

export interface ObservedFlowEvidence {
  from: string;
  to: string;
  protocol: string;
  port: number;
  count: number;
  first: string;
  last: string;
  example: { src: string; dst: string; srcPort: number };
}

export interface LearnedDestination {
  identity: string;
  destination: string;
  count: number;
  /** names folded into a wildcard (only when asked) */
  members?: string[];
  /** first and last used (ISO 8601), when the gate kept them */
  first?: string;
  last?: string;
}

export interface ChangeInput {
  flows: readonly ObservedFlowEvidence[];
  egress: readonly LearnedDestination[];
  /** the policy already allows this connection */
  flowAllowed(from: string, to: string, port: number, protocol: "tcp" | "udp"): boolean;
  /** the identity's egress already allows this destination */
  egressAllowed(identity: string, destination: string): boolean;
  /** why the SSRF floor forbids a destination, or undefined */
  floorForbids(destination: string): string | undefined;
}

export interface ProposedFlow {
  from: string;
  to: string;
  ports: string[];
  evidence: string;
}

export interface ProposedEgress {
  identity: string;
  destination: string;
  evidence: string;
}

export interface PolicyChange {
  text: string;
  flows: ProposedFlow[];
  egress: ProposedEgress[];
  /** what was seen but is not proposed, and why */
  left: Array<{ what: string; why: string }>;
}

const HOST_RECORD_NAME = "(host)";

function flowEvidence(list: readonly ObservedFlowEvidence[]): string {
  const count = list.reduce((s, f) => s + f.count, 0);
  const first = list.map((f) => f.first).sort()[0];
  const last = list
    .map((f) => f.last)
    .sort()
    .at(-1);
  const e = list[0]!.example;
  return ` observed ${count} connection${count === 1 ? "" : "s"}, ${first} to ${last}, e.g. ${e.src}:${e.srcPort} → ${e.dst}:${list[0]!.port}/${list[0]!.protocol}`;
}

export function proposeChange(text: string, input: ChangeInput): PolicyChange {
  const left: PolicyChange["left"] = [];
  const pairs = new Map<string, ObservedFlowEvidence[]>();
  for (const f of input.flows) {
    const what = `${f.from} → ${f.to} ${f.port}/${f.protocol}`;
    if (f.protocol !== "tcp" && f.protocol !== "udp") {
      left.push({ what, why: "flows name TCP or UDP ports" });
      continue;
    }
    if (f.from === HOST_RECORD_NAME) {
      left.push({ what, why: "the host is not a service a flow starts from" });
      continue;
    }
    const to = f.to === HOST_RECORD_NAME ? HOST_TARGET : f.to;
    if (input.flowAllowed(f.from, to, f.port, f.protocol)) continue;
    const key = `${f.from}\u0000${to}`;
    pairs.set(key, [...(pairs.get(key) ?? []), f]);
  }
  const flows: ProposedFlow[] = [...pairs.values()]
    .map((list) => ({
      from: list[0]!.from,
      to: list[0]!.to === HOST_RECORD_NAME ? HOST_TARGET : list[0]!.to,
      ports: [...new Set(list.map((f) => `${f.port}/${f.protocol}`))].sort(
        (a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b),
      ),
      evidence: flowEvidence(list),
    }))
    .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));

  const egress: ProposedEgress[] = [];
  for (const d of input.egress) {
    const what = `${d.identity} → ${d.destination}`;
    const forbidden = input.floorForbids(d.destination);
    if (forbidden) {
      left.push({ what, why: `the SSRF floor forbids it (${forbidden}); no allowlist entry can open it` });
      continue;
    }
    if (input.egressAllowed(d.identity, d.destination)) continue;
    const folded =
      d.members && d.members.length > 1 ? ` (${d.members.length} names: ${d.members.slice(0, 5).join(", ")})` : "";
    egress.push({
      identity: d.identity,
      destination: d.destination,
      evidence: ` learned ${d.count} request${d.count === 1 ? "" : "s"}${d.first && d.last ? `, ${d.first} to ${d.last}` : ""}${folded}`,
    });
  }

  const edits = new TextEdits(text);
  if (flows.length > 0)
    edits.appendToList(
      ["flows"],
      flows.map((f) => ({
        comment: f.evidence,
        item: `{ from: ${f.from}, to: ${f.to}, ports: [${f.ports.join(", ")}] }`,
      })),
    );
  const byIdentity = new Map<string, ProposedEgress[]>();
  for (const e of egress) byIdentity.set(e.identity, [...(byIdentity.get(e.identity) ?? []), e]);
  for (const [identity, list] of byIdentity) {
    const items = list.map((e) => ({ comment: e.evidence, item: JSON.stringify(e.destination) }));
    const index = edits.findItem(["egress"], (v) => {
      const from = (v as { from?: unknown }).from;
      return from === identity || (Array.isArray(from) && from.length === 1 && from[0] === identity);
    });
    if (index !== undefined) edits.appendToList(["egress", index, "allow"], items);
    else
      edits.appendToList(
        ["egress"],
        [
          {
            comment: " proposed by corral policy suggest from what learn mode saw",
            item: `from: ${identity}`,
            rest: ["allow:", ...items.flatMap((i) => [`  #${i.comment}`, `  - ${i.item}`])],
          },
        ],
      );
  }
  return { text: edits.result(), flows, egress, left };
}

interface NewItem {
  comment: string;
  item: string;
  /** further lines of a block item, relative to its first line's content */
  rest?: string[];
}

/**
 * Additions spliced into the original text at positions the yaml library's document gives, so
 * every byte the user wrote stays as it was. A list that is not a block list (`flows: []`) or a
 * key that is missing is rewritten through the document (the one place layout can change).
 */
class TextEdits {
  private readonly text: string;
  private readonly doc: ReturnType<typeof parseDocument>;
  private readonly inserts: Array<{ at: number; text: string }> = [];
  private readonly rewrites: Array<{ path: Array<string | number>; items: NewItem[] }> = [];

  constructor(text: string) {
    this.text = text;
    this.doc = parseDocument(text);
  }

  findItem(path: Array<string | number>, match: (value: unknown) => boolean): number | undefined {
    const seq = this.doc.getIn(path, true);
    if (!isSeq(seq)) return undefined;
    const i = seq.items.findIndex((item) => isMap(item) && match((item as YAMLMap).toJSON()));
    return i < 0 ? undefined : i;
  }

  appendToList(path: Array<string | number>, items: NewItem[]): void {
    const seq = this.doc.getIn(path, true);
    const blockItems = items.some((i) => i.rest);
    if (isSeq(seq) && seq.flow && seq.range && !blockItems) {
      this.appendToFlowList(seq.range, items);
      return;
    }
    const parent = path.length > 0 ? this.doc.getIn(path.slice(0, -1), true) : undefined;
    const key = String(path.at(-1));
    if (seq === undefined && isMap(parent) && parent.range && !(parent.flow && blockItems)) {
      if (parent.flow) this.addFlowKey(parent.range, key, items);
      else this.addBlockKey(parent.range, key, items);
      return;
    }
    if (!isSeq(seq) || seq.flow || seq.items.length === 0 || !seq.range) {
      this.rewrites.push({ path, items });
      return;
    }
    const start = seq.range[0];
    const lineStart = this.text.lastIndexOf("\n", start - 1) + 1;
    const indent = " ".repeat(start - lineStart);
    const last = seq.items.at(-1) as { range?: [number, number, number] };
    // A block item's range may run on past its own lines: end at the line of its last character.
    let valueEnd = last.range?.[1] ?? seq.range[1];
    while (valueEnd > start && /\s/.test(this.text[valueEnd - 1] ?? "")) valueEnd--;
    const eol = this.text.indexOf("\n", valueEnd);
    const at = eol < 0 ? this.text.length : eol + 1;
    const lines = items.flatMap((i) => [
      `${indent}#${i.comment}`,
      `${indent}- ${i.item}`,
      ...(i.rest ?? []).map((r) => `${indent}  ${r}`),
    ]);
    const newline = eol < 0 && !this.text.endsWith("\n") ? "\n" : "";
    this.inserts.push({ at, text: `${newline}${lines.join("\n")}\n` });
  }

  /** `[a, b]` → `[a, b, new]`; the evidence goes on a comment line above the line the list is on. */
  private appendToFlowList(range: [number, number, number], items: NewItem[]): void {
    const close = this.text.lastIndexOf("]", range[1]);
    const empty = /^\[\s*$/.test(this.text.slice(range[0], close));
    this.inserts.push({ at: close, text: `${empty ? "" : ", "}${items.map((i) => i.item).join(", ")}` });
    this.commentAbove(range[0], items);
  }

  /** `{ from: x }` → `{ from: x, allow: [new] }`, the evidence on a comment line above. */
  private addFlowKey(range: [number, number, number], key: string, items: NewItem[]): void {
    const close = this.text.lastIndexOf("}", range[1]);
    let before = close;
    while (before > range[0] && /\s/.test(this.text[before - 1] ?? "")) before--;
    this.inserts.push({ at: before, text: `, ${key}: [${items.map((i) => i.item).join(", ")}]` });
    this.commentAbove(range[0], items);
  }

  /** A key the block map lacks, as a block list under its last line, at the map's indentation. */
  private addBlockKey(range: [number, number, number], key: string, items: NewItem[]): void {
    const first = this.text.lastIndexOf("\n", range[0] - 1) + 1;
    const column = range[0] - first;
    // A list item's map starts after "- ": its keys line up with the first one.
    const indent = " ".repeat(column);
    let end = range[1];
    while (end > range[0] && /\s/.test(this.text[end - 1] ?? "")) end--;
    const eol = this.text.indexOf("\n", end);
    const at = eol < 0 ? this.text.length : eol + 1;
    const lines = [
      `${indent}${key}:`,
      ...items.flatMap((i) => [
        `${indent}  #${i.comment}`,
        `${indent}  - ${i.item}`,
        ...(i.rest ?? []).map((r) => `${indent}    ${r}`),
      ]),
    ];
    const newline = eol < 0 && !this.text.endsWith("\n") ? "\n" : "";
    this.inserts.push({ at, text: `${newline}${lines.join("\n")}\n` });
  }

  /** On one line several additions share it, so each comment names its own. */
  private commentAbove(position: number, items: NewItem[]): void {
    const lineStart = this.text.lastIndexOf("\n", position - 1) + 1;
    const indent = /^[ \t]*/.exec(this.text.slice(lineStart))?.[0] ?? "";
    this.inserts.push({ at: lineStart, text: items.map((i) => `${indent}# ${i.item}:${i.comment}\n`).join("") });
  }

  result(): string {
    let out = this.text;
    // From the end backwards. At one position (the end of several nested lists at once) the
    // deepest goes first, so each addition lands inside the list it belongs to; at one depth the
    // first addition made stays first.
    const depth = (text: string) => /^\n?( *)/.exec(text)?.[1]?.length ?? 0;
    const order = this.inserts
      .map((ins, i) => ({ ...ins, i, depth: depth(ins.text) }))
      .sort((a, b) => b.at - a.at || a.depth - b.depth || b.i - a.i);
    for (const ins of order) out = out.slice(0, ins.at) + ins.text + out.slice(ins.at);
    if (this.rewrites.length === 0) return out;
    const doc = parseDocument(out);
    for (const r of this.rewrites) {
      const items = r.items.map((i) => {
        const node = doc.createNode(
          parseDocument([`- ${i.item}`, ...(i.rest ?? []).map((x) => `  ${x}`)].join("\n")).toJS()[0],
        );
        node.commentBefore = i.comment;
        return node;
      });
      let seq = doc.getIn(r.path, true);
      if (!isSeq(seq)) {
        seq = doc.createNode([]);
        doc.setIn(r.path, seq);
      }
      for (const n of items) (seq as YAMLSeq).add(n);
    }
    return doc.toString();
  }
}
