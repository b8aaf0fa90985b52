// Real stacks on a real Docker Engine (sealed in a network namespace), driven by the README's
// "Using it on your stack" commands as written: the first sh block of that section is read here,
// so a change to the README changes what this test runs. Each `corral X …` line becomes
// runCli([X, …]) in the stack's project folder, with exactly these additions:
//   - `-f standin.yml` after `-f docker-compose.yml`: the stand-in override (src/testing/standin.ts).
//     No image of these stacks can be pulled here, so one local stand-in image listens where
//     Corral's model says each service is reached; networks, volumes, ports and names stay as
//     shipped.
//   - `--netns <engine>` on the commands that touch the engine (up, verify --live, enforce): nft
//     and the probes run where the sealed engine is, not on this machine.
// The stand-ins listen where the model says each service is reached (expose, ports) and where the
// policy sends traffic; for stacks whose policy `corral init` writes, that is known only after
// init, so standin.yml is written once before the commands and again, with the policy, before
// `corral up`.
// Stacks: examples/superagi with its own corral.yaml (so no `corral init`), and fixtures of
// ../shared (n8n-starter, the upstream SuperAGI file, letta; lobe-chat as a known gap) read in
// place through a symlink, so Compose's project folder, where relative bind mounts and .env live,
// is the temporary one; their policy is the one `corral init` writes. Then, with table inet
// corral deleted, the same proof must fail and say why.
//
// One engine for the whole file: the gate image is built by the first `corral up` (about 90 s)
// and reused by the later stacks; the per-engine differences are the enforce and gate-image
// tests' subject. Stacks run one after another, each taken down with its volumes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { readDeployment } from "../model/load.ts";
import { loadPolicy, type Policy, parsePolicy } from "../policy/index.ts";
import { runCli } from "../testing/cli.ts";
import { type Engine, startEngine } from "../testing/engine.ts";
import { ragflowDotenv } from "../testing/fixture-env.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { fixture, PROJECT_ROOT, sharedSkip } from "../testing/shared.ts";
import { buildStandinImage, NODE_BASE, standinOverride } from "../testing/standin.ts";
import type { LiveResult } from "./verify-live.ts";

const run = promisify(execFile);
const skip =
  privilegedSkip({ commands: ["dockerd", "docker", "busybox", "tar", "nft", "ip", "nsenter"] }) || sharedSkip();
const GATE_UID = 10001;
const STANDIN = "corral-test/standin:1";

let engine: Engine | undefined;
const root = mkdtempSync(join(tmpdir(), "corral-stacks-"));

/** The README's first sh block under "Using it on your stack", one argv per `corral` line. */
function readmeSteps(): string[][] {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Using it on your stack\n");
  assert.ok(start >= 0, 'README has a "Using it on your stack" section');
  const end = readme.indexOf("\n## ", start + 1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start, end < 0 ? undefined : end))?.[1];
  assert.ok(block, "the section has an sh block");
  const steps = block
    .split("\n")
    .map((line) =>
      line
        .replace(/\s#.*$/, "")
        .trim()
        .split(/\s+/),
    )
    .map((words) => (words[0] === "sudo" ? words.slice(1) : words))
    .filter((words) => words[0] === "corral")
    .map((words) => words.slice(1));
  assert.deepEqual(
    steps.map((s) => s[0]),
    ["init", "check", "scan", "up", "verify"],
    "the README's steps, in order (update this test with them)",
  );
  return steps;
}

const ENGINE_COMMANDS = new Set(["up", "enforce"]);

/** A README step as this test runs it: the stand-in file after the shipped one, the engine's netns. */
function asRun(step: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < step.length; i++) {
    out.push(step[i]!);
    if (step[i] === "-f" && step[i + 1] === "docker-compose.yml") out.push(step[++i]!, "-f", "standin.yml");
  }
  if (ENGINE_COMMANDS.has(step[0]!) || (step[0] === "verify" && step.includes("--live")))
    out.push("--netns", engine!.netns);
  return out;
}

interface Stack {
  name: string;
  /** The shipped compose file, read in place. */
  compose: () => string;
  /** Files beside the compose file that it names (include:, mounted scripts). */
  siblings?: string[];
  /** A policy shipped with the stack; without one, `corral init` writes it. */
  policy?: () => string;
  /** What the user puts beside the compose file before starting (the stack's .env). */
  dotenv?: string;
  /** A known Corral gap this stack shows: the test runs and reports, but does not fail the suite. */
  todo?: string;
  /** Steps a user takes for this stack before the README's commands. */
  prepare?: (dir: string) => Promise<void>;
}

