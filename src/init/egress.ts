// Which services will call out, read from their environment: an LLM provider's key, or a base URL
// or endpoint naming a host outside the stack. Under the empty default egress those calls are
// refused, so `corral init` says so and proposes the destinations (commented, for review). Pure.
import type { Service } from "../model/types.ts";
import type { Evidence } from "./infer.ts";

export interface EgressNeed {
  service: string;
  destinations: string[];
  evidence: Evidence[];
}

/** Provider SDK variables and the API host each one's calls go to. */
const PROVIDER_KEYS: Record<string, string> = {
  OPENAI_API_KEY: "api.openai.com:443",
  ANTHROPIC_API_KEY: "api.anthropic.com:443",
  GROQ_API_KEY: "api.groq.com:443",
  GEMINI_API_KEY: "generativelanguage.googleapis.com:443",
  GOOGLE_API_KEY: "generativelanguage.googleapis.com:443",
  MISTRAL_API_KEY: "api.mistral.ai:443",
  COHERE_API_KEY: "api.cohere.com:443",
  OPENROUTER_API_KEY: "openrouter.ai:443",
  DEEPSEEK_API_KEY: "api.deepseek.com:443",
  TOGETHER_API_KEY: "api.together.xyz:443",
  HUGGINGFACEHUB_API_TOKEN: "huggingface.co:443",
  HF_TOKEN: "huggingface.co:443",
};

const URL_VARIABLE = /_(BASE_URL|API_URL|API_BASE|ENDPOINT|API_HOST)$/;
const LOCAL = /^(localhost|127\.|0\.0\.0\.0$|host\.docker\.internal$|\[?::1\]?$)/;

function where(e: { pos?: { file: string; line: number } }): string {
  return e.pos ? ` (${e.pos.file.split("/").pop()}:${e.pos.line})` : "";
}

export function egressNeeds(services: Service[]): EgressNeed[] {
  const names = new Set(services.map((s) => s.name));
  const out: EgressNeed[] = [];
  for (const s of services) {
    const destinations = new Set<string>();
    const evidence: Evidence[] = [];
    for (const e of s.containers.flatMap((c) => c.env)) {
      const provider = PROVIDER_KEYS[e.name];
      if (provider) {
        destinations.add(provider);
        evidence.push({ text: `${e.name}${where(e)}`, pos: e.pos });
        continue;
      }
      if (!URL_VARIABLE.test(e.name) || !e.value) continue;
      let url: URL;
      try {
        url = new URL(e.value.trim());
      } catch {
        continue;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      const host = url.hostname.toLowerCase();
      // A service of the stack, or the host itself, is a flow, not egress.
      if (names.has(host) || LOCAL.test(host) || !host.includes(".")) continue;
      destinations.add(`${host}:${url.port || (url.protocol === "https:" ? "443" : "80")}`);
      evidence.push({ text: `${e.name}${where(e)}`, pos: e.pos });
    }
    if (destinations.size > 0) out.push({ service: s.name, destinations: [...destinations].sort(), evidence });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}
