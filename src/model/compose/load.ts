// Loads compose files into merged, canonical service trees: per file parse → interpolate →
// include → normalise → extends, then `-f` files merge in order. All reading goes through the
// injected `read`, so this stays testable with in-memory files.
import { dirname, isAbsolute, join, resolve } from "node:path";
import { InputError } from "../errors.ts";
import type { Diagnostic, SourcePos } from "../types.ts";
import { parseDotenv } from "./dotenv.ts";
import { interpolateTree, type Lookup } from "./interpolate.ts";
import { SERVICE_KEYS, TOP_LEVEL_KEYS } from "./keys.ts";
import { mergeValue, normaliseService } from "./normalise.ts";
import { get, type PEntry, type PMap, type PV, parseYamlTree, plain, str } from "./tree.ts";

/** Returns the file's text, or undefined when it does not exist / cannot be read. */
export type ReadFn = (path: string) => string | undefined;

export interface ServiceDef {
  name: string;
  keyPos: SourcePos;
  value: PMap;
}

export interface Model {
  name?: { value: string; pos: SourcePos };
  services: Map<string, ServiceDef>;
  networks: Map<string, PEntry>;
  volumes: Map<string, PEntry>;
}

export interface LoadContext {
  read: ReadFn;
  diagnostics: Diagnostic[];
  /** Unset variables already reported, so each is warned about once. */
  warnedVars: Set<string>;
  /** Every compose file read, in order (`-f`, included and extended files). */
  files: string[];
  /** HOME of the process environment (not `.env`), which expands `~` in bind sources as compose does. */
  home?: string;
}

function emptyModel(): Model {
  return { services: new Map(), networks: new Map(), volumes: new Map() };
}

