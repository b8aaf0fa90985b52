// The stand-in an agent holds instead of a real API key (policy `credentials:`). It is shaped
// like the provider's own keys so SDKs that check the format accept it, and it is a function of
// the project, the credential and the principal holding it: `corral compile` writes it into the
// agent's environment and the gate derives the same table from the policy and the clients it
// knows, so no file of placeholders travels between them. A placeholder grants nothing by
// itself: the gate swaps in the real value only for the principal it was made for, toward the
// credential's destination; anyone else presenting it is refused and alerted.
import { createHash } from "node:crypto";

export const PLACEHOLDER_FORMATS = [
  "openai",
  "anthropic",
  "google",
  "github",
  "groq",
  "huggingface",
  "mistral",
  "cohere",
  "tavily",
  "serper",
  "generic",
] as const;
export type PlaceholderFormat = (typeof PLACEHOLDER_FORMATS)[number];

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE = `${BASE62}-_`;
const LETTERS = BASE62.slice(0, 52);
const HEX = "0123456789abcdef";

interface Shape {
  prefix: string;
  body: number;
  alphabet: string;
  suffix?: string;
}

/** The providers' published key shapes (prefix, length, alphabet), as their SDKs and scanners see them. */
const SHAPES: Record<PlaceholderFormat, Shape> = {
  openai: { prefix: "sk-proj-", body: 156, alphabet: URLSAFE },
  anthropic: { prefix: "sk-ant-api03-", body: 93, alphabet: URLSAFE, suffix: "AA" },
  google: { prefix: "AIza", body: 35, alphabet: URLSAFE },
  github: { prefix: "ghp_", body: 36, alphabet: BASE62 },
  groq: { prefix: "gsk_", body: 52, alphabet: BASE62 },
  huggingface: { prefix: "hf_", body: 34, alphabet: LETTERS },
  mistral: { prefix: "", body: 32, alphabet: BASE62 },
  cohere: { prefix: "", body: 40, alphabet: BASE62 },
  tavily: { prefix: "tvly-", body: 32, alphabet: BASE62 },
  serper: { prefix: "", body: 40, alphabet: HEX },
  generic: { prefix: "", body: 48, alphabet: BASE62 },
};

const GUESSES: [RegExp, PlaceholderFormat][] = [
  [/OPENAI/, "openai"],
  [/ANTHROPIC|CLAUDE/, "anthropic"],
  [/GOOGLE|GEMINI|PALM/, "google"],
  [/GITHUB|^GH_/, "github"],
  [/GROQ/, "groq"],
  [/HUGGING|^HF_/, "huggingface"],
  [/MISTRAL/, "mistral"],
  [/COHERE/, "cohere"],
  [/TAVILY/, "tavily"],
  [/SERPER/, "serper"],
];

/** The format a variable's name suggests (`OPENAI_API_KEY` → openai), else generic. */
export function guessFormat(variable: string): PlaceholderFormat {
  const upper = variable.toUpperCase();
  return GUESSES.find(([re]) => re.test(upper))?.[1] ?? "generic";
}

/** The variable the agents read a credential from: `agent_env`, else `value.env`, else its name in capitals. */
export function agentVariable(
  name: string,
  c: { agent_env?: string; value: { env: string } | { file: string } },
): string {
  if (c.agent_env) return c.agent_env;
  if ("env" in c.value) return c.value.env;
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/** The placeholder `principal` holds for `credential` in `project`: same inputs, same string. */
export function placeholderFor(
  project: string,
  credential: string,
  principal: string,
  format: PlaceholderFormat,
): string {
  const shape = SHAPES[format];
  let body = "";
  for (let block = 0; body.length < shape.body; block++) {
    const digest = createHash("sha256")
      .update(`corral-placeholder\u0000${project}\u0000${credential}\u0000${principal}\u0000${block}`)
      .digest();
    for (const byte of digest) {
      if (body.length === shape.body) break;
      body += shape.alphabet[byte % shape.alphabet.length];
    }
  }
  return `${shape.prefix}${body}${shape.suffix ?? ""}`;
}
