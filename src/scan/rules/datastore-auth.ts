// Data stores that accept connections without credentials, by engine: what each one needs to
// require a login, and which switch or omission leaves it open. Pure: a container in, the
// reason and the place to fix it out (the switch when one is written, else where the missing
// setting goes). Config files the scan cannot see (`redis-server /etc/redis.conf`, Qdrant's
// --config-path) and hidden environments (an unread env_file, envFrom) count as configured:
// a finding must be certain, not a guess.
import type { Container, Service, SourcePos } from "../../model/types.ts";
import type { RuleContext } from "../types.ts";
import { containerPos } from "../where.ts";
import { argvWords, type Flag, flags } from "./argv.ts";
import { envNamed, falsy, hiddenEnv, imageName, imageTag, isConfigured, isOn, settingsPos } from "./settings.ts";

export interface NoAuth {
  engine: string;
  why: string;
  pos: SourcePos;
}

type Detector = (ctx: RuleContext, s: Service, c: Container) => NoAuth | undefined;

const VALUED = new Set([
  "--requirepass",
  "--aclfile",
  "--masterauth",
  "--keyFile",
  "--config",
  "-f",
  "--config-path",
  "--user",
]);
const valued = (n: string) => VALUED.has(n);

/** Programs argv runs, `sh -c "redis-server …"` included. */
function programs(c: Container): string[] {
  return argvWords(c).map((w) => w.split("/").pop() ?? "");
}

function is(c: Container, images: RegExp, program: RegExp): boolean {
  return images.test(imageName(c)) || programs(c).some((p) => program.test(p));
}

/** Where a missing flag goes: the command when there is one, else the image line. */
function commandPos(s: Service, c: Container): SourcePos {
  return containerPos(s, c, ["command", "image"], ["args", "command", "image"]);
}

function flag(fs: Flag[], ...names: string[]): Flag | undefined {
  return fs.find((f) => names.includes(f.name));
}

const MONGO_IMAGE = /(^|\/)(mongo|mongodb|mongodb-community-server|mongodb-enterprise-server|percona-server-mongodb)$/;

const mongo: Detector = (ctx, s, c) => {
  if (!is(c, MONGO_IMAGE, /^mongod$/)) return undefined;
  const fs = flags(ctx, s, c, valued);
  const noauth = flag(fs, "--noauth");
  if (noauth) return { engine: "MongoDB", why: "`mongod --noauth` turns access control off", pos: noauth.pos };
  if (flag(fs, "--auth", "--keyFile", "--config", "-f")) return undefined;
  if (/bitnami\//.test(imageName(c))) {
    const empty = envNamed(c, "ALLOW_EMPTY_PASSWORD");
    return isOn(empty) && empty
      ? { engine: "MongoDB", why: "ALLOW_EMPTY_PASSWORD=yes starts it without a root password", pos: empty.pos }
      : undefined;
  }
  if (hiddenEnv(s, c)) return undefined;
  const user = envNamed(c, "MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_USERNAME_FILE");
  const pass = envNamed(c, "MONGO_INITDB_ROOT_PASSWORD", "MONGO_INITDB_ROOT_PASSWORD_FILE");
  if (isConfigured(ctx, user) && isConfigured(ctx, pass)) return undefined;
  return {
    engine: "MongoDB",
    why: "no MONGO_INITDB_ROOT_USERNAME/MONGO_INITDB_ROOT_PASSWORD (or --auth): mongod runs without access control",
    pos: settingsPos(s, c),
  };
};

const REDIS_IMAGE =
  /(^|\/)(redis|redis-stack|redis-stack-server|valkey|keydb|dragonfly|dragonflydb)$|^(bitnami\/(redis|valkey)|eqalpha\/keydb)$/;

const redis: Detector = (ctx, s, c) => {
  if (!is(c, REDIS_IMAGE, /^(redis-server|valkey-server|keydb-server|dragonfly)$/)) return undefined;
  const engine = /valkey/.test(imageName(c) + programs(c).join(" ")) ? "Valkey" : "Redis";
  const fs = flags(ctx, s, c, valued);
  const pass = flag(fs, "--requirepass");
  if (pass) {
    const empty = pass.written?.kind === "literal" && pass.written.text === "";
    return empty ? { engine, why: "`--requirepass` is given an empty password", pos: pass.pos } : undefined;
  }
  if (flag(fs, "--aclfile", "--user") || argvWords(c).some((w) => /\.conf$/.test(w))) return undefined;
  if (/bitnami\//.test(imageName(c))) {
    const empty = envNamed(c, "ALLOW_EMPTY_PASSWORD");
    return isOn(empty) && empty
      ? { engine, why: "ALLOW_EMPTY_PASSWORD=yes starts it without a password", pos: empty.pos }
      : undefined;
  }
  // redis-stack images read their server flags from REDIS_ARGS
  // (as written: `--requirepass ${P}` interpolates to a bare flag when the scan has no .env)
  const args = envNamed(c, "REDIS_ARGS");
  const argsText = `${args?.value ?? ""} ${args ? (ctx.sources?.get(args.pos.file)?.[args.pos.line - 1] ?? "") : ""}`;
  if (args && /--requirepass\s+\S|--aclfile\s+\S/.test(argsText)) return undefined;
  if (hiddenEnv(s, c) && /stack/.test(imageName(c))) return undefined;
  return {
    engine,
    why: "no `--requirepass`, ACL file or config file: any client gets every command",
    pos: commandPos(s, c),
  };
};