const STACKS: Stack[] = [
  {
    name: "superagi",
    compose: () => join(PROJECT_ROOT, "examples/superagi/docker-compose.yml"),
    policy: () => join(PROJECT_ROOT, "examples/superagi/corral.yaml"),
    // The policy names an audit checkpoint key: the user makes it, and gives it to the gate's
    // user, as `corral compile` asks (the key stays 0600).
    prepare: async (dir) => {
      const key = ".corral-keys/audit.key";
      const made = await runCli(["audit", "keygen", "--key", key], { cwd: dir });
      assert.equal(made.code, 0, made.err);
      chownSync(join(dir, key), GATE_UID, GATE_UID);
    },
  },
  {
    // 10 services, 4 without a profile; n8n waits for postgres healthy and for the n8n-import
    // one-shot; its env_file .env is required.
    name: "n8n-starter",
    compose: () => fixture("compose", "n8n-starter", "docker-compose.yml"),
    dotenv: [
      "POSTGRES_USER=root",
      "POSTGRES_PASSWORD=password",
      "POSTGRES_DB=n8n",
      "N8N_ENCRYPTION_KEY=super-secret-key",
      "N8N_USER_MANAGEMENT_JWT_SECRET=even-more-secret",
      "",
    ].join("\n"),
  },
  {
    // The upstream SuperAGI file: three services are built from the app's sources (`build: .`),
    // which the stand-in replaces; the backend's command waits for Postgres with a script.
    name: "superagi-upstream",
    compose: () => fixture("compose", "superagi", "docker-compose.yaml"),
  },
  {
    // Network aliases on the default network, a required env_file, a healthcheck the server
    // waits for, and nginx on port 80.
    name: "letta",
    compose: () => fixture("compose", "letta", "compose.yaml"),
    dotenv: "OPENAI_API_KEY=sk-placeholder\n",
  },
  {
    // RAGFlow as its .env usually runs it: COMPOSE_PROFILES picks Elasticsearch, CPU, MySQL for
    // metadata, TEI embeddings and Kibana: 7 services from two files (include:), healthchecks the
    // app waits for, ports published from variables. (Its code sandbox is left out: it ships
    // privileged together with no-new-privileges, which runc 1.1 refuses to start, Corral or not.)
    name: "ragflow",
    compose: () => fixture("compose", "ragflow", "docker-compose.yml"),
    siblings: ["docker-compose-base.yml"],
    dotenv: [
      "COMPOSE_PROFILES=elasticsearch,cpu,mysql,tei-cpu,kibana",
      "DOC_ENGINE=elasticsearch",
      ragflowDotenv(),
    ].join("\n"),
  },
  {
    // Three of its five services share network-service's network namespace (network_mode:
    // service:…): their traffic leaves from network-service's address, but the policy `corral
    // init` writes gives them zones and flows of their own, which neither the host rules nor the
    // proof can tell apart. Known gap, kept here so it is seen and so the fix has its test.
    name: "lobe-chat",
    compose: () => fixture("compose", "lobe-chat", "docker-compose.yml"),
    todo: "services in network_mode: service:… are contained and probed as if they had addresses of their own",
    dotenv: [
      "LOBE_PORT=3210",
      "CASDOOR_PORT=8000",
      "MINIO_PORT=9000",
      "APP_URL=http://localhost:3210",
      "AUTH_CASDOOR_ISSUER=http://localhost:8000",
      "S3_ENDPOINT=http://localhost:9000",
      "LOBE_DB_NAME=lobechat",
      "POSTGRES_PASSWORD=uWNZugjBqixf8dxC",
      "MINIO_ROOT_USER=admin",
      "MINIO_ROOT_PASSWORD=YOUR_MINIO_PASSWORD",
      "MINIO_LOBE_BUCKET=lobe",
      "",
    ].join("\n"),
  },
];

before(async () => {
  if (skip) return;
  engine = await startEngine();
  engine.env.CORRAL_GATE_BASE_IMAGE = NODE_BASE;
  await buildStandinImage(engine, root, STANDIN);
});

after(async () => {
  await engine?.stop();
  engine = undefined;
  rmSync(root, { recursive: true, force: true });
});

const nftDelete = () => run("ip", ["netns", "exec", engine!.netns, "nft", "delete", "table", "inet", "corral"]);

