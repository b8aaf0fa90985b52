// What the compose gate learned lives in its state volume, inside the engine: mirrored into the
// host's state directory, beside the observed flows, so one `corral policy suggest` (and the
// dashboard) sees east-west and egress together. Read with `docker exec … cat`: the files are
// JSON the gate writes atomically, so a copy is never half a file.
import { execFile } from "node:child_process";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { GATE, GATE_STATE_ROOT } from "../compile/index.ts";
import type { ContainerSummary } from "./docker-api.ts";
import { SERVICE_LABEL } from "./members.ts";

const run = promisify(execFile);
const FILES = ["learned.json", "learned-seen.json"];

/** Copies the gate's learn files into `stateDir`; returns the files copied (none while it has learned nothing). */
export async function mirrorGateLearned(
  containers: readonly ContainerSummary[],
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const gate = containers.find((c) => c.Labels[SERVICE_LABEL] === GATE);
  if (!gate) return [];
  const copied: string[] = [];
  for (const name of FILES) {
    let text: string;
    try {
      text = (await run("docker", ["exec", gate.Id, "cat", `${GATE_STATE_ROOT}/gate/${name}`], { env })).stdout;
      JSON.parse(text);
    } catch {
      continue;
    }
    const target = join(stateDir, name);
    writeFileSync(`${target}.tmp`, text, { mode: 0o600 });
    renameSync(`${target}.tmp`, target);
    copied.push(name);
  }
  return copied;
}
