// Reading a compose project the way `docker compose config` resolves it: `.env`, `-f` files in
// order, project name, profiles. `loadCompose` is pure given its `read`; `readCompose` is the
// filesystem shell; `composeFromText` reads in-memory files for tests.
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Deployment, Diagnostic } from "../types.ts";
import type { Lookup } from "./interpolate.ts";
import { type LoadContext, loadFile, type Model, mergeModels, type ReadFn, readDotenvFile } from "./load.ts";
import { buildNetworks } from "./networks.ts";
import { buildService } from "./service.ts";
import { get, str } from "./tree.ts";

export interface ComposeOptions {
  /** Process environment; overrides `.env`. readCompose defaults to process.env, the pure cores to {}. */
  env?: Record<string, string | undefined>;
  /** Enabled profiles (`--profile`); `*` enables all. Defaults to COMPOSE_PROFILES. */
  profiles?: string[];
  /**
   * Keep services of inactive profiles in `services` too (still listed in `inactive`): a
   * scan looks at what `--profile x` would start, not only at the default set.
   */
  allProfiles?: boolean;
  /** `-p`: wins over COMPOSE_PROJECT_NAME, `name:` and the directory name. */
  projectName?: string;
  /** `--project-directory`: where `.env` is read; defaults to the first file's directory. */
  projectDirectory?: string;
  readFile?: (path: string) => string;
}

/** Compose project names: lower case letters, digits, `-` and `_`, starting with a letter or digit. */
export function normaliseProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "")
    .replace(/^[^a-z0-9]+/, "");
}

export function loadCompose(files: string[], read: ReadFn, opts: Omit<ComposeOptions, "readFile"> = {}): Deployment {
  if (files.length === 0) throw new Error("loadCompose needs at least one file");
  const diagnostics: Diagnostic[] = [];
  const env = opts.env ?? {};
  const ctx: LoadContext = {
    read,
    diagnostics,
    warnedVars: new Set(),
    files: [],
    ...(env.HOME ? { home: env.HOME } : {}),
  };
  const projectDir = opts.projectDirectory ?? dirname(files[0]!);
  const dotenvPath = join(projectDir, ".env");
  const envLookup: Lookup = (n) => env[n];
  const dotenv = readDotenvFile(ctx, dotenvPath, envLookup);
  const lookup: Lookup = (n) => env[n] ?? dotenv?.[n];

  let model: Model | undefined;
  for (const f of files) {
    const m = loadFile(ctx, f, { lookup, baseDir: projectDir, stack: [] });
    model = model ? mergeModels(model, m) : m;
  }
  const merged = model!;
  // A missing .env matters only when some variable was left without a value.
  if (!dotenv && ctx.warnedVars.size > 0) {
    diagnostics.unshift({
      severity: "warning",
      message: `no .env file in ${projectDir}; variables come from the environment only`,
      hint: "create .env beside the compose file if the stack expects one",
    });
  }

  const project = normaliseProjectName(
    opts.projectName ?? lookup("COMPOSE_PROJECT_NAME") ?? merged.name?.value ?? basename(resolve(projectDir)),
  );

  // As compose-go: COMPOSE_PROFILES is split on "," even when unset, so the empty profile "" is
  // enabled by default. Dify relies on it (`profiles: ['', weaviate]` starts weaviate unless
  // COMPOSE_PROFILES names another vector store).
  const enabled = new Set(opts.profiles ?? (lookup("COMPOSE_PROFILES") ?? "").split(",").map((p) => p.trim()));
  const declaredNetworks = new Set(merged.networks.keys());
  const buildCtx = { read, lookup, diagnostics, declaredNetworks, missingEnvFiles: new Map() };
  const services = [];
  const inactive = new Set<string>();
  for (const def of merged.services.values()) {
    const profiles = get(def.value, "profiles");
    const names = profiles?.kind === "seq" ? profiles.items.map((p) => str(p) ?? "") : [];
    const active = names.length === 0 || enabled.has("*") || names.some((p) => enabled.has(p));
    // services left out by profiles are still checked, but their warnings would only be noise
    const svc = buildService(def, active ? buildCtx : { ...buildCtx, diagnostics: [], missingEnvFiles: new Map() });
    if (active || opts.allProfiles) services.push(svc);
    if (!active) inactive.add(svc.name);
  }
  for (const svc of services) {
    if (inactive.has(svc.name)) continue;
    const deps = get(merged.services.get(svc.name)?.value, "depends_on");
    for (const dep of svc.dependsOn) {
      if (merged.services.has(dep) && !inactive.has(dep)) continue;
      // `required: false` dependencies may be absent, as in compose
      if (str(get(get(deps, dep), "required")) === "false") continue;
      const pos = svc.positions[`depends_on.${dep}`];
      diagnostics.push({
        severity: "warning",
        message: inactive.has(dep)
          ? `service "${svc.name}" depends on "${dep}", whose profile is not enabled`
          : `service "${svc.name}" depends on undefined service "${dep}"`,
        ...(pos ? { pos } : {}),
        hint: inactive.has(dep)
          ? "enable one of its profiles (COMPOSE_PROFILES or --profile)"
          : "define the service or remove the dependency",
      });
    }
    const mode = svc.networkMode;
    if (mode.kind === "service" && (!merged.services.has(mode.target) || inactive.has(mode.target))) {
      const pos = svc.positions["network_mode"];
      diagnostics.push({
        severity: "warning",
        message: `service "${svc.name}" uses network_mode service:${mode.target}, which is not an active service`,
        ...(pos ? { pos } : {}),
      });
    }
  }

  const d: Deployment = {
    platform: "compose",
    project,
    files: ctx.files,
    services,
    networks: buildNetworks(merged.networks, project, services),
    diagnostics,
    ...(inactive.size > 0 ? { inactive: [...inactive] } : {}),
  };
  // What `corral compile` needs to find a brokered key however the file passes it on.
  Object.defineProperty(d, "variable", { value: lookup, enumerable: false });
  return d;
}

function fsReader(readFile: (path: string) => string): ReadFn {
  return (path) => {
    try {
      return readFile(path);
    } catch {
      return undefined;
    }
  };
}

/** Reads compose files from disk (or through opts.readFile). */
export function readCompose(files: string[], opts: ComposeOptions = {}): Deployment {
  const { readFile, env, ...rest } = opts;
  const read = fsReader(readFile ?? ((p) => readFileSync(p, "utf8")));
  return loadCompose(files, read, { ...rest, env: env ?? process.env });
}

/**
 * Reads compose text held in memory: `text` is `compose.yaml` in `/project` unless `file` says
 * otherwise; `files` supplies further in-memory files (includes, extends, `.env`, env files)
 * by absolute or project-relative path.
 */
export function composeFromText(
  text: string,
  opts: Omit<ComposeOptions, "readFile"> & { file?: string; files?: Record<string, string> } = {},
): Deployment {
  const { file = "/project/compose.yaml", files = {}, ...rest } = opts;
  const dir = dirname(file);
  const store = new Map<string, string>([[resolve(file), text]]);
  for (const [p, t] of Object.entries(files)) store.set(resolve(dir, p), t);
  return loadCompose([file], (p) => store.get(resolve(p)), rest);
}
