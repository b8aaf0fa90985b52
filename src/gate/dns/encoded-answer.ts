// The encoded response last sent for one question and one cached upstream answer, kept in the
// snapshot's cache: a repeated question at the same cache age is answered by copying bytes and
// setting the id, after the decision for THIS client has been made (decide() always runs).
import type * as dns from "dns-packet";
import type { Decision } from "../decide.ts";

export interface EncodedAnswer {
  /** the upstream answer it was made from (the resolver's cached packet) */
  source: dns.Packet;
  /** seconds the source had been cached when it was encoded (TTLs are aged by it) */
  age: number;
  wire: Buffer;
  /** the answer pointed only inside the floor: the name is denied whatever its rule says */
  rebinding?: Decision;
  dropped: readonly string[];
  nxdomain: boolean;
  rcode: string;
}

export const RCODE_NAME: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

/** The remembered answer when it was made from this very upstream answer at this age. */
export function reusable(hit: EncodedAnswer | undefined, source: dns.Packet, age: number): EncodedAnswer | undefined {
  return hit && hit.source === source && hit.age === age ? hit : undefined;
}
