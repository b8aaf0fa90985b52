// Secrets passed as command-line arguments (`--requirepass xyz`, `--password=…`, Jupyter's
// `--NotebookApp.token=…`). Unlike an environment variable, argv is readable by every user on
// the host (`ps`, /proc/<pid>/cmdline) and in `docker inspect` / `kubectl get pod -o yaml`, so
// even a value interpolated from the environment leaks there; only how it is written decides
// whether the file itself holds the secret, and that sets the severity.
import type { Rule, Severity } from "../types.ts";
import { flags } from "./argv.ts";
import { DEFAULT_PASSWORDS } from "./passwords.ts";
import { inCtr, perContainer } from "./util.ts";

const SECRET_FLAG =
  /(^|[-_.])(pass|password|passwd|pwd|requirepass|masterauth|token|secret|api[-_]?key|apikey|access[-_]?key|secret[-_]?key|auth[-_]?token|credentials?)$/i;
// names that mention a secret but take something else: `--token-ttl`, `--password-file`
const NOT_SECRET = /(file|path|dir|ttl|expiry|length|env|name|type|provider|plugin)$/i;

export function isSecretFlag(name: string): boolean {
  const bare = name.replace(/^--?/, "");
  return SECRET_FLAG.test(bare) && !NOT_SECRET.test(bare);
}

function plausible(v: string): boolean {
  return v.trim() !== "" && !/^(true|false|none|null|yes|no|\d{1,3})$/i.test(v.trim()) && !v.startsWith("/");
}

export const commandSecretRule: Rule = {
  id: "CRL-S007",
  title: "Secret passed on the command line",
  severity: "high",
  family: "secrets",
  cwe: "CWE-214",
  platforms: ["compose", "kubernetes"],
  rationale:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    "A password or token in `command:` / `args:` is visible to every user on the host (`ps`, /proc) and in `docker inspect` or the pod spec, and when it is a literal it is also in every clone of the file. Literal values are high; a `${VAR:-default}` whose default is written in the file is medium; a plain `${VAR}` / `$(VAR)` reference is not a literal secret and is low, for the process-list exposure alone.",
  fix: "# give the secret to the server as a file or an environment variable it reads, not as an argument\nsecrets: [redis_password]\ncommand: [sh, -c, 'exec redis-server --requirepass \"$$(cat /run/secrets/redis_password)\"']\n# or a config file mounted read-only: redis-server /usr/local/etc/redis/redis.conf",
  references: ["CWE-214", "CIS Docker 4.10", "Checkov CKV_SECRET", "Trivy secret scanning"],
  check: (ctx) =>
    perContainer(ctx, (s, c) =>
      flags(ctx, s, c, isSecretFlag).flatMap((f) => {
        if (!isSecretFlag(f.name) || f.value === undefined) return [];
        const w = f.written ?? { kind: "literal" as const, text: f.value };
        const shown = `\`${f.name}\`${inCtr(s, c)}`;
        let severity: Severity = "high";
        let message: string;
        if (w.kind === "reference") {
          severity = "low";
          message = `${shown} takes ${w.text} from the environment — not a literal secret in the file, but argv is readable in \`docker inspect\` and the host's process list`;
        } else if (w.kind === "default") {
          if (!plausible(w.value)) return [];
          severity = "medium";
          message = `${shown} defaults to a value written in the file (${w.text.replace(/(:?-).*\}$/, "$1…}")}), used whenever the variable is unset; argv is also readable in \`docker inspect\` and the process list`;
        } else {
          if (!plausible(w.text)) return [];
          const trivial = DEFAULT_PASSWORDS.has(w.text.toLowerCase());
          message = `${shown} passes a literal ${trivial ? `trivial secret "${w.text}"` : "secret"} on the command line`;
        }
        return [{ service: s, message, pos: f.pos, ...(severity !== "high" ? { severity } : {}) }];
      }),
    ),
};
