import assert from "node:assert/strict";
import { test } from "node:test";
import { normaliseSecurityOpt } from "./security.ts";

test("no-new-privileges spellings", () => {
  for (const s of ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"]) {
    assert.equal(normaliseSecurityOpt([s]).noNewPrivileges, true, s);
  }
  assert.equal(normaliseSecurityOpt(["no-new-privileges:false"]).noNewPrivileges, false);
  assert.equal(normaliseSecurityOpt([]).noNewPrivileges, false);
});

test("seccomp and apparmor", () => {
  assert.equal(normaliseSecurityOpt(["seccomp:unconfined"]).seccomp, "unconfined");
  assert.equal(normaliseSecurityOpt(["seccomp=unconfined"]).seccomp, "unconfined");
  assert.equal(normaliseSecurityOpt(["seccomp=/etc/p.json"]).seccomp, "profile");
  assert.equal(normaliseSecurityOpt(["apparmor:unconfined"]).apparmor, "unconfined");
  assert.equal(normaliseSecurityOpt(["apparmor=unconfined"]).apparmor, "unconfined");
  assert.equal(normaliseSecurityOpt(["apparmor=my-profile"]).apparmor, "profile");
  assert.equal(normaliseSecurityOpt(["label:disable"]).seccomp, undefined);
});
