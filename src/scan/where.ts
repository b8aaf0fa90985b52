// Finds the exact source position of an offending value. Compose positions are keyed by the
// service-relative path (`cap_add.0`); Kubernetes ones by the manifest path
// (`spec.template.spec.containers.0.securityContext.privileged`). When a value has no recorded
// position we fall back to the container, then the service key: a less precise line, never a
// wrong one.
import type { Container, Service, SourcePos } from "../model/types.ts";

const POD_PREFIXES = ["spec.template.spec", "spec.jobTemplate.spec.template.spec", "spec"];
const cache = new WeakMap<Service, { pod: string; containers: Map<Container, string> }>();

function samePos(a: SourcePos, b: SourcePos): boolean {
  return a.line === b.line && a.col === b.col && a.file === b.file;
}

function k8sPaths(s: Service): { pod: string; containers: Map<Container, string> } {
  let entry = cache.get(s);
  if (entry) return entry;
  const keys = Object.keys(s.positions);
  const pod =
    POD_PREFIXES.find((p) =>
      keys.some((k) => k.startsWith(`${p}.containers.`) || k.startsWith(`${p}.initContainers.`)),
    ) ?? "spec.template.spec";
  const containers = new Map<Container, string>();
  s.containers.forEach((c, i) => {
    for (const list of ["containers", "initContainers"]) {
      for (let n = 0; n < s.containers.length; n++) {
        const path = `${pod}.${list}.${n}`;
        const at = s.positions[path] ?? s.positions[`${path}.name`];
        if (at && (samePos(at, c.pos) || s.positions[`${path}.name`]?.line === c.pos.line)) {
          containers.set(c, path);
          return;
        }
      }
    }
    containers.set(c, `${pod}.containers.${i}`);
  });
  entry = { pod, containers };
  cache.set(s, entry);
  return entry;
}

function first(s: Service, paths: string[]): SourcePos | undefined {
  for (const p of paths) {
    const at = s.positions[p];
    if (at) return at;
  }
  return undefined;
}

/** A service-level setting: compose path(s) and pod-spec-relative k8s path(s). */
export function servicePos(s: Service, compose: string[], k8s: string[] = []): SourcePos {
  if (s.platform === "kubernetes") {
    const { pod } = k8sPaths(s);
    return (
      first(
        s,
        k8s.map((p) => `${pod}.${p}`),
      ) ?? s.pos
    );
  }
  return first(s, compose) ?? s.pos;
}

/** A container-level setting: compose path(s) and container-relative k8s path(s). */
export function containerPos(s: Service, c: Container, compose: string[], k8s: string[] = []): SourcePos {
  if (s.platform === "kubernetes") {
    const path = k8sPaths(s).containers.get(c);
    return (
      (path
        ? first(
            s,
            k8s.map((p) => `${path}.${p}`),
          )
        : undefined) ??
      c.pos ??
      s.pos
    );
  }
  return first(s, compose) ?? s.pos;
}

/** Position of the i-th item of a list setting, or of the list, or the fallback. */
export function itemPos(s: Service, c: Container, compose: string, k8s: string, index: number): SourcePos {
  return containerPos(s, c, [`${compose}.${index}`, compose], [`${k8s}.${index}`, k8s]);
}

/**
 * The position of `field` inside the mapping that starts at `pos`: a list item's `host_ip`,
 * `source`, `hostPort` or an env entry's `value`, which is where the offending value is written.
 * The reader records an item's position and its first key's at the same place, so every path
 * at `pos` is tried. Falls back to `pos` (short syntax, map-form env) — never a wrong line.
 */
export function fieldPos(s: Service, pos: SourcePos, field: string): SourcePos {
  for (const [path, at] of Object.entries(s.positions)) {
    if (!samePos(at, pos)) continue;
    const child = s.positions[`${path}.${field}`];
    if (child) return child;
  }
  return pos;
}

/**
 * Position of the index-th word source of argv: the compose `command` item, or the Kubernetes
 * `command`/`args` item (argv is `command` followed by `args`); else the list, else the container.
 */
export function argPos(s: Service, c: Container, index: number): SourcePos {
  if (s.platform === "kubernetes") {
    const path = k8sPaths(s).containers.get(c);
    if (!path) return c.pos ?? s.pos;
    let n = 0;
    while (s.positions[`${path}.command.${n}`]) n++;
    const at = index < n ? `command.${index}` : `args.${index - n}`;
    return first(s, [`${path}.${at}`, `${path}.${index < n ? "command" : "args"}`]) ?? c.pos ?? s.pos;
  }
  return first(s, [`command.${index}`, "command"]) ?? s.pos;
}
