import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip", "nft"] });

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { main } from "../cli/main.ts";
import { readDeployment } from "../model/load.ts";
import { loadPolicy } from "../policy/index.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { applyRuleset, listCorralTable, NftError } from "./nft-apply.ts";
import { compileNftables } from "./nftables.ts";

async function withNetns(fn: (ns: string) => Promise<void>): Promise<void> {
  const ns = `crl${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}-nft`;
  execFileSync("ip", ["netns", "add", ns]);
  try {
    await fn(ns);
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
  }
}

async function superagiRuleset(): Promise<string> {
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([join(PROJECT_ROOT, "examples/superagi/docker-compose.yml")], { env: {} });
  return compileNftables(policy, d)["corral.nft"] ?? "";
}

test("a refused ruleset leaves the previously loaded one in place", { skip }, async () => {
  const good = await superagiRuleset();
  await withNetns(async (ns) => {
    await applyRuleset(good, { netns: ns });
    const loaded = await listCorralTable({ netns: ns });
    assert.match(loaded ?? "", /chain forward/);
    // Reloading the same file replaces the table (idempotent), not duplicates it.
    await applyRuleset(good, { netns: ns });
    assert.equal(await listCorralTable({ netns: ns }), loaded);
    // Broken at the very end: the delete at the top must not have happened either.
    const bad = good.replace(/\}\n$/, "  chain broken { type filter hook forward priority 0; jump nowhere }\n}\n");
    await assert.rejects(
      applyRuleset(bad, { netns: ns }),
      (err: unknown) => err instanceof NftError && /nowhere|No such file|Error/.test(err.message),
    );
    assert.equal(await listCorralTable({ netns: ns }), loaded, "the good table is untouched");
    // --check never changes anything, good or bad.
    await applyRuleset(good, { netns: ns, check: true });
    await assert.rejects(applyRuleset(bad, { netns: ns, check: true }), NftError);
    assert.equal(await listCorralTable({ netns: ns }), loaded);
  });
});

test("corral compile --apply: a bad policy writes and loads nothing", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-compile-"));
  try {
    const policy = join(dir, "corral.yaml");
    await writeFile(
      policy,
      "version: 1\nzones:\n  web: { services: [proxy] }\nflows:\n  - { from: web, to: nowhere, ports: [99999/tcp] }\n",
    );
    await withNetns(async (ns) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let stderr = "";
      err.on("data", (d) => {
        stderr += d;
      });
      const code = await main(
        [
          "compile",
          "-p",
          policy,
          "-f",
          join(PROJECT_ROOT, "examples/superagi/docker-compose.yml"),
          "-o",
          join(dir, "out"),
          "--apply",
          "--netns",
          ns,
        ],
        { stdout: out, stderr: err, env: {}, color: false },
      );
      assert.equal(code, 2);
      assert.match(stderr, /corral\.yaml:\d+:\d+/);
      assert.equal(existsSync(join(dir, "out")), false, "no files written");
      assert.equal(await listCorralTable({ netns: ns }), undefined, "no table loaded");
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("corral compile --apply --netns loads the table; --check validates it", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-compile-"));
  try {
    await withNetns(async (ns) => {
      const args = [
        "compile",
        "-p",
        join(PROJECT_ROOT, "examples/superagi/corral.yaml"),
        "-f",
        join(PROJECT_ROOT, "examples/superagi/docker-compose.yml"),
        "-o",
        dir,
        "-t",
        "nftables",
        "--check",
        "--apply",
        "--netns",
        ns,
      ];
      const code = await main(args, { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, color: false });
      assert.equal(code, 0);
      assert.match((await listCorralTable({ netns: ns })) ?? "", /set flows/);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
