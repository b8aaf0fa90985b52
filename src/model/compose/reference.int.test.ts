// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax is the subject here
// Differential check against the reference implementation: for every shared compose fixture,
// Corral's reading (services, networks and aliases, ports, volumes, environment, profiles)
// must equal what `docker compose config --format json` resolves. The fixtures are read in
// place; where one needs a `.env` (compose refuses a missing env_file, an empty port or size),
// the project directory is a temporary one holding that `.env` and links to the fixture's
// compose files, given to both sides. There are no tolerated differences: each one found was
// a reader bug and is fixed, so a new one fails here until it is fixed or argued for.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, test } from "node:test";
import { ragflowDotenv } from "../../testing/fixture-env.ts";
import { composeFixtureFiles, fixture, sharedSkip } from "../../testing/shared.ts";
import { readCompose } from "./index.ts";
import { diffShapes, shapeFromComposeConfig, shapeFromCorral } from "./reference-shape.ts";

/** `docker compose` is a CLI plugin, so `command -v docker` alone does not prove it is there. */
function composeSkip(): string | false {
  const r = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
  if (r.status === 0) return false;
  const reason = "needs the docker compose CLI plugin: reference test skipped (runs in CI)";
  if (process.env.CI === "true") throw new Error("CI=true but docker compose is missing: the reference test must run");
  return reason;
}

const skip = sharedSkip() || composeSkip();

/** `~` must expand the same way on both sides and not to the tester's real home. */
const HOME = "/home/corral-reference";

interface Case {
  /** Process environment beyond HOME, for both sides. */
  env?: Record<string, string>;
  /** Contents of a `.env` in the (temporary) project directory. */
  dotenv?: string;
}

// The dotenv texts also exercise the parsers: quotes, `export`, comments, references.
const CASES: Record<string, Case> = {
  "anything-llm/docker-compose.yml": {
    dotenv: [
      "# anything-llm",
      "SERVER_PORT=3001",
      'JWT_SECRET="long secret # not a comment"',
      "export STORAGE_DIR='/app/server/storage'",
      "LLM_PROVIDER=openai # trailing comment",
      "OPEN_AI_KEY=",
      "BARE_NAME",
      "",
    ].join("\n"),
  },
  "flowise/docker-compose.yml": { env: { PORT: "3000", DATABASE_PATH: "/root/.flowise" } },
  "letta/compose.yaml": {
    dotenv: [
      "LETTA_SANDBOX_MOUNT_PATH=/srv/letta-sandbox",
      "OPENAI_API_KEY=sk-test",
      "LETTA_PG_USER=letta_user",
      'LETTA_PG_URI="postgresql://${LETTA_PG_USER}:pw@db:5432/letta"',
      "",
    ].join("\n"),
  },
  "lobe-chat/docker-compose.yml": {
    dotenv: [
      "MINIO_PORT=9000",
      "CASDOOR_PORT=8000",
      "LOBE_PORT=3210",
      "LOBE_DB_NAME=lobechat",
      "POSTGRES_PASSWORD=uWNZugjBqixf8dxC",
      "MINIO_ROOT_USER=admin",
      "MINIO_ROOT_PASSWORD=YOUR_MINIO_PASSWORD",
      "S3_ENDPOINT=http://localhost:${MINIO_PORT}",
      "",
    ].join("\n"),
  },
  // the shell wins over .env for interpolation; the env_file still carries .env's value
  "mem0/docker-compose.yaml": {
    env: { POSTGRES_PASSWORD: "from-the-shell" },
    dotenv: ["POSTGRES_PASSWORD=from-dotenv", "JWT_SECRET=${POSTGRES_PASSWORD}-jwt", ""].join("\n"),
  },
  "n8n-starter/docker-compose.yml": {
    dotenv: ["POSTGRES_USER=root", "POSTGRES_PASSWORD=password", "POSTGRES_DB=n8n", ""].join("\n"),
  },
  "ragflow/docker-compose.yml": { dotenv: ragflowDotenv() },
  "ragflow/docker-compose-base.yml": { dotenv: ragflowDotenv() },
};

const scratch = skip ? "" : mkdtempSync(join(tmpdir(), "corral-reference-"));
after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * A project directory named like the fixture's (so both derive the same project name), holding
 * the `.env` and links to the fixture's sibling compose files, which relative includes name.
 */
function projectDirWith(name: string, file: string, dotenv: string): string {
  const dir = join(scratch, name.replace(/[/\\.]/g, "_"), basename(dirname(file)));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".env"), dotenv);
  for (const sibling of readdirSync(dirname(file))) {
    if (/\.ya?ml$/.test(sibling)) symlinkSync(join(dirname(file), sibling), join(dir, sibling));
  }
  return dir;
}

function composeConfig(
  file: string,
  env: Record<string, string>,
  projectDir: string | undefined,
  profiles: string[],
): unknown {
  const args = ["compose", "-f", file, ...(projectDir ? ["--project-directory", projectDir] : [])];
  for (const p of profiles) args.push("--profile", p);
  args.push("config", "--format", "json");
  const r = spawnSync("docker", args, {
    cwd: projectDir ?? dirname(file),
    encoding: "utf8",
    // only what the plugin needs to be found; everything else is the case's environment
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      DOCKER_CONFIG: process.env.DOCKER_CONFIG ?? join(homedir(), ".docker"),
      ...env,
    },
  });
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

const files = skip ? [] : composeFixtureFiles();

test("every case names a shared fixture, and all 14 are there", { skip }, () => {
  for (const f of Object.keys(CASES)) assert.ok(files.includes(f), `case for ${f}, which is not a fixture`);
  assert.ok(files.length >= 14, `expected the 14 shared compose fixtures, found ${files.length}`);
});

for (const f of files) {
  test(`docker compose config agrees with Corral: ${f}`, { skip }, () => {
    const c = CASES[f] ?? {};
    const path = fixture("compose", f);
    const env = { HOME, ...c.env };
    const projectDir = c.dotenv === undefined ? undefined : projectDirWith(f, path, c.dotenv);
    const dir = projectDir ? { projectDirectory: projectDir } : {};
    const reference = shapeFromComposeConfig(composeConfig(path, env, projectDir, ["*"]));
    const corral = shapeFromCorral(readCompose([path], { env, profiles: ["*"], ...dir }));
    const diffs = diffShapes(corral, reference);
    assert.deepEqual(diffs, [], `${f}: Corral differs from docker compose config:\n  ${diffs.join("\n  ")}`);
    // and with no profile named, the same services start
    const byDefault = shapeFromComposeConfig(composeConfig(path, env, projectDir, []));
    assert.deepEqual(
      readCompose([path], { env, ...dir })
        .services.map((s) => s.name)
        .sort(),
      Object.keys(byDefault.services),
      `${f}: services active without --profile differ`,
    );
  });
}
