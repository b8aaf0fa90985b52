// Where ../shared (fixtures and upstream schemas) lives, for tests that read it in place.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The project's root directory (where package.json is). */
export const PROJECT_ROOT = projectRoot;

/** ../shared beside the checkout, or CORRAL_SHARED when set; undefined when absent. */
export function sharedDir(): string | undefined {
  const candidate = process.env.CORRAL_SHARED ?? join(projectRoot, "..", "shared");
  return existsSync(join(candidate, "fixtures")) ? candidate : undefined;
}

/**
 * Skip reason for tests that need ../shared: undefined when present. In CI it must be there,
 * so its absence throws instead of skipping.
 */
export function sharedSkip(): string | false {
  if (sharedDir()) return false;
  if (process.env.CI === "true") throw new Error("../shared is missing in CI: fixture tests cannot be skipped");
  return "../shared not found beside the checkout: fixture tests skipped";
}

export function fixture(...parts: string[]): string {
  const dir = sharedDir();
  if (!dir) throw new Error("../shared is not present");
  return join(dir, "fixtures", ...parts);
}

export function schemaPath(name: string): string {
  const dir = sharedDir();
  if (!dir) throw new Error("../shared is not present");
  return join(dir, "schemas", name);
}

/** Every compose file under the fixtures' compose folder, relative to it, in a stable order. */
export function composeFixtureFiles(): string[] {
  const root = fixture("compose");
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((f) => {
        const p = join(d, f);
        return statSync(p).isDirectory() ? walk(p) : /\.ya?ml$/.test(f) ? [p] : [];
      });
  return walk(root).map((p) => relative(root, p));
}
