// Stand-ins for a stack's real images, as a compose override: the sealed engine pulls nothing, so
// every service runs standin.mjs instead, listening where Corral's own model says the service is
// reached. A second `-f standin.yml` beside the shipped file changes only what an image would
// have provided; networks, volumes, environment, ports and names stay as shipped, so Corral
// contains the stack as written.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Deployment, Service } from "../model/types.ts";
import { expandName, type Policy, parsePortSpec } from "../policy/index.ts";
import { type Engine, importNodeImage } from "./engine.ts";
import { PROJECT_ROOT } from "./shared.ts";

/** Where the image built by the stack tests keeps the program. */
export const STANDIN_PROGRAM = "/standin/standin.mjs";
/** Every stand-in tag is this prefix plus the shipped reference, so classifiers that read image names still see them. */
export const STANDIN_PREFIX = "corral-standin/";

export interface StandinOverride {
  /** The override compose file. */
  yaml: string;
  /** Tags the one stand-in image must carry, one per distinct shipped image. */
  images: string[];
  /** What each service listens on, as STANDIN_PORTS says it. */
  ports: Record<string, string[]>;
}

// A port range in a flow is probed at a few ports, not every one; a listener per port of a wide
// range would only cost memory.
const MAX_RANGE = 16;

/** `corral-standin/<ref>`: the shipped reference without its registry host (a tag has none). */
export function standinImage(service: Service, project: string | undefined): string {
  const image = service.containers[0]?.image;
  if (!image) return `${STANDIN_PREFIX}${project ?? "stack"}-${service.name}:built`;
  const parts = image.split("/");
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  return STANDIN_PREFIX + parts.join("/");
}

function portsOf(service: Service, policy: Policy, d: Deployment): string[] {
  const specs = new Set<string>();
  const add = (from: number, to: number, protocol: string) => {
    if (to - from >= MAX_RANGE) {
      specs.add(`${from}/${protocol}`);
      specs.add(`${to}/${protocol}`);
    } else specs.add(from === to ? `${from}/${protocol}` : `${from}-${to}/${protocol}`);
  };
  for (const c of service.containers) for (const l of c.listens) add(l.from, l.to, l.protocol);
  for (const p of service.ports) add(p.target.from, p.target.to, p.protocol);
  const refs = d.services.map((s) => ({ name: s.name, labels: s.labels }));
  for (const flow of policy.flows)
    if (flow.to.some((t) => expandName(policy, t, refs).includes(service.name)))
      for (const spec of flow.ports) {
        const p = parsePortSpec(spec);
        add(p.from, p.to, p.protocol);
      }
  for (const pub of policy.publish)
    if (pub.service === service.name) {
      const p = parsePortSpec(pub.port);
      add(p.from, p.to, p.protocol);
    }
  return [...specs].sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b));
}

const hasHealthcheck = (s: Service | undefined) =>
  Boolean(s?.containers[0]?.healthcheck && !s.containers[0].healthcheck.disabled);

/** The override for every service of `d` (JSON scalars and flow collections: valid YAML). */
export function standinOverride(d: Deployment, policy: Policy): StandinOverride {
  const j = JSON.stringify;
  const lines = [
    "# Stand-ins for the stack's images (src/testing/standin.ts): a second -f beside the shipped file.",
    "services:",
  ];
  const images = new Set<string>();
  const ports: Record<string, string[]> = {};
  const byName = new Map(d.services.map((s) => [s.name, s]));
  for (const svc of [...d.services].sort((a, b) => a.name.localeCompare(b.name))) {
    const image = standinImage(svc, d.project);
    images.add(image);
    ports[svc.name] = portsOf(svc, policy, d);
    lines.push(`  ${j(svc.name)}:`, `    image: ${j(image)}`);
    // A build would need the stack's sources and a registry for its base image.
    if (svc.containers[0]?.build) lines.push("    build: !reset null");
    // Raised limits (Elasticsearch's memlock, RAGFlow's nofile) above this sandbox's own hard
    // limits stop runc before the stand-in starts; the stand-in needs none of them.
    if (svc.containers[0]?.ulimits?.length) lines.push("    ulimits: !reset {}");
    // Shipped entrypoints and commands call the real image's tools (sh -c "minio server …").
    lines.push(`    entrypoint: ${j(["node", STANDIN_PROGRAM])}`, "    command: !reset null");
    lines.push("    environment:", `      STANDIN_PORTS: ${j(ports[svc.name]!.join(" "))}`);
    // Shipped healthchecks run the image's tools (pg_isready, curl); the stand-in answers its own,
    // quickly, so service_healthy dependencies start as soon as the ports are open.
    if (hasHealthcheck(svc))
      lines.push(
        `    healthcheck: !override ${j({
          test: ["CMD", "node", STANDIN_PROGRAM, "--health"],
          interval: "1s",
          timeout: "3s",
          retries: 60,
          start_period: "0s",
        })}`,
      );
    // The model keeps which services one waits for, not how. A stand-in never exits, so a
    // one-shot's `service_completed_successfully` would wait forever: each dependency is awaited
    // healthy when it has a healthcheck, started otherwise.
    if (svc.dependsOn.length > 0) {
      const deps = Object.fromEntries(
        svc.dependsOn
          .filter((n) => byName.has(n))
          .map((n) => [n, { condition: hasHealthcheck(byName.get(n)) ? "service_healthy" : "service_started" }]),
      );
      lines.push(`    depends_on: !override ${j(deps)}`);
    }
  }
  return { yaml: `${lines.join("\n")}\n`, images: [...images].sort(), ports };
}

/** The Dockerfile of the stand-in image, built on a base that has `node` (corral-test/node:24). */
export function standinDockerfile(base: string): string {
  return `FROM ${base}\nCOPY standin.mjs ${STANDIN_PROGRAM}\nENTRYPOINT ["node", "${STANDIN_PROGRAM}"]\n`;
}

/** The node base image and the stand-in image built on it, in the engine under test. */
export async function buildStandinImage(engine: Engine, workDir: string, tag: string): Promise<void> {
  await importNodeImage(engine, NODE_BASE);
  const context = join(workDir, "standin-image");
  mkdirSync(context);
  copyFileSync(join(PROJECT_ROOT, "src/testing/standin.mjs"), join(context, "standin.mjs"));
  writeFileSync(join(context, "Dockerfile"), standinDockerfile(NODE_BASE));
  await engine.docker(["build", "-q", "-t", tag, context]);
}

/** The base image with only Node in it (importNodeImage), which the stand-ins and the gate build on. */
export const NODE_BASE = "corral-test/node:24";
