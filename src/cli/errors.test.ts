// One user-error type across the layers: each prints position, message and fix and exits 2;
// anything else is a bug in Corral, exits 70 and asks for a report.
import assert from "node:assert/strict";
import type { Writable } from "node:stream";
import { test } from "node:test";
import { AuditKeyError } from "../audit/keys.ts";
import { NftError } from "../compile/nft-apply.ts";
import { LiveVerifyError } from "../engine/verify-live.ts";
import { InputError } from "../model/errors.ts";
import { parsePolicy } from "../policy/load.ts";
import { UserError } from "../policy/user-error.ts";
import { SandboxConfigError } from "../sandbox/profile.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { EXIT, UsageError } from "./command.ts";
import { exitCodeFor, formatError } from "./errors.ts";
import { main } from "./main.ts";

function policyError(): unknown {
  try {
    parsePolicy("version: 1\ngate:\n  listen: { proxy: nowhere }\n", "corral.yaml");
  } catch (err) {
    return err;
  }
  return undefined;
}

test("policy, model, sandbox, audit, compile, engine and CLI errors are one type: position, message, hint, exit 2", () => {
  const errors: unknown[] = [
    policyError(),
    new InputError('unknown service "nope"', { file: "docker-compose.yml", line: 3, col: 5 }, "did you mean 'api'?"),
    new SandboxConfigError("no sandbox profile 'x'", "define sandbox.profiles.x"),
    new AuditKeyError("audit key is world-readable", "chmod 600 it"),
    new NftError("nft refused the ruleset", "Error: syntax error"),
    new LiveVerifyError("the engine is unreachable", "start dockerd"),
    new UsageError("--format must be text or json", "e.g. --format json"),
  ];
  for (const err of errors) {
    assert.ok(err instanceof UserError, String(err));
    assert.equal(exitCodeFor(err), EXIT.usage, String(err));
    const text = formatError(err, false);
    assert.doesNotMatch(text, /internal error| {4}at /, "no stack for a user error");
    if (err.hint) assert.match(text, new RegExp(`\\n  hint: ${err.hint.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  }
  assert.match(formatError(errors[0], false), /^corral\.yaml:3:20: error: gate\.listen\.proxy: expected an IP/);
  assert.match(formatError(errors[1], false), /^docker-compose\.yml:3:5: error: unknown service "nope"\n {2}hint: /);
  assert.match(formatError(errors[2], false), /^corral: no sandbox profile 'x'\n {2}hint: define/);
});

test("a failed system call on something the user names is input, not a bug", () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x.yaml'"), {
    code: "ENOENT",
    syscall: "open",
  });
  assert.equal(exitCodeFor(enoent), EXIT.usage);
  assert.equal(formatError(enoent, false), "corral: ENOENT: no such file or directory, open 'x.yaml'\n");
});

test("anything else is an internal error: exit 70 (never 2), the stack, and a request for a bug report", async () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'zones')");
  assert.equal(exitCodeFor(bug), EXIT.internal);
  assert.notEqual(EXIT.internal, EXIT.usage);
  const text = formatError(bug, false);
  assert.match(text, /^corral: internal error: TypeError: Cannot read properties/);
  assert.match(text, /\n {4}at /, "the stack is there for the report");
  assert.match(text, /this is a bug in Corral \S+, not a problem with your input: please report it/);

  // Through main(): a command that hits a non-user error (here its output stream breaks).
  let err = "";
  const broken = {
    write() {
      throw new TypeError("stdout is broken");
    },
  } as unknown as Writable;
  const stderr = {
    write: (s: string) => {
      err += s;
      return true;
    },
  } as unknown as Writable;
  const code = await main(["check", "--policy", "examples/superagi/corral.yaml"], {
    stdout: broken,
    stderr,
    cwd: PROJECT_ROOT,
  });
  assert.equal(code, 70);
  assert.match(err, /internal error: TypeError: stdout is broken[\s\S]*please report it/);
});
