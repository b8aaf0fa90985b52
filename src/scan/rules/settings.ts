// Reading a container's settings the way its program will: environment variables that are set
// (possibly from the shell, so only named in the file), switches that are on, and whether some
// of its environment is out of sight (an env_file that was not read, a Kubernetes envFrom).
import type { Container, EnvVar, Service } from "../../model/types.ts";
import type { RuleContext } from "../types.ts";
import { containerPos } from "../where.ts";
import { parseImage } from "./images.ts";

export function envNamed(c: Container, ...names: string[]): EnvVar | undefined {
  return c.env.find((e) => names.includes(e.name));
}

/**
 * Set to something at run time: a value, or a reference the shell / .env fills in (which the
 * scan, run without them, sees as ""). `KEY=` written empty is not set.
 */
export function isConfigured(ctx: RuleContext, e: EnvVar | undefined): boolean {
  if (!e) return false;
  if (e.from !== "inline") return true;
  if ((e.value ?? "").trim() !== "") return true;
  const line = ctx.sources?.get(e.pos.file)?.[e.pos.line - 1];
  return e.value === undefined || (line?.includes("$") ?? false);
}

const TRUE = /^(true|1|yes|on)$/i;
const FALSE = /^(false|0|no|off)$/i;

export function truthy(v: string | undefined): boolean {
  return TRUE.test(v?.trim() ?? "");
}

export function falsy(v: string | undefined): boolean {
  return FALSE.test(v?.trim() ?? "");
}

export function isOn(e: EnvVar | undefined): boolean {
  return truthy(e?.value);
}

/** Part of the environment is invisible to the scan, so the absence of a variable proves nothing. */
export function hiddenEnv(s: Service, c: Container): boolean {
  const at = containerPos(s, c, ["env_file"], ["envFrom"]);
  const declared = at !== c.pos && at !== s.pos;
  return declared && (s.platform === "kubernetes" || !c.env.some((e) => e.from === "env_file"));
}

/** `docker.io/bitnami/redis:7.2` → "bitnami/redis"; unresolved variables → "". */
export function imageName(c: Container): string {
  if (!c.image || c.image.includes("${")) return "";
  return parseImage(c.image.trim())
    .name.toLowerCase()
    .replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, "")
    .replace(/^library\//, "");
}

export function imageTag(c: Container): string | undefined {
  if (!c.image || c.image.includes("${")) return undefined;
  return parseImage(c.image.trim()).tag;
}

/** Where to add a missing setting: the environment block, else the image line. */
export function settingsPos(s: Service, c: Container) {
  return containerPos(s, c, ["environment", "image"], ["env", "image"]);
}
