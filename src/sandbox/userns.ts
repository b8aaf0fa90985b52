// Shell + pure: can this host give an unprivileged user a user namespace? When not, say which
// switch forbids it and the exact lines that change it.
import { readFileSync } from "node:fs";

export interface UsernsCheck {
  ok: boolean;
  reason?: string;
  fix?: string;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** Pure: the decision from the three sysctl values (null = file absent). */
export function judgeUserns(v: {
  unprivilegedClone: string | null;
  maxUserNamespaces: string | null;
  apparmorRestrict: string | null;
}): UsernsCheck {
  if (v.maxUserNamespaces === "0") {
    return {
      ok: false,
      reason: "user.max_user_namespaces is 0",
      fix: "sysctl -w user.max_user_namespaces=15000\necho 'user.max_user_namespaces=15000' > /etc/sysctl.d/90-corral-userns.conf",
    };
  }
  if (v.unprivilegedClone === "0") {
    return {
      ok: false,
      reason: "kernel.unprivileged_userns_clone is 0 (unprivileged user namespaces disabled)",
      fix: "sysctl -w kernel.unprivileged_userns_clone=1\necho 'kernel.unprivileged_userns_clone=1' > /etc/sysctl.d/90-corral-userns.conf",
    };
  }
  if (v.apparmorRestrict === "1") {
    return {
      ok: false,
      reason:
        "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10+ blocks user namespaces for unconfined programs)",
      fix: [
        "# allow bwrap only (preferred): /etc/apparmor.d/bwrap",
        "abi <abi/4.0>,",
        "include <tunables/global>",
        "profile bwrap /usr/bin/bwrap flags=(unconfined) {",
        "  userns,",
        "  include if exists <local/bwrap>",
        "}",
        "# then: apparmor_parser -r /etc/apparmor.d/bwrap",
        "# or, host-wide: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
      ].join("\n"),
    };
  }
  return { ok: true };
}

export function checkUserns(): UsernsCheck {
  if (process.getuid?.() === 0) return { ok: true };
  return judgeUserns({
    unprivilegedClone: read("/proc/sys/kernel/unprivileged_userns_clone"),
    maxUserNamespaces: read("/proc/sys/user/max_user_namespaces"),
    apparmorRestrict: read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
  });
}