for (const stack of STACKS)
  describe(`stack ${stack.name}`, () => {
    const dir = join(root, stack.name);
    const env = () => ({ ...engine!.env });
    const cli = (argv: string[]) => runCli(argv, { cwd: dir, env: env() });
    /** standin.yml from Corral's own reading of the shipped file and the policy, when there is one. */
    const writeStandin = async (policy: Policy) => {
      const d = readDeployment([join(dir, "docker-compose.yml")], { env: env() });
      const override = standinOverride(d, policy);
      writeFileSync(join(dir, "standin.yml"), override.yaml);
      for (const image of override.images) await engine!.docker(["tag", STANDIN, image]);
    };
    const compose = (args: string[]) =>
      engine!.docker(
        [
          "compose",
          "--project-directory",
          dir,
          "-f",
          join(dir, "docker-compose.yml"),
          "-f",
          join(dir, "standin.yml"),
          "-f",
          join(dir, "out/compose.corral.yml"),
          ...args,
        ],
        { timeoutMs: 120_000 },
      );

    after(async () => {
      if (engine) await compose(["down", "-v", "-t", "1"]).catch(() => undefined);
      // Every stack starts without the previous one's host rules.
      if (engine) await nftDelete().catch(() => undefined);
    });

    test(`${stack.name}: the README's commands contain it, and the proof fails without the host rules`, {
      skip,
      ...(stack.todo ? { todo: stack.todo } : {}),
      // The first stack builds the gate image: minutes on a loaded machine.
      timeout: 900_000,
    }, async () => {
      const steps = readmeSteps();
      mkdirSync(dir);
      symlinkSync(stack.compose(), join(dir, "docker-compose.yml"));
      // What the compose file names beside itself (include:, mounted scripts) comes along, in place.
      for (const f of stack.siblings ?? []) symlinkSync(join(dirname(stack.compose()), f), join(dir, f));
      if (stack.policy) symlinkSync(stack.policy(), join(dir, "corral.yaml"));
      if (stack.dotenv !== undefined) writeFileSync(join(dir, ".env"), stack.dotenv);
      await stack.prepare?.(dir);
      // Before init there is no policy yet: the stand-ins listen on what the compose file says.
      await writeStandin(parsePolicy("version: 1\n", join(dir, "none.yaml")).policy);

      const timings: string[] = [];
      const results = new Map<string, { code: number; out: string; err: string }>();
      for (const step of steps) {
        if (step[0] === "init" && stack.policy) continue;
        if (step[0] === "up") {
          // The policy now says which ports are targeted: the stand-ins must listen there too.
          await writeStandin((await loadPolicy(join(dir, "corral.yaml"))).policy);
        }
        const t0 = Date.now();
        const r = await cli(asRun(step));
        timings.push(`${step[0]} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        results.set(step[0]!, r);
        // Which container the engine refused to start, when `up` fails: its state says why.
        const states =
          r.code !== 0 && step[0] === "up"
            ? await engine!.docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).catch(() => "")
            : "";
        const why = `corral ${asRun(step).join(" ")} → ${r.code}\n${brief(r.out)}\n${r.err.slice(-3000)}\n${states}`;
        if (step[0] === "scan") assert.ok(r.code === 0 || r.code === 1, why);
        else assert.equal(r.code, 0, why);
      }

      const verifyStep = steps.find((s) => s[0] === "verify")!;
      const json = await cli([...asRun(verifyStep), "--format", "json"]);
      const result = JSON.parse(json.out) as LiveResult;
      assert.deepEqual(
        result.cells.filter((c) => c.observed !== c.expected),
        [],
        "every cell as the policy says",
      );
      assert.equal(result.hostRules, "loaded");
      assert.equal(json.code, 0, json.err);
      assert.ok(
        result.cells.some((c) => c.expected && c.observed),
        "some declared flow was proven open",
      );

      await nftDelete();
      const red = await cli(asRun(verifyStep));
      assert.equal(red.code, 1, `${red.out}\n${red.err}`);
      assert.match(red.out + red.err, /table inet corral is NOT loaded/);
      console.log(
        `# ${stack.name}: ${result.replicas} containers, ${result.cells.length} cells; ${timings.join(", ")}`,
      );
    });
  });

/** What a failed step said: a matrix is cut down to its mismatches and summary. */
function brief(out: string): string {
  const lines = out.split("\n");
  if (!lines.some((l) => l.includes("cells probed"))) return out.slice(-3000);
  return lines.filter((l) => /MISMATCH|cells probed|host rules|^live:/.test(l)).join("\n");
}
