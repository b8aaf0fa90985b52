// Services that accept anyone: data stores started without authentication, vector stores
// without an API key, web UIs with their login switched off. The detectors say what is off
// and where to switch it on; the reachability model says how far the open door faces, which
// sets the severity (beyond the host or cluster: critical; from another zone or tier: high;
// only within its own: medium). (CIS Docker 5.x has no equivalent; Trivy/KICS check a few
// engines' config files, not their container arguments.)
import type { Container, Service } from "../../model/types.ts";
import type { Hit, Rule, RuleContext } from "../types.ts";
import { DATABASES, detect, type NoAuth, VECTOR_STORES } from "./datastore-auth.ts";
import { reachOf } from "./reachable.ts";
import { uiAuthOff } from "./ui-auth.ts";
import { perContainer } from "./util.ts";

const LEVELS = { exposed: "critical", beyond: "high", within: "medium" } as const;

function hit(
  ctx: RuleContext,
  s: Service,
  c: Container,
  found: NoAuth | undefined,
  what: (f: NoAuth) => string,
): Hit | undefined {
  if (!found) return undefined;
  const r = reachOf(ctx, s, LEVELS);
  const ctr = s.containers.length > 1 ? ` (container "${c.name}")` : "";
  return {
    service: s,
    message: `${what(found)}${ctr}: ${found.why}; ${r.note}`,
    pos: found.pos,
    severity: r.severity,
    related: r.related,
  };
}

export const authRules: Rule[] = [
  {
    id: "CRL-U001",
    title: "Database without authentication",
    severity: "high",
    family: "auth",
    cwe: "CWE-306",
    platforms: ["compose", "kubernetes"],
    rationale:
      "MongoDB started with --noauth (or without a root user), Redis/Valkey without requirepass or an ACL, Elasticsearch with xpack.security off and OpenSearch without its security plugin hand every record to whoever opens a connection — an agent steered by a prompt injection, a plugin, anything on the network. Critical when published beyond the host or cluster, high when reachable from another zone or tier, medium when only its own zone reaches it. MONGO_INITDB_* only takes effect on an empty data directory.",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    fix: "# mongo\nenvironment:\n  - MONGO_INITDB_ROOT_USERNAME=root\n  - MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo_root\n# redis / valkey\ncommand: [sh, -c, 'exec redis-server --requirepass \"$$(cat /run/secrets/redis_password)\"']\n# elasticsearch / opensearch\nenvironment:\n  - xpack.security.enabled=true          # and ELASTIC_PASSWORD=${ELASTIC_PASSWORD:?}\n  - plugins.security.disabled=false      # OpenSearch, with OPENSEARCH_INITIAL_ADMIN_PASSWORD",
    references: ["MongoDB security checklist", "Redis security", "Elastic minimal security", "OWASP ASVS 2.1"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        hit(ctx, s, c, detect(DATABASES, ctx, s, c), (f) => `${f.engine} accepts connections without authentication`),
      ),
  },
  {
    id: "CRL-U002",
    title: "Vector store without an API key",
    severity: "high",
    family: "auth",
    cwe: "CWE-306",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Qdrant without QDRANT__SERVICE__API_KEY, Weaviate with anonymous access, and Chroma without an auth provider let any client read, overwrite or delete the embeddings an agent retrieves from — a poisoned vector store is a prompt injection at every query. Severity follows reachability as for CRL-U001.",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    fix: "# qdrant\nenvironment:\n  - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY:?set a key}\n# weaviate\n  - AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false\n  - AUTHENTICATION_APIKEY_ENABLED=true\n  - AUTHENTICATION_APIKEY_ALLOWED_KEYS=${WEAVIATE_API_KEY:?}\n# chroma (0.5.x; 1.x has no built-in auth: put an authenticating proxy in front)\n  - CHROMA_SERVER_AUTHN_PROVIDER=chromadb.auth.token_authn.TokenAuthenticationServerProvider\n  - CHROMA_SERVER_AUTHN_CREDENTIALS=${CHROMA_TOKEN:?}",
    references: [
      "Qdrant security",
      "Weaviate authentication",
      "Chroma auth",
      "OWASP LLM08 Vector and Embedding Weaknesses",
    ],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        hit(ctx, s, c, detect(VECTOR_STORES, ctx, s, c), (f) => `${f.engine} has no authentication`),
      ),
  },
  {
    id: "CRL-U003",
    title: "Web UI authentication disabled",
    severity: "high",
    family: "auth",
    cwe: "CWE-306",
    platforms: ["compose", "kubernetes"],
    rationale:
      "WEBUI_AUTH=False (Open WebUI), AUTH_DISABLED=true, LANGFLOW_AUTO_LOGIN=true, code-server's --auth none, Jupyter's empty token and similar switches give whoever reaches the port the agent's tools, stored keys and conversations — in Jupyter and code-server, a shell. Severity follows reachability as for CRL-U001.",
    fix: 'environment:\n  - WEBUI_AUTH=True        # or remove the switch; the default is a login\n# jupyter: --ServerApp.token="$$JUPYTER_TOKEN"; code-server: --auth password with PASSWORD from a secret',
    references: ["Open WebUI WEBUI_AUTH", "Jupyter security", "OWASP ASVS 2.1"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        const off = uiAuthOff(ctx, s, c);
        return hit(
          ctx,
          s,
          c,
          off && { engine: off.product, why: off.why, pos: off.pos },
          (f) => `${f.engine === "the app" ? "the UI" : f.engine} has its login switched off`,
        );
      }),
  },
];
