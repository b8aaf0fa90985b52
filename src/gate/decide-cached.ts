// decide() remembered per policy snapshot: the transports ask the same (identity, name, port)
// tens of thousands of times a second. A decision that says it depends on grants is made anew
// every time; the rest are a function of the snapshot, whose cache they live in.
import { type DecideContext, type Decision, decide } from "./decide.ts";
import type { PolicyIndex } from "./policy-index.ts";

/** decide(index, identity, { name, port }, ctx), remembered; the result is shared: never mutate it. */
export function decideName(
  index: PolicyIndex,
  identity: string | undefined,
  name: string,
  port: number | undefined,
  ctx: DecideContext,
): Decision {
  const key = `${identity === undefined ? "\u0001" : identity}\u0000${port ?? ""}\u0000${name}`;
  const known = index.cache.decisions.get(key);
  if (known) return known;
  const d = decide(index, identity, port === undefined ? { name } : { name, port }, ctx);
  if (!d.dependsOnGrants) index.cache.decisions.set(key, Object.freeze(d));
  return d;
}
