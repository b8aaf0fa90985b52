import assert from "node:assert/strict";
import { test } from "node:test";
import { auditOptionsFromPolicy } from "./options.ts";

test("the policy's audit section maps to writer options, paths relative to the policy file", () => {
  assert.deepEqual(
    auditOptionsFromPolicy(
      {
        path: "audit",
        checkpoint: { every: 500, interval: "30s", key: "/etc/corral/audit.key" },
        fsync: "record",
        aggregate_allowed: true,
      },
      "/srv/stack",
    ),
    {
      dir: "/srv/stack/audit",
      fsync: "record",
      aggregateAllowed: true,
      keyPath: "/etc/corral/audit.key",
      checkpointEvery: 500,
      checkpointIntervalMs: 30_000,
    },
  );
  assert.deepEqual(auditOptionsFromPolicy({ path: "/var/lib/corral/audit" }, "/x"), { dir: "/var/lib/corral/audit" });
  assert.throws(
    () => auditOptionsFromPolicy({ path: "a", checkpoint: { key: "k", interval: "often" } }, "/x"),
    /audit.checkpoint.interval 'often' is not a duration/,
  );
});
