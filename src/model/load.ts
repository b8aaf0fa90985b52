// One entry point for every deployment format: Kubernetes manifests (documents with
// apiVersion + kind) or Docker Compose files, told apart by their content.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { readCompose } from "./compose/index.ts";
import { InputError } from "./errors.ts";
import { readKubernetes } from "./kubernetes/index.ts";
import type { Deployment } from "./types.ts";

export type DeploymentFormat = "compose" | "kubernetes";

export function detectFormat(text: string): DeploymentFormat {
  for (const doc of parseAllDocuments(text)) {
    if (!("contents" in doc)) continue;
    const value = doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      if (typeof v.apiVersion === "string" && typeof v.kind === "string") return "kubernetes";
      if ("services" in v || "include" in v) return "compose";
    }
  }
  return "compose";
}

export interface ReadOptions {
  env?: Record<string, string | undefined>;
  profiles?: string[];
  /** Compose: keep services of inactive profiles (see ComposeOptions.allProfiles). */
  allProfiles?: boolean;
}

/** Reads compose files (merged in order) or Kubernetes manifests; never both at once. */
export function readDeployment(files: string[], opts: ReadOptions = {}): Deployment {
  if (files.length === 0)
    throw new InputError(
      "no deployment file given",
      undefined,
      "pass -f docker-compose.yml (repeatable) or -f manifest.yaml",
    );
  const formats = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(
        code === "ENOENT" ? "file not found" : `cannot read file (${code})`,
        { file, line: 1, col: 1 },
        "check the -f path",
      );
    }
    return detectFormat(text);
  });
  if (formats.every((f) => f === "kubernetes")) return readKubernetes(files);
  if (formats.some((f) => f === "kubernetes")) {
    const k8s = files[formats.indexOf("kubernetes")]!;
    throw new InputError(
      "Kubernetes manifests and compose files cannot be read together",
      { file: k8s, line: 1, col: 1 },
      "scan them in separate runs",
    );
  }
  return readCompose(files, {
    env: opts.env ?? process.env,
    ...(opts.profiles ? { profiles: opts.profiles } : {}),
    ...(opts.allProfiles ? { allProfiles: true } : {}),
  });
}
