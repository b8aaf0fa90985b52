// Rewrites the alternative syntaxes of a service (lists vs maps, strings vs lists) into one
// canonical shape, per file and before merging, as compose does: files written in different
// syntaxes then merge key by key. Positions stay those of the original text.
import { isAbsolute, resolve } from "node:path";
import type { SourcePos } from "../types.ts";
import { type PEntry, type PMap, type PScalar, type PV, plain, scalar, str } from "./tree.ts";
import { resolveBindSource, resolveShortVolume } from "./volumes.ts";

function entry(keyPos: SourcePos, value: PV): PEntry {
  return { keyPos, value };
}

function toSeq(v: PV): PV {
  return v.kind === "scalar" && v.value !== null
    ? { kind: "seq", items: [v], pos: v.pos, ...(v.tag ? { tag: v.tag } : {}) }
    : v;
}

/** `[A=b, C]` or `{A: b}` → map name → scalar (null when no value). */
function keyValueMap(v: PV, sep: RegExp): PV {
  if (v.kind !== "seq") return v;
  const entries = new Map<string, PEntry>();
  for (const item of v.items) {
    if (item.kind !== "scalar" || item.value === null) continue;
    const text = String(item.value);
    const m = sep.exec(text);
    const name = m ? text.slice(0, m.index) : text;
    const value: PScalar = m ? scalar(text.slice(m.index + m[0].length), item.pos) : scalar(null, item.pos);
    entries.set(name, entry(item.pos, value));
  }
  return { kind: "map", entries, pos: v.pos, ...(v.tag ? { tag: v.tag } : {}) };
}

/** `[a, b]` → `{a: null, b: null}`. */
function namesToMap(v: PV, fill: (pos: SourcePos) => PV): PV {
  if (v.kind !== "seq") return v;
  const entries = new Map<string, PEntry>();
  for (const item of v.items) {
    if (item.kind === "scalar" && item.value !== null) entries.set(String(item.value), entry(item.pos, fill(item.pos)));
  }
  return { kind: "map", entries, pos: v.pos, ...(v.tag ? { tag: v.tag } : {}) };
}

/** extra_hosts map `{host: ip}` → list `["host:ip"]`. */
function hostsToSeq(v: PV): PV {
  if (v.kind !== "map") return toSeq(v);
  const items: PV[] = [];
  for (const [k, e] of v.entries) {
    const ips = e.value.kind === "seq" ? e.value.items : [e.value];
    for (const ip of ips) if (ip.kind === "scalar") items.push(scalar(`${k}:${String(ip.value ?? "")}`, e.keyPos));
  }
  return { kind: "seq", items, pos: v.pos };
}

/** env_file → list of `{path (absolute), required}`. */
function envFiles(v: PV, baseDir: string): PV {
  const seq = toSeq(v);
  if (seq.kind !== "seq") return seq;
  const items = seq.items.map((item): PV => {
    if (item.kind === "scalar") {
      const p = String(item.value ?? "");
      const entries = new Map<string, PEntry>([
        ["path", entry(item.pos, scalar(isAbsolute(p) ? p : resolve(baseDir, p), item.pos))],
      ]);
      return { kind: "map", entries, pos: item.pos };
    }
    if (item.kind === "map") {
      const pathEntry = item.entries.get("path");
      if (pathEntry && pathEntry.value.kind === "scalar") {
        const p = String(pathEntry.value.value ?? "");
        const entries = new Map(item.entries);
        entries.set(
          "path",
          entry(pathEntry.keyPos, scalar(isAbsolute(p) ? p : resolve(baseDir, p), pathEntry.value.pos)),
        );
        return { ...item, entries };
      }
    }
    return item;
  });
  return { ...seq, items };
}

/** Bind sources resolved against this file's project directory, before files merge. */
function volumes(v: PV, baseDir: string, home: string | undefined): PV {
  if (v.kind !== "seq") return v;
  const items = v.items.map((item): PV => {
    if (item.kind === "scalar" && typeof item.value === "string")
      return { ...item, value: resolveShortVolume(item.value, baseDir, home) };
    if (item.kind !== "map" || str(item.entries.get("type")?.value) !== "bind") return item;
    const src = item.entries.get("source");
    const path = str(src?.value);
    if (!src || path === undefined || path === "") return item;
    const entries = new Map(item.entries);
    entries.set("source", entry(src.keyPos, scalar(resolveBindSource(path, baseDir, home), src.value.pos)));
    return { ...item, entries };
  });
  return { ...v, items };
}

