// Test support: a validator for SARIF 2.1.0 built from the published schema in ../shared.
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { schemaPath } from "../testing/shared.ts";

/** Returns a function giving the first schema errors, or undefined when the document is valid. */
export function sarifValidator(): (doc: unknown) => string | undefined {
  const schema = JSON.parse(readFileSync(schemaPath("sarif-schema-2.1.0.json"), "utf8"));
  // The published schema is draft-04 (`id`, draft-04 $schema); Ajv 8 reads it once those two are adapted.
  delete schema.$schema;
  schema.$id = schema.id;
  delete schema.id;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  return (doc) => (validate(doc) ? undefined : JSON.stringify(validate.errors?.slice(0, 3)));
}
