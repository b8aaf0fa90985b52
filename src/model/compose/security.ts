// `security_opt` entries are written with `:` or `=` and optional values; findings need one
// normalised reading of them.

export interface SecurityOpts {
  noNewPrivileges: boolean;
  seccomp?: "unconfined" | "default" | "profile";
  apparmor?: "unconfined" | "default" | "profile";
}

function split(entry: string): { key: string; value: string | undefined } {
  const m = /^([^:=]+)(?:[:=](.*))?$/.exec(entry.trim());
  return { key: (m?.[1] ?? entry).trim().toLowerCase(), value: m?.[2]?.trim() };
}

function kind(value: string | undefined): "unconfined" | "default" | "profile" {
  if (value === undefined || value === "") return "default";
  const v = value.toLowerCase();
  if (v === "unconfined") return "unconfined";
  if (v === "default" || v === "runtime/default" || v === "docker-default") return "default";
  return "profile";
}

export function normaliseSecurityOpt(entries: string[]): SecurityOpts {
  const out: SecurityOpts = { noNewPrivileges: false };
  for (const e of entries) {
    const { key, value } = split(e);
    if (key === "no-new-privileges") {
      out.noNewPrivileges = value === undefined || value === "" || value.toLowerCase() === "true";
    } else if (key === "seccomp") out.seccomp = kind(value);
    else if (key === "apparmor") out.apparmor = kind(value);
  }
  return out;
}