/**
 * `baseDir` is the project directory relative paths resolve against (env_file, bind sources);
 * `home` expands `~` in bind sources, unexpanded when undefined.
 */
export function normaliseService(svc: PMap, baseDir: string, home?: string): PMap {
  const entries = new Map<string, PEntry>();
  for (const [key, e] of svc.entries) {
    // A reset value is never read, only its tag: normalising it (`build: !reset null` into a
    // build map) would drop the tag and resurrect the key the file removes.
    if (e.value.tag === "!reset") {
      entries.set(key, e);
      continue;
    }
    let v = e.value;
    switch (key) {
      case "environment":
        v = keyValueMap(v, /=/);
        break;
      case "labels":
      case "annotations":
        v = keyValueMap(v, /=/);
        break;
      case "networks":
        v = namesToMap(v, (pos) => scalar(null, pos));
        break;
      case "depends_on":
        v = namesToMap(v, (pos) => ({
          kind: "map",
          entries: new Map([["condition", entry(pos, scalar("service_started", pos))]]),
          pos,
        }));
        break;
      case "extra_hosts":
        v = hostsToSeq(v);
        break;
      case "dns":
      case "dns_search":
      case "tmpfs":
      case "profiles":
        v = toSeq(v);
        break;
      case "env_file":
        v = envFiles(v, baseDir);
        break;
      case "volumes":
        v = volumes(v, baseDir, home);
        break;
      case "build":
        if (v.kind === "scalar") {
          v = { kind: "map", entries: new Map([["context", entry(v.pos, v)]]), pos: v.pos };
        }
        break;
    }
    // The long form built from a short one must still say `!override` when the file did.
    if (e.value.tag && v.tag !== e.value.tag) v = { ...v, tag: e.value.tag };
    entries.set(key, entry(e.keyPos, v));
  }
  return { ...svc, entries };
}

// ---- merging -----------------------------------------------------------------------------

const REPLACE = new Set(["command", "entrypoint", "healthcheck.test"]);

function volumeTarget(v: PV): string {
  if (v.kind === "map") {
    const t = v.entries.get("target")?.value;
    return t?.kind === "scalar" ? String(t.value) : JSON.stringify(plain(v));
  }
  if (v.kind === "scalar") {
    const parts = String(v.value ?? "").split(":");
    return parts.length === 1 ? (parts[0] ?? "") : (parts[1] ?? "");
  }
  return JSON.stringify(plain(v));
}

function mergeSeq(base: PV & { kind: "seq" }, over: PV & { kind: "seq" }, path: string): PV {
  if (REPLACE.has(path)) return over;
  const keyOf = path === "volumes" || path === "devices" ? volumeTarget : (v: PV) => JSON.stringify(plain(v));
  const byKey = new Map<string, PV>();
  for (const item of base.items) byKey.set(keyOf(item), item);
  for (const item of over.items) {
    const k = keyOf(item);
    // an overriding entry for the same key replaces the base entry in place
    if (byKey.has(k)) byKey.delete(k);
    byKey.set(k, item);
  }
  return { ...over, items: [...byKey.values()] };
}

/** Compose merge rules: mappings merge by key, sequences append (unique), scalars replace. */
export function mergeValue(base: PV, over: PV, path: string): PV | undefined {
  if (over.tag === "!reset") return undefined;
  if (over.tag === "!override") {
    const { tag: _t, ...rest } = over;
    return rest as PV;
  }
  if (base.kind === "map" && over.kind === "map") {
    const entries = new Map(base.entries);
    for (const [k, e] of over.entries) {
      const prev = entries.get(k);
      if (e.value.tag === "!reset") {
        entries.delete(k);
        continue;
      }
      const merged = prev ? mergeValue(prev.value, e.value, path === "" ? k : `${path}.${k}`) : stripTag(e.value);
      if (merged === undefined) entries.delete(k);
      else entries.set(k, { keyPos: e.keyPos, value: merged });
    }
    return { ...over, entries };
  }
  if (base.kind === "seq" && over.kind === "seq") return mergeSeq(base, over, path);
  return stripTag(over);
}

function stripTag(v: PV): PV {
  if (!v.tag) return v;
  const { tag: _t, ...rest } = v;
  return rest as PV;
}
