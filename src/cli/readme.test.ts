// The README's commands are what a newcomer types first: each names a real command and only
// flags its --help documents, and the "Using it on your stack" steps prove what they claim.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { COMMANDS } from "./registry.ts";

const README = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");

function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** `corral …` invocations in shell blocks: comments, redirections and `-- program` cut off. */
function corralCommands(blocks: string[]): string[][] {
  const out: string[][] = [];
  for (const block of blocks)
    for (const line of block.split("\n"))
      for (const part of line.replace(/\s#.*$/, "").split(/&&|\|/)) {
        const words = part.trim().split(/\s+/);
        if (words[0] === "sudo") words.shift();
        if (words[0] !== "corral") continue;
        const end = words.findIndex((w) => w === "--" || w === "<" || w === ">");
        out.push(end < 0 ? words.slice(1) : words.slice(1, end));
      }
  return out;
}

function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a "${title}" section`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

test("every corral command in the README exists and uses only flags its --help lists", async () => {
  const commands = corralCommands(shellBlocks(README));
  assert.ok(commands.length >= 10, "the README's commands were found");
  const names = new Set(COMMANDS.map((c) => c.name));
  for (const [name, ...args] of commands) {
    assert.ok(name && names.has(name), `corral ${name}: no such command`);
    const help = (await runCli([name, "--help"])).out;
    for (const flag of args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]!))
      assert.ok(help.includes(flag), `corral ${name} ${flag}: not in its --help`);
  }
});

test("Using it on your stack: the proof runs without --before, after the host rules are loaded", () => {
  const text = section("Using it on your stack");
  const steps = corralCommands(shellBlocks(text).slice(0, 1));
  const verify = steps.find((c) => c[0] === "verify");
  assert.ok(verify, "the steps end in corral verify");
  // --before probes the uncontained stack: it exits 1 by design, so it cannot be the proof.
  assert.ok(!verify.includes("--before"), "the verify step is the proof, not the before picture");
  // `corral up` loads them (through corral enforce); the proof comes after it.
  const loads = steps.findIndex(
    (c) => c[0] === "up" || c[0] === "enforce" || (c[0] === "compile" && c.includes("--apply")),
  );
  assert.ok(loads >= 0, "a step loads the host rules (corral up, corral enforce or compile --apply)");
  assert.ok(steps.indexOf(verify) > loads, "verify comes after the rules are loaded");
  assert.ok(verify.includes("--live"), "the proof is on the running stack");
  assert.match(text, /corral enforce/);
  assert.match(text, /--before/, "the before/after comparison is still explained");
});

test("the README says how ./corral finds its Node and how to put corral on PATH, before first use", () => {
  const firstUse = README.indexOf("```sh");
  const note = README.slice(0, firstUse);
  assert.match(note, /\.\/corral/);
  assert.match(note, /scripts\/env\.sh/);
  assert.match(note, /older than 22/);
  assert.match(note, /npm link/);
  assert.match(note, /ln -s "\$PWD\/corral"/);
});

const tmp = mkdtempSync(join(tmpdir(), "corral-readme-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const built = existsSync(join(PROJECT_ROOT, "dist", "cli", "main.js"));

test("./corral works through a symlink on PATH, as the README suggests", { skip: !built && "dist/ not built" }, () => {
  const link = join(tmp, "corral");
  symlinkSync(join(PROJECT_ROOT, "corral"), link);
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
  // ROOT is what env.sh exports: inherited from a test run started by scripts/test it would hide the bug.
  const { ROOT: _root, ...env } = process.env;
  const out = execFileSync(link, ["--version"], { cwd: tmp, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(out, `${pkg.version}\n`);
});
