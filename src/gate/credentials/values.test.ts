import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { policySchema } from "../../policy/schema.ts";
import { CredentialValues, cleanValue, type ValueProblem } from "./values.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-cred-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, "anthropic");

const policy = policySchema.parse({
  version: 1,
  zones: { agents: { services: ["w"] } },
  credentials: {
    openai: { value: { env: "OPENAI_API_KEY" }, for: "agents", to: { host: "api.openai.com" } },
    anthropic: { value: { file }, for: "agents", to: { host: "api.anthropic.com" } },
  },
});

test("values come from the gate's env and files; a replaced file is read again", async () => {
  writeFileSync(file, "sk-ant-one\n");
  const problems: ValueProblem[] = [];
  const rotated: string[] = [];
  const v = new CredentialValues(
    { OPENAI_API_KEY: "sk-openai" },
    (p) => problems.push(p),
    (c) => rotated.push(c),
  );
  v.load(policy);
  try {
    assert.equal(v.get("openai"), "sk-openai");
    assert.equal(v.get("anthropic"), "sk-ant-one");
    writeFileSync(`${file}.new`, "sk-ant-two\n");
    renameSync(`${file}.new`, file);
    for (let i = 0; i < 100 && v.get("anthropic") !== "sk-ant-two"; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(v.get("anthropic"), "sk-ant-two");
    assert.deepEqual(rotated, ["anthropic"]);
    // Unreadable: the last good value stays, the problem names the file and never a value.
    rmSync(file);
    v.load(policy);
    assert.equal(v.get("anthropic"), "sk-ant-two");
    assert.ok(problems.some((p) => p.credential === "anthropic" && /ENOENT/.test(p.message)));
    assert.ok(!JSON.stringify(problems).includes("sk-ant"));
  } finally {
    v.close();
  }
});

test("a missing variable is a problem; control characters are refused", () => {
  const problems: ValueProblem[] = [];
  const v = new CredentialValues({}, (p) => problems.push(p));
  v.load({ ...policy, credentials: { openai: policy.credentials.openai! } });
  assert.equal(v.get("openai"), undefined);
  assert.match(problems[0]!.message, /OPENAI_API_KEY is not set/);
  assert.deepEqual(cleanValue("a\r\nX-Injected: 1"), {
    error: "contains a control character (a header could be split on it)",
  });
  assert.equal(cleanValue("key\n"), "key");
  v.close();
});