function at(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

function rel(base: string, p: string): string {
  return isAbsolute(p) ? p : join(base, p);
}

function parseFile(ctx: LoadContext, file: string, from?: SourcePos): PMap | undefined {
  const text = ctx.read(file);
  if (text === undefined) {
    const where = from ? `${at(from)}: ` : "";
    throw new InputError(
      `${where}cannot read compose file ${file}`,
      from,
      "check the path (relative include paths are resolved from the project directory)",
    );
  }
  if (!ctx.files.includes(file)) ctx.files.push(file);
  const root = parseYamlTree(text, file);
  if (root === undefined) {
    ctx.diagnostics.push({ severity: "warning", message: `${file} is empty`, pos: { file, line: 1, col: 1 } });
    return undefined;
  }
  if (root.kind !== "map") {
    throw new InputError(
      `${at(root.pos)}: a compose file must be a mapping`,
      root.pos,
      "start the file with `services:`",
    );
  }
  for (const [k, e] of root.entries) {
    if (!TOP_LEVEL_KEYS.has(k) && !k.startsWith("x-")) {
      ctx.diagnostics.push({
        severity: "warning",
        message: `unknown top-level key "${k}"`,
        pos: e.keyPos,
        hint: "compose ignores it; check the spelling",
      });
    }
  }
  return root;
}

function interpolateRoot(ctx: LoadContext, root: PMap, lookup: Lookup): PMap {
  const entries = new Map<string, PEntry>();
  for (const [k, e] of root.entries) {
    // extension fields are only templates; they are interpolated where they are used
    const value = k.startsWith("x-")
      ? e.value
      : interpolateTree(e.value, lookup, (name, pos) => warnUnset(ctx, name, pos));
    entries.set(k, { keyPos: e.keyPos, value });
  }
  return { ...root, entries };
}

function warnUnset(ctx: LoadContext, name: string, pos: SourcePos): void {
  if (ctx.warnedVars.has(name)) return;
  ctx.warnedVars.add(name);
  ctx.diagnostics.push({
    severity: "warning",
    message: `variable ${name} is not set; defaulting to a blank string`,
    pos,
    hint: `set ${name} in the environment or in .env, or give a default: \${${name}:-value}`,
  });
}

export function readDotenvFile(ctx: LoadContext, path: string, lookup: Lookup): Record<string, string> | undefined {
  const text = ctx.read(path);
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const e of parseDotenv(text, path, lookup)) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

interface FileOpts {
  lookup: Lookup;
  /** Directory relative paths (env_file) resolve against. */
  baseDir: string;
  /** Absolute paths of files being included, to detect cycles. */
  stack: string[];
  from?: SourcePos;
}

/** One file with its includes and extends resolved. */
export function loadFile(ctx: LoadContext, file: string, opts: FileOpts): Model {
  const abs = resolve(file);
  if (opts.stack.includes(abs)) {
    const chain = [...opts.stack, abs].join(" → ");
    throw new InputError(
      `${opts.from ? `${at(opts.from)}: ` : ""}include cycle: ${chain}`,
      opts.from,
      "remove one of the includes so no file includes itself",
    );
  }
  const stack = [...opts.stack, abs];
  const raw = parseFile(ctx, file, opts.from);
  const model = emptyModel();
  if (!raw) return model;
  const root = interpolateRoot(ctx, raw, opts.lookup);

  const name = root.entries.get("name");
  if (name && name.value.kind === "scalar" && name.value.value !== null) {
    model.name = { value: String(name.value.value), pos: name.value.pos };
  }

  const included = emptyModel();
  const inc = get(root, "include");
  if (inc) {
    const items = inc.kind === "seq" ? inc.items : [inc];
    for (const item of items) mergeIncluded(ctx, included, loadInclude(ctx, opts.baseDir, item, opts.lookup, stack));
  }

  const services = get(root, "services");
  const own = new Map<string, ServiceDef>();
  if (services && services.kind === "map") {
    for (const [svcName, e] of services.entries) {
      const v =
        e.value.kind === "scalar" && e.value.value === null
          ? { kind: "map" as const, entries: new Map(), pos: e.keyPos }
          : e.value;
      if (v.kind !== "map") {
        throw new InputError(
          `${at(e.keyPos)}: service "${svcName}" must be a mapping`,
          e.keyPos,
          "indent the service's keys under its name",
        );
      }
      for (const [k, ke] of v.entries) {
        if (!SERVICE_KEYS.has(k) && !k.startsWith("x-")) {
          ctx.diagnostics.push({
            severity: "warning",
            message: `service "${svcName}": unknown key "${k}"`,
            pos: ke.keyPos,
            hint: "compose ignores it; check the spelling",
          });
        }
      }
      own.set(svcName, { name: svcName, keyPos: e.keyPos, value: normaliseService(v, opts.baseDir, ctx.home) });
    }
  } else if (services && !(services.kind === "scalar" && services.value === null)) {
    throw new InputError(
      `${at(services.pos)}: \`services\` must be a mapping`,
      services.pos,
      "list services as `name: {…}` under `services:`",
    );
  }

  const resolved = new Map<string, ServiceDef>();
  const fileCache = new Map<string, Map<string, ServiceDef>>();
  for (const name of own.keys()) resolveExtends(ctx, name, own, resolved, file, opts, fileCache, []);

  for (const [k, def] of resolved) {
    const prior = included.services.get(k);
    if (prior) {
      throw new InputError(
        `${at(def.keyPos)}: service "${k}" conflicts with the service of the same name included from ${prior.keyPos.file}`,
        def.keyPos,
        "rename one of them, or override the included file with a second path in the same include entry",
      );
    }
  }
  model.services = new Map([...included.services, ...resolved]);
  model.networks = new Map(included.networks);
  model.volumes = new Map(included.volumes);
  for (const [key, target] of [
    ["networks", model.networks],
    ["volumes", model.volumes],
  ] as const) {
    const section = get(root, key);
    if (section?.kind === "map") for (const [k, e] of section.entries) target.set(k, e);
  }
  return model;
}

function mergeIncluded(ctx: LoadContext, into: Model, add: Model): void {
  for (const [k, def] of add.services) {
    const prior = into.services.get(k);
    if (prior) {
      throw new InputError(
        `${at(def.keyPos)}: service "${k}" is included twice (also from ${prior.keyPos.file})`,
        def.keyPos,
        "include each service once",
      );
    }
    into.services.set(k, def);
  }
  for (const [key, section] of [
    ["networks", "networks"],
    ["volumes", "volumes"],
  ] as const) {
    for (const [k, e] of add[section]) {
      const prior = into[section].get(k);
      if (prior && JSON.stringify(plain(prior.value)) !== JSON.stringify(plain(e.value))) {
        ctx.diagnostics.push({
          severity: "warning",
          message: `${key} "${k}" is defined differently by two included files; the first wins`,
          pos: e.keyPos,
        });
        continue;
      }
      if (!prior) into[section].set(k, e);
    }
  }
}

/**
 * Relative include paths (and their project_directory, env_file) resolve against the including
 * project's directory, not the including file's: compose's loader works from the project's
 * working directory, which for `-f dir/compose.yaml --project-directory other` is `other`.
 */
function loadInclude(ctx: LoadContext, dir: string, item: PV, parentLookup: Lookup, stack: string[]): Model {
  let paths: Array<{ path: string; pos: SourcePos }> = [];
  let projectDir: string | undefined;
  let envFiles: Array<{ path: string; pos: SourcePos }> | undefined;
  if (item.kind === "scalar") paths = [{ path: String(item.value ?? ""), pos: item.pos }];
  else if (item.kind === "map") {
    const p = get(item, "path");
    if (p?.kind === "seq") paths = p.items.map((i) => ({ path: str(i) ?? "", pos: i.pos }));
    else if (p) paths = [{ path: str(p) ?? "", pos: p.pos }];
    const pd = str(get(item, "project_directory"));
    if (pd) projectDir = rel(dir, pd);
    const ef = get(item, "env_file");
    if (ef?.kind === "seq") envFiles = ef.items.map((i) => ({ path: rel(dir, str(i) ?? ""), pos: i.pos }));
    else if (ef) envFiles = [{ path: rel(dir, str(ef) ?? ""), pos: ef.pos }];
  }
  if (paths.length === 0 || paths.some((p) => p.path === "")) {
    throw new InputError(
      `${at(item.pos)}: include entry needs a path`,
      item.pos,
      "write `include: [path/to/compose.yaml]` or `- path: …`",
    );
  }
  const first = paths[0]!;
  const firstPath = rel(dir, first.path);
  const baseDir = projectDir ?? dirname(firstPath);
  // the included project reads its own .env, but the including project's variables win
  let own: Record<string, string> = {};
  if (envFiles) {
    for (const ef of envFiles) {
      const vars = readDotenvFile(ctx, ef.path, parentLookup);
      if (!vars)
        ctx.diagnostics.push({ severity: "warning", message: `include env_file ${ef.path} not found`, pos: ef.pos });
      else own = { ...own, ...vars };
    }
  } else {
    own = readDotenvFile(ctx, join(baseDir, ".env"), parentLookup) ?? {};
  }
  const lookup: Lookup = (n) => parentLookup(n) ?? own[n];
  let model: Model | undefined;
  for (const p of paths) {
    const m = loadFile(ctx, rel(dir, p.path), { lookup, baseDir, stack, from: p.pos });
    model = model ? mergeModels(model, m) : m;
  }
  return model ?? emptyModel();
}

function resolveExtends(
  ctx: LoadContext,
  name: string,
  services: Map<string, ServiceDef>,
  resolved: Map<string, ServiceDef>,
  file: string,
  opts: FileOpts,
  fileCache: Map<string, Map<string, ServiceDef>>,
  chain: string[],
): ServiceDef {
  const done = resolved.get(name);
  if (done) return done;
  const def = services.get(name)!;
  const extEntry = def.value.entries.get("extends");
  if (!extEntry) {
    resolved.set(name, def);
    return def;
  }
  const key = `${resolve(file)}#${name}`;
  if (chain.includes(key)) {
    throw new InputError(
      `${at(extEntry.keyPos)}: extends cycle through service "${name}"`,
      extEntry.keyPos,
      "remove the circular extends",
    );
  }
  const ext = extEntry.value;
  const baseName = ext.kind === "scalar" ? str(ext) : str(get(ext, "service"));
  const baseFile = ext.kind === "map" ? str(get(ext, "file")) : undefined;
  if (!baseName) {
    throw new InputError(
      `${at(extEntry.keyPos)}: extends needs a service`,
      extEntry.keyPos,
      "write `extends: {service: name}` or `extends: name`",
    );
  }
  let base: ServiceDef;
  if (baseFile) {
    const target = rel(dirname(file), baseFile);
    let others = fileCache.get(resolve(target));
    if (!others) {
      const raw = parseFile(ctx, target, extEntry.keyPos);
      others = new Map();
      if (raw) {
        const root = interpolateRoot(ctx, raw, opts.lookup);
        const svcs = get(root, "services");
        if (svcs?.kind === "map") {
          for (const [n, e] of svcs.entries) {
            if (e.value.kind === "map")
              others.set(n, { name: n, keyPos: e.keyPos, value: normaliseService(e.value, dirname(target), ctx.home) });
          }
        }
      }
      fileCache.set(resolve(target), others);
    }
    if (!others.has(baseName)) {
      throw new InputError(
        `${at(extEntry.keyPos)}: extends: service "${baseName}" not found in ${target}`,
        extEntry.keyPos,
        `define "${baseName}" in ${target} or fix the name`,
      );
    }
    const otherResolved = new Map<string, ServiceDef>();
    base = resolveExtends(
      ctx,
      baseName,
      others,
      otherResolved,
      target,
      { ...opts, baseDir: dirname(target) },
      fileCache,
      [...chain, key],
    );
  } else {
    if (!services.has(baseName)) {
      throw new InputError(
        `${at(extEntry.keyPos)}: extends: unknown service "${baseName}"`,
        extEntry.keyPos,
        `define service "${baseName}" in this file or add \`file:\``,
      );
    }
    base = resolveExtends(ctx, baseName, services, resolved, file, opts, fileCache, [...chain, key]);
  }
  const local = new Map(def.value.entries);
  local.delete("extends");
  const merged = mergeValue(base.value, { ...def.value, entries: local }, "") as PMap;
  const out: ServiceDef = { name, keyPos: def.keyPos, value: { ...merged, pos: def.value.pos } };
  resolved.set(name, out);
  return out;
}

/** Merges a later `-f` file over an earlier one. */
export function mergeModels(a: Model, b: Model): Model {
  const services = new Map(a.services);
  for (const [k, def] of b.services) {
    const prior = services.get(k);
    if (!prior) services.set(k, def);
    else {
      const merged = mergeValue(prior.value, def.value, "") as PMap;
      services.set(k, { name: k, keyPos: prior.keyPos, value: { ...merged, pos: prior.value.pos } });
    }
  }
  const mergeSection = (x: Map<string, PEntry>, y: Map<string, PEntry>): Map<string, PEntry> => {
    const out = new Map(x);
    for (const [k, e] of y) {
      const prior = out.get(k);
      const merged = prior ? mergeValue(prior.value, e.value, "") : e.value;
      if (merged === undefined) out.delete(k);
      else out.set(k, { keyPos: prior?.keyPos ?? e.keyPos, value: merged });
    }
    return out;
  };
  const out: Model = {
    services,
    networks: mergeSection(a.networks, b.networks),
    volumes: mergeSection(a.volumes, b.volumes),
  };
  const name = b.name ?? a.name;
  if (name) out.name = name;
  return out;
}
