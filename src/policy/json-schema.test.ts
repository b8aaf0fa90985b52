import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { policyJsonSchema, policyJsonSchemaText } from "./json-schema.ts";

test("schema/corral.schema.json is up to date (run: npm run schema)", () => {
  const committed = readFileSync(join(PROJECT_ROOT, "schema", "corral.schema.json"), "utf8");
  assert.equal(committed, policyJsonSchemaText());
});

test("editors validating with the JSON Schema accept the example and reject unknown keys", () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(policyJsonSchema());
  const example = parse(readFileSync(join(PROJECT_ROOT, "examples", "superagi", "corral.yaml"), "utf8"));
  assert.equal(validate(example), true, JSON.stringify(validate.errors));
  assert.equal(validate({ version: 1, zonez: {} }), false);
  assert.equal(validate({ version: 1, zones: { web: { services: ["a"], isolate: "sometimes" } } }), false);
});
