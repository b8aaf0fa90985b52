// Helpers for the compile tests: compose's merge of an overlay onto the shipped file (maps
// merge, sequences append, `!override` replaces, `!reset` removes), and ajv validators for the
// upstream schemas read in place from ../shared.
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { isMap, isScalar, isSeq, type Node, parse, parseDocument } from "yaml";
import { composeService } from "../model/testkit.ts";
import type { Deployment, Service } from "../model/types.ts";

type Json = unknown;

function mergeNode(base: Json, node: Node | null): Json {
  const tag = (node as { tag?: string } | null)?.tag;
  if (tag === "!reset") return undefined;
  if (tag === "!override") return (node as Node & { toJSON(): Json }).toJSON();
  if (isMap(node)) {
    const out: Record<string, Json> =
      base && typeof base === "object" && !Array.isArray(base) ? { ...(base as Record<string, Json>) } : {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const merged = mergeNode(out[key], pair.value as Node | null);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  if (isSeq(node)) {
    const items = node.toJSON() as Json[];
    return Array.isArray(base) ? [...base, ...items] : items;
  }
  return isScalar(node) ? node.value : null;
}

/** The shipped compose text merged with an overlay the way `docker compose -f a -f b` does. */
export function mergeCompose(shipped: string, overlay: string): Record<string, Json> {
  const base = parse(shipped, { merge: true, maxAliasCount: -1 }) as Json;
  const doc = parseDocument(overlay, {
    customTags: [
      { tag: "!override", collection: "seq", resolve: (v) => v },
      { tag: "!override", collection: "map", resolve: (v) => v },
      { tag: "!reset", collection: "seq", resolve: (v) => v },
    ],
  });
  if (doc.errors.length) throw new Error(doc.errors.map((e) => e.message).join("\n"));
  return mergeNode(base, doc.contents as Node) as Record<string, Json>;
}

function stripExtensions(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripExtensions);
  if (v && typeof v === "object") {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith("x-kubernetes-")) continue;
      // Go's RE2 writes Unicode classes as \PC; JavaScript wants \P{C}.
      out[k] =
        k === "pattern" && typeof x === "string"
          ? x.replace(/\\([pP])([A-Z])(?![A-Za-z{])/g, "\\$1{$2}")
          : stripExtensions(x);
    }
    return out;
  }
  return v;
}

export function validator(schemaFile: string): (value: Json) => string[] {
  let schema: Record<string, Json>;
  if (schemaFile.endsWith(".yaml")) {
    const crd = parse(readFileSync(schemaFile, "utf8")) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: Json } }> };
    };
    schema = stripExtensions(crd.spec.versions[0]?.schema.openAPIV3Schema) as Record<string, Json>;
  } else {
    schema = JSON.parse(readFileSync(schemaFile, "utf8")) as Record<string, Json>;
  }
  delete schema.$schema;
  delete schema.$id;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  return (value) =>
    validate(value)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

/** `dig(doc, "spec", "egress", 0)`: a value deep in parsed YAML, or undefined. */
export function dig(value: unknown, ...path: Array<string | number>): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

// Hand-built deployments for pure tests.
export function svc(name: string, listens: number[] = []): Service {
  return composeService(name, { listens: listens.map((p) => ({ from: p, to: p, protocol: "tcp" as const })) });
}
export const deployment = (services: Service[]): Deployment => ({
  platform: "compose",
  files: [],
  services,
  networks: [],
  diagnostics: [],
});
