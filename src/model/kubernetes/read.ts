// The I/O shell: reads manifest files (or every *.yaml/*.yml/*.json in a directory) into one Deployment.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import type { Deployment } from "../types.ts";
import { assemble, type KubernetesOptions, objectsFromText } from "./parse.ts";

const MANIFEST = /\.(ya?ml|json)$/i;

export function readKubernetes(files: string[], opts: KubernetesOptions = {}): Deployment {
  const paths: string[] = [];
  for (const file of files) {
    let isDir: boolean;
    try {
      isDir = statSync(file).isDirectory();
    } catch {
      throw new InputError("file not found", { file, line: 1, col: 1 }, "check the -f path");
    }
    if (isDir) {
      const entries = readdirSync(file)
        .filter((n) => MANIFEST.test(n))
        .sort();
      paths.push(...entries.map((n) => join(file, n)));
    } else paths.push(file);
  }
  const parts = paths.map((p) => {
    let text: string;
    try {
      text = readFileSync(p, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(
        `cannot read file (${code})`,
        { file: p, line: 1, col: 1 },
        "check the -f path and its permissions",
      );
    }
    return objectsFromText(text, p, opts);
  });
  return assemble(paths, parts);
}
