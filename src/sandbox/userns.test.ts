import assert from "node:assert/strict";
import { test } from "node:test";
import { judgeUserns } from "./userns.ts";

const open = { unprivilegedClone: null, maxUserNamespaces: "15000", apparmorRestrict: null };

test("user namespaces allowed", () => assert.deepEqual(judgeUserns(open), { ok: true }));
test("max_user_namespaces=0 names the sysctl fix", () => {
  const r = judgeUserns({ ...open, maxUserNamespaces: "0" });
  assert.equal(r.ok, false);
  assert.match(r.fix ?? "", /user\.max_user_namespaces=15000/);
});
test("Debian's unprivileged_userns_clone=0", () =>
  assert.match(judgeUserns({ ...open, unprivilegedClone: "0" }).fix ?? "", /kernel\.unprivileged_userns_clone=1/));
test("Ubuntu's AppArmor restriction gives a bwrap profile", () => {
  const r = judgeUserns({ ...open, apparmorRestrict: "1" });
  assert.match(r.fix ?? "", /profile bwrap \/usr\/bin\/bwrap flags=\(unconfined\)/);
  assert.match(r.fix ?? "", /apparmor_restrict_unprivileged_userns=0/);
});
