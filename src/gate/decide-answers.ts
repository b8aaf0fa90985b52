// The decision on what a resolved name points at (DNS rebinding): an allowed name may not hand a
// client an address inside the SSRF floor. Each such address is dropped; when every address
// the client asked for is dropped, the name is denied as a whole. Pure.
import type * as dns from "dns-packet";
import ipaddr from "ipaddr.js";
import { type Decision, FLOOR_RULE } from "./decide.ts";
import { type Floor, floorVerdict } from "./ssrf.ts";

export interface AnswersDecision {
  decision: Decision;
  /** the answers the client may see */
  answers: dns.Answer[];
  /** "address (range)" for every answer taken out */
  dropped: string[];
}

export function decideAnswers(
  floor: Floor,
  decision: Decision,
  questionType: string,
  answers: readonly dns.Answer[],
): AnswersDecision {
  const kept: dns.Answer[] = [];
  const dropped: string[] = [];
  let asked = 0;
  for (const a of answers) {
    if (a.type === questionType) asked++;
    if ((a.type === "A" || a.type === "AAAA") && typeof a.data === "string") {
      const range = ipaddr.isValid(a.data) ? floorVerdict(floor, ipaddr.parse(a.data)) : "unparseable address";
      if (range) {
        dropped.push(`${a.data} (${range})`);
        continue;
      }
    }
    kept.push(a);
  }
  const addressQuestion = questionType === "A" || questionType === "AAAA";
  if (dropped.length > 0 && addressQuestion && asked > 0 && !kept.some((a) => a.type === questionType)) {
    const rebinding: Decision = {
      verdict: "deny",
      mode: "enforce",
      code: "rebinding",
      detail: dropped.join(", "),
      rule: FLOOR_RULE,
    };
    if (decision.name !== undefined) rebinding.name = decision.name;
    return { decision: rebinding, answers: [], dropped };
  }
  return { decision, answers: kept, dropped };
}
