import assert from "node:assert/strict";
import { test } from "node:test";
import { agentVariable, guessFormat, PLACEHOLDER_FORMATS, placeholderFor } from "./placeholder.ts";

test("placeholders take the providers' key shapes", () => {
  const shapes: Record<string, RegExp> = {
    openai: /^sk-proj-[A-Za-z0-9_-]{156}$/,
    anthropic: /^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/,
    google: /^AIza[A-Za-z0-9_-]{35}$/,
    github: /^ghp_[A-Za-z0-9]{36}$/,
    groq: /^gsk_[A-Za-z0-9]{52}$/,
    huggingface: /^hf_[A-Za-z]{34}$/,
    serper: /^[0-9a-f]{40}$/,
    generic: /^[A-Za-z0-9]{48}$/,
  };
  for (const f of PLACEHOLDER_FORMATS) {
    const p = placeholderFor("proj", "cred", "svc", f);
    if (shapes[f]) assert.match(p, shapes[f]!, f);
  }
});

test("deterministic per project, credential and principal; unique across principals", () => {
  const a = placeholderFor("p", "openai", "worker", "openai");
  assert.equal(a, placeholderFor("p", "openai", "worker", "openai"));
  assert.notEqual(a, placeholderFor("p", "openai", "planner", "openai"));
  assert.notEqual(a, placeholderFor("q", "openai", "worker", "openai"));
  assert.notEqual(a, placeholderFor("p", "openai2", "worker", "openai"));
});

test("formats are guessed from the variable; the variable from the credential", () => {
  assert.equal(guessFormat("OPENAI_API_KEY"), "openai");
  assert.equal(guessFormat("ANTHROPIC_API_KEY"), "anthropic");
  assert.equal(guessFormat("GEMINI_API_KEY"), "google");
  assert.equal(guessFormat("HF_TOKEN"), "huggingface");
  assert.equal(guessFormat("SOMETHING_KEY"), "generic");
  assert.equal(agentVariable("openai", { value: { env: "OPENAI_API_KEY" } }), "OPENAI_API_KEY");
  assert.equal(agentVariable("my-key", { value: { file: "/x" } }), "MY_KEY");
  assert.equal(agentVariable("x", { agent_env: "X_TOKEN", value: { file: "/x" } }), "X_TOKEN");
});
