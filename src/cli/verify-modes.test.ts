// verify names each zone's mode beside the matrix, so the cells observe mode opens read as intended.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "../policy/load.ts";
import { modeNotes } from "./verify.ts";

test("verify's notes name every zone's mode, and explain observe when a zone is observed", () => {
  const enforced = parsePolicy(
    "version: 1\nzones:\n  web: { services: [web] }\n  data: { services: [db] }\n",
    "p.yaml",
  );
  assert.deepEqual(modeNotes(enforced.policy), ["zones: data enforce, web enforce"]);
  const observed = parsePolicy(
    "version: 1\nmode: observe\nzones:\n  web: { services: [web], mode: enforce }\n  agents: { services: [a] }\n",
    "p.yaml",
  );
  const notes = modeNotes(observed.policy);
  assert.equal(notes[0], "zones: agents observe, web enforce", "the top-level mode is every zone's default");
  assert.match(notes[1] ?? "", /logged and let through \(rule 'observe'\)/);
});
