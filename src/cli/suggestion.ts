// What observe mode and learn mode saw, turned into a proposed change of the policy: shared by
// `corral policy suggest` and the dashboard, so both propose the same thing.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { createTwoFilesPatch } from "diff";
import type { FlowRecord } from "../engine/observed-flows.ts";
import { loadRecord } from "../engine/observer.ts";
import { readLearned, readLearnedSeen } from "../gate/learn.ts";
import { floorVerdict, parseFloor, parseIpLiteral } from "../gate/ssrf.ts";
import { splitKey, suggestEntries } from "../gate/suggest.ts";
import { parsePolicy } from "../policy/load.ts";
import { type LearnedDestination, type PolicyChange, proposeChange } from "../policy/policy-change.ts";
import type { Policy } from "../policy/schema.ts";
import { parsePortSpec } from "../policy/units.ts";
import { HOST_TARGET, zoneOf } from "../policy/zones.ts";

/** Where corral observe keeps its record, in the state directory. */
export const OBSERVED_FLOWS_FILE = "observed-flows.json";

function flowAllowed(policy: Policy) {
  return (from: string, to: string, port: number, protocol: "tcp" | "udp"): boolean => {
    const fromZone = zoneOf(policy, from, {});
    const toZone = to === HOST_TARGET ? undefined : zoneOf(policy, to, {});
    if (fromZone && fromZone === toZone && (policy.zones[fromZone]?.isolate ?? "shared") === "shared") return true;
    return policy.flows.some(
      (f) =>
        f.from.some((n) => n === from || n === fromZone) &&
        f.to.some((n) => n === to || (toZone !== undefined && n === toZone)) &&
        f.ports.some((spec) => {
          const p = parsePortSpec(spec);
          return p.protocol === protocol && p.from <= port && port <= p.to;
        }),
    );
  };
}

function floorForbids(policy: Policy) {
  const floor = parseFloor(policy.floor.allow_ranges);
  return (destination: string): string | undefined => {
    const { host, port } = splitKey(destination);
    const addr = parseIpLiteral(host);
    if (addr === "invalid") return "not a valid address";
    if (!addr) return undefined;
    return floorVerdict(floor, addr, port ? Number(port) : undefined);
  };
}

/** The state directory: --state, else the policy's gate.state_dir, else .corral/ beside the policy. */
export function stateDirOf(policy: Policy | undefined, policyFile: string, given: string | undefined, cwd: string) {
  if (given) return resolve(cwd, given);
  const configured = policy?.gate.state_dir ?? ".corral";
  return isAbsolute(configured) ? configured : join(dirname(policyFile), configured);
}

export interface Suggestion {
  change: PolicyChange;
  record: FlowRecord;
  learned: LearnedDestination[];
  text: string;
  setAside?: string;
}

/** `fold`: fold this many sibling names into a wildcard (Infinity: never). */
export function computeSuggestion(policy: Policy, policyFile: string, stateDir: string, fold: number): Suggestion {
  const { record, setAside } = loadRecord(join(stateDir, OBSERVED_FLOWS_FILE));
  const seen = readLearnedSeen(stateDir);
  const learned: LearnedDestination[] = Object.entries(readLearned(stateDir)).flatMap(([identity, dests]) =>
    suggestEntries(dests, fold).map((e) => {
      const times = e.members.flatMap((m) => seen[identity]?.[m] ?? []);
      const span =
        times.length > 0
          ? { first: new Date(Math.min(...times)).toISOString(), last: new Date(Math.max(...times)).toISOString() }
          : {};
      return { identity, destination: e.destination, count: e.count, members: e.members, ...span };
    }),
  );
  const text = readFileSync(policyFile, "utf8");
  const change = proposeChange(text, {
    flows: record.flows.filter((f) => f.kind === "observe"),
    egress: learned,
    flowAllowed: flowAllowed(policy),
    egressAllowed: (identity, destination) =>
      policy.egress.some((r) => r.from.includes(identity) && r.allow.includes(destination)),
    floorForbids: floorForbids(policy),
  });
  // Never propose (or write) a policy that does not load.
  parsePolicy(change.text, policyFile);
  return { change, record, learned, text, ...(setAside ? { setAside } : {}) };
}

export function suggestionDiff(name: string, before: string, after: string): string {
  return before === after ? "" : createTwoFilesPatch(name, name, before, after, "", "", { context: 3 });
}
