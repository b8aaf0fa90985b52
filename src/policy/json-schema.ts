// The policy's JSON Schema, generated from the zod schema so the two never drift. Draft-07,
// the dialect yaml-language-server and most editors complete against.
import { z } from "zod";
import { policySchema } from "./schema.ts";

export const SCHEMA_ID = "https://corral.dev/schema/corral.schema.json";

export function policyJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(policySchema, { io: "input", target: "draft-7", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return { ...generated, $id: SCHEMA_ID, title: "Corral policy (corral.yaml, version 1)" };
}

export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
