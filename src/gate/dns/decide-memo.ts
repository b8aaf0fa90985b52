// decide() remembered per policy snapshot: the transports ask the same (identity, name, port)
// tens of thousands of times a second. Only decisions that cannot depend on grants or on the
// clock are kept — decide() reaches the grants only after no rule matched, and those outcomes
// (not in allow list, learn, report-not-listed) are recomputed every time. The index object is
// the policy generation: a reload builds a new one, and its memo starts empty.
import { type DecideContext, type Decision, decide } from "../decide.ts";
import type { PolicyIndex } from "../policy-index.ts";

const MAX = 8192;
const memos = new WeakMap<PolicyIndex, Map<string, Decision>>();

/** Outcomes decided after the grant check (see decide.ts): they depend on grants and time. */
function dependsOnGrants(d: Decision): boolean {
  return (
    d.reason === "not in allow list" ||
    d.reason === "learn mode: recorded" ||
    d.reason === "report mode: would deny (not in allow list)" ||
    d.reason === "allowed by an approved request"
  );
}

/** decide(index, identity, { name, port }, ctx), memoised; the result is shared: never mutate it. */
export function decideName(
  index: PolicyIndex,
  identity: string | undefined,
  name: string,
  port: number | undefined,
  ctx: DecideContext,
): Decision {
  let memo = memos.get(index);
  if (!memo) {
    memo = new Map();
    memos.set(index, memo);
  }
  const key = `${identity ?? ""}\u0000${identity === undefined ? 0 : 1}\u0000${port ?? ""}\u0000${name}`;
  const known = memo.get(key);
  if (known) return known;
  const d = decide(index, identity, port === undefined ? { name } : { name, port }, ctx);
  if (!dependsOnGrants(d)) {
    if (memo.size >= MAX) memo.clear();
    memo.set(key, Object.freeze(d));
  }
  return d;
}
