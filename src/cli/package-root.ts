// Where Corral itself is installed: the same two levels up from src/cli/ and from dist/cli/.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(`${PACKAGE_ROOT}/package.json`, "utf8")) as { version: string };
  return pkg.version;
}

/** The policy's JSON Schema as this version of Corral ships it (package.json "files": schema). */
export const SCHEMA_FILE = `${PACKAGE_ROOT}/schema/corral.schema.json`;
