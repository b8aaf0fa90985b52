// Web UIs whose login is switched off by their environment or flags. Each entry is a documented
// switch of a real product; the value that disables the login is the one reported, so
// `WEBUI_AUTH=True` or `AUTH_DISABLED=${AUTH_DISABLED:-false}` stay silent.
import type { Container, Service, SourcePos } from "../../model/types.ts";
import type { RuleContext } from "../types.ts";
import { fieldPos } from "../where.ts";
import { flags } from "./argv.ts";
import { falsy, truthy } from "./settings.ts";

export interface AuthOff {
  product: string;
  why: string;
  pos: SourcePos;
}

/** Environment switches: the variable, the value meaning "no login", and whose switch it is. */
const ENV_SWITCHES: ReadonlyArray<{ name: string; off: "true" | "false"; product: string }> = [
  { name: "WEBUI_AUTH", off: "false", product: "Open WebUI" },
  { name: "AUTH_DISABLED", off: "true", product: "the app" },
  { name: "DISABLE_AUTH", off: "true", product: "the app" },
  { name: "AUTH_ENABLED", off: "false", product: "the app" },
  { name: "ENABLE_AUTH", off: "false", product: "the app" },
  // Langflow logs every visitor in as the superuser
  { name: "LANGFLOW_AUTO_LOGIN", off: "true", product: "Langflow" },
  { name: "N8N_USER_MANAGEMENT_DISABLED", off: "true", product: "n8n" },
  { name: "GF_AUTH_ANONYMOUS_ENABLED", off: "true", product: "Grafana" },
  { name: "ME_CONFIG_BASICAUTH", off: "false", product: "mongo-express" },
  // desktop mode: pgAdmin serves every database it knows without a login
  { name: "PGADMIN_CONFIG_SERVER_MODE", off: "false", product: "pgAdmin" },
];

/** Flags that switch a login off by being present. */
const OFF_SWITCHES = new Set(["--anonymous-mode", "--no-auth", "--disable-auth", "--disable-login"]);
/** Flags whose value turns it off: code-server's `--auth none`, Jupyter's empty token. */
const VALUED = new Set(["--auth", "--NotebookApp.token", "--ServerApp.token", "--IdentityProvider.token"]);
const JUPYTER_TOKEN = /^--(NotebookApp|ServerApp|IdentityProvider)\.token$/;
const JUPYTER_PASSWORD = /^--(NotebookApp|ServerApp|PasswordIdentityProvider)\.(password|hashed_password)$/;

export function uiAuthOff(ctx: RuleContext, s: Service, c: Container): AuthOff | undefined {
  for (const sw of ENV_SWITCHES) {
    const e = c.env.find((x) => x.name === sw.name);
    if (!e || !(sw.off === "true" ? truthy(e.value) : falsy(e.value))) continue;
    return {
      product: sw.product,
      why: `${sw.name}=${e.value?.trim()} turns the login off`,
      pos: fieldPos(s, e.pos, "value"),
    };
  }
  const fs = flags(ctx, s, c, (n) => VALUED.has(n));
  for (const f of fs) {
    if (OFF_SWITCHES.has(f.name)) return { product: "the app", why: `\`${f.name}\` turns the login off`, pos: f.pos };
    if (f.name === "--auth" && f.value?.trim().toLowerCase() === "none")
      return {
        product: "code-server",
        why: "`--auth none` serves the editor and its terminal without a password",
        pos: f.pos,
      };
    if (JUPYTER_TOKEN.test(f.name) && f.value?.trim() === "" && f.written?.kind === "literal") {
      const password = fs.some((p) => JUPYTER_PASSWORD.test(p.name) && (p.value ?? "").trim() !== "");
      if (!password)
        return {
          product: "Jupyter",
          why: `\`${f.name}=''\` with no password: anyone who connects runs code`,
          pos: f.pos,
        };
    }
  }
  return undefined;
}
