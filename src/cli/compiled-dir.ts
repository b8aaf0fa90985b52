// `scan --compiled DIR`: the compiled host rules, checked to be what the policy and the compose
// files compile to now, so a scan never narrows its reachability by a stale ruleset. The check
// re-derives the ruleset and compares it with DIR's: the file on disk is only trusted as a
// record of what was loaded, never parsed for what it allows.
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { allowedFlows } from "../compile/allowed.ts";
import type { HostRules } from "../compile/host-reach.ts";
import { renderNftables } from "../compile/nftables.ts";
import { buildPlan, EGRESS } from "../compile/plan.ts";
import { readDeployment } from "../model/load.ts";
import type { LoadedPolicy } from "../policy/index.ts";
import { UsageError } from "./command.ts";

export interface CompiledInput {
  /** DIR as given. */
  dir: string;
  cwd: string;
  /** Every -f file, resolved; the overlay must be among them. */
  files: string[];
  loaded: LoadedPolicy;
  /** How the policy and files are named in messages. */
  policyArg: string;
  fileArgs: string[];
  env: NodeJS.ProcessEnv;
  profiles?: string[];
  display: (file: string) => string;
}

function readOr(file: string, missing: () => UsageError): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw missing();
  }
}

export function loadCompiled(input: CompiledInput): HostRules {
  const dir = resolve(input.cwd, input.dir);
  const nftFile = join(dir, "corral.nft");
  const overlayFile = join(dir, "compose.corral.yml");
  // For the hint: the files compile reads are the stack's own, never an overlay (DIR's or another's).
  const shippedArgs = input.fileArgs.filter(
    (_, i) => input.files[i] !== overlayFile && basename(input.files[i] ?? "") !== "compose.corral.yml",
  );
  const compile = `corral compile --policy ${input.policyArg} ${shippedArgs.map((f) => `-f ${f}`).join(" ")} -o ${input.dir}`;
  const recompile = `recompile: ${compile}`;
  const unreadable = (file: string) =>
    new UsageError(`--compiled ${input.dir}: ${input.display(file)} cannot be read`, `compile into it: ${compile}`);
  const text = readOr(nftFile, () => unreadable(nftFile));
  readOr(overlayFile, () => unreadable(overlayFile));
  if (!input.files.includes(overlayFile))
    throw new UsageError(
      `--compiled ${input.dir}: its overlay is not among the -f files, and the host rules govern only the overlay's networks`,
      `add -f ${input.display(overlayFile)} after the compose files`,
    );
  const shipped = input.files.filter((f) => f !== overlayFile);
  if (shipped.length === 0)
    throw new UsageError(`--compiled ${input.dir}: only the overlay was given`, "pass the stack's compose files first");

  const hash = /^# policy sha256 ([0-9a-f]{64})$/m.exec(text)?.[1];
  if (hash !== input.loaded.hash)
    throw new UsageError(
      `${input.display(nftFile)} is stale: compiled from ${hash ? `policy sha256 ${hash.slice(0, 12)}…` : "no recorded policy"}, but ${input.policyArg} is sha256 ${input.loaded.hash.slice(0, 12)}…`,
      recompile,
    );
  // As compile reads the files: only the profiles asked for, so the plan is the one it made.
  const deployment = readDeployment(shipped, {
    env: input.env,
    ...(input.profiles ? { profiles: input.profiles } : {}),
  });
  const plan = buildPlan(input.loaded.policy, deployment);
  // The NFLOG group is compile's option, not the policy's: take the file's so it cannot differ.
  const logGroup = Number(/ log prefix "corral-drop " group (\d+) drop/.exec(text)?.[1] ?? 1);
  const expected = renderNftables(plan, { comment: `policy sha256 ${input.loaded.hash}`, logGroup });
  if (expected !== text)
    throw new UsageError(
      `${input.display(nftFile)} is stale: it is not what ${input.policyArg} and ${shippedArgs.join(", ")} compile to now (a compose file or Corral changed since)`,
      recompile,
    );
  return {
    file: input.display(nftFile),
    allowed: allowedFlows(input.loaded.policy, deployment, plan.gate),
    egressBridge: plan.networks.find((n) => n.key === EGRESS)?.bridge,
  };
}
