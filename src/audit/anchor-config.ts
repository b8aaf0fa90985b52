// The policy's `audit.witnesses` and `audit.anchor_sinks` → anchor targets. A witness key file
// holds the verifier key line the witness wrote to its DIR/witness.pub.
import { readFileSync } from "node:fs";
import { UserError } from "../policy/user-error.ts";
import { type AnchorTarget, SyslogTarget, WebhookTarget, WitnessTarget } from "./anchor-targets.ts";
import { NoteError, type NoteKey, parseVerifierKey } from "./signed-note.ts";
import { witnessVerifierKey } from "./witness-core.ts";

export class AnchorConfigError extends UserError {}

export interface WitnessConfig {
  url: string;
  /** path to the witness's witness.pub */
  key: string;
}

export type AnchorSinkConfig = { syslog: string } | { webhook: string };

export function loadWitnessKey(path: string): NoteKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new AnchorConfigError(`cannot read witness key ${path}: ${(err as Error).message}`, {
      hint: "copy DIR/witness.pub from the machine that runs 'corral audit witness --state DIR'",
    });
  }
  try {
    return witnessVerifierKey(parseVerifierKey(text));
  } catch (err) {
    if (err instanceof NoteError)
      throw new AnchorConfigError(`${path} is not a witness key: ${err.message}`, {
        hint: "use the witness.pub that 'corral audit witness' wrote",
      });
    throw err;
  }
}

export function anchorTargets(
  dir: string,
  witnesses: readonly WitnessConfig[] = [],
  sinks: readonly AnchorSinkConfig[] = [],
): AnchorTarget[] {
  const out: AnchorTarget[] = witnesses.map((w) => new WitnessTarget(w.url, loadWitnessKey(w.key), dir));
  for (const s of sinks) out.push("syslog" in s ? new SyslogTarget(s.syslog) : new WebhookTarget(s.webhook));
  return out;
}