const ES_IMAGE = /(^|\/)elasticsearch(\/elasticsearch)?$|^bitnami\/elasticsearch$/;
const OS_IMAGE = /(^|\/)opensearch$|^opensearchproject\/opensearch$|^bitnami\/opensearch$/;

/** A setting given as an environment variable (the images map `a.b=c` and `ES_SETTING_A_B`) or an `-Ea.b=c` flag. */
function setting(c: Container, name: string): { value: string; pos?: SourcePos } | undefined {
  const e = envNamed(c, name, `ES_SETTING_${name.toUpperCase().replace(/_/g, "__").replace(/\./g, "_")}`);
  if (e?.value !== undefined) return { value: e.value, pos: e.pos };
  const arg = argvWords(c).find((w) => w.startsWith(`-E${name}=`));
  return arg ? { value: arg.slice(name.length + 3) } : undefined;
}

const elastic: Detector = (_ctx, s, c) => {
  const es = ES_IMAGE.test(imageName(c));
  const os = OS_IMAGE.test(imageName(c));
  if (!es && !os) return undefined;
  if (es) {
    const sec = setting(c, "xpack.security.enabled");
    const at = sec?.pos ?? commandPos(s, c);
    if (sec && falsy(sec.value)) return { engine: "Elasticsearch", why: "xpack.security.enabled=false", pos: at };
    const major = Number(/^(\d+)\./.exec(imageTag(c) ?? "")?.[1]);
    if (!sec && major > 0 && major < 8)
      return {
        engine: "Elasticsearch",
        why: `Elasticsearch ${major} leaves security off unless xpack.security.enabled=true`,
        pos: settingsPos(s, c),
      };
    return undefined;
  }
  for (const name of ["DISABLE_SECURITY_PLUGIN", "plugins.security.disabled"]) {
    const v = setting(c, name);
    if (v && /^true$/i.test(v.value.trim()))
      return { engine: "OpenSearch", why: `${name}=true removes the security plugin`, pos: v.pos ?? commandPos(s, c) };
  }
  return undefined;
};

export const DATABASES: readonly Detector[] = [mongo, redis, elastic];

const qdrant: Detector = (ctx, s, c) => {
  if (!/(^|\/)qdrant$/.test(imageName(c))) return undefined;
  if (isConfigured(ctx, envNamed(c, "QDRANT__SERVICE__API_KEY"))) return undefined;
  if (hiddenEnv(s, c) || flags(ctx, s, c, valued).some((f) => f.name === "--config-path")) return undefined;
  return {
    engine: "Qdrant",
    why: "no QDRANT__SERVICE__API_KEY: every collection is open to read and delete",
    pos: settingsPos(s, c),
  };
};

const weaviate: Detector = (_ctx, s, c) => {
  if (!/(^|\/)weaviate$/.test(imageName(c))) return undefined;
  const anon = envNamed(c, "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED");
  if (anon && isOn(anon))
    return { engine: "Weaviate", why: "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true", pos: anon.pos };
  const key = envNamed(c, "AUTHENTICATION_APIKEY_ENABLED");
  const oidc = envNamed(c, "AUTHENTICATION_OIDC_ENABLED");
  if (isOn(key) || isOn(oidc) || hiddenEnv(s, c)) return undefined;
  // Weaviate allows anonymous access when no authentication scheme is enabled
  return {
    engine: "Weaviate",
    why: "neither AUTHENTICATION_APIKEY_ENABLED nor AUTHENTICATION_OIDC_ENABLED is true: anonymous access",
    pos: key?.pos ?? settingsPos(s, c),
  };
};

const chroma: Detector = (ctx, s, c) => {
  if (!/(^|\/)chroma(db)?$|chroma-core\/chroma$/.test(imageName(c))) return undefined;
  const provider = envNamed(
    c,
    "CHROMA_SERVER_AUTHN_PROVIDER",
    "CHROMA_SERVER_AUTH_PROVIDER",
    "CHROMA_SERVER_AUTH_CREDENTIALS_PROVIDER",
  );
  if (isConfigured(ctx, provider) || hiddenEnv(s, c)) return undefined;
  return {
    engine: "Chroma",
    why: "no CHROMA_SERVER_AUTHN_PROVIDER: the API accepts anonymous clients",
    pos: settingsPos(s, c),
  };
};

export const VECTOR_STORES: readonly Detector[] = [qdrant, weaviate, chroma];

export function detect(detectors: readonly Detector[], ctx: RuleContext, s: Service, c: Container): NoAuth | undefined {
  for (const d of detectors) {
    const hit = d(ctx, s, c);
    if (hit) return hit;
  }
  return undefined;
}
