// Sealed volumes on a real Docker Engine: a stand-in data store, started by compose with
// Corral's overlay, writes a known secret into its sealed volume and reads it back; the secret is
// in no raw byte under the engine's data root or the cipher directory. After lock and unlock
// (the key service in another network namespace) the data is intact; with the key service down
// the volume stays locked, says why, and the service cannot start.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["dockerd", "docker", "ip", "nsenter", "gocryptfs", "fusermount3", "grep"] });

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isMounted } from "../seal/gocryptfs.ts";
import { compileOverlay, type Engine, importNodeImage, startEngine } from "../testing/engine.ts";
import { type NetnsPair, netnsPair } from "../testing/netns-pair.ts";
import { waitFor } from "../testing/wait.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const SECRET = `corral-engine-sealed-${process.pid}-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), "corral-seal-engine-"));
let engine: Engine | undefined;
let hosts: NetnsPair | undefined;
let keys: ChildProcess | undefined;

const COMPOSE = `services:
  store:
    image: corral-test/node:24
    command: ["sleep", "3600"]
    volumes: [storedata:/data]
volumes:
  storedata: {}
`;

async function startKeys(): Promise<void> {
  let out = "";
  keys = spawn(
    "nsenter",
    [
      `--net=/run/netns/${hosts!.names[1]}`,
      process.execPath,
      MAIN,
      "keys",
      "serve",
      "--listen",
      `${hosts!.addresses[1]}:7390`,
      "--state",
      join(dir, "keys"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  keys.stdout!.on("data", (d) => {
    out += d;
  });
  keys.stderr!.on("data", (d) => {
    out += d;
  });
  await waitFor(`the key service: ${out}`, () => out.includes("listening"), { timeoutMs: 15_000 });
}

const seal = (...args: string[]) => hosts!.node(0, [MAIN, "seal", ...args, "-p", join(dir, "corral.yaml")]);
const compose = (...args: string[]) => composeWith(undefined, ...args);
const composeWith = (input: string | undefined, ...args: string[]) =>
  engine!.docker(
    [
      "compose",
      "-p",
      "sealed",
      "-f",
      join(dir, "app/docker-compose.yml"),
      "-f",
      join(dir, "out/compose.corral.yml"),
      ...args,
    ],
    { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) },
  );

/** Files under `root` whose raw bytes hold the secret (GNU grep, binary files included). */
function filesWithSecret(root: string): string[] {
  const r = spawnSync("grep", ["-r", "-l", "-a", "-F", SECRET, root], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

before(async () => {
  if (skip) return;
  engine = await startEngine();
  await importNodeImage(engine, "corral-test/node:24");
  hosts = netnsPair("se", 64);
  await startKeys();
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/docker-compose.yml"), COMPOSE);
  writeFileSync(
    join(dir, "corral.yaml"),
    `version: 1
zones:
  data: { services: [store] }
seal:
  dir: ./sealed
  key_service: { url: "http://${hosts.addresses[1]}:7390", key: ./keys/identity.pub, token: ./keys/token }
  volumes:
    storedata: {}
`,
  );
  await compileOverlay(dir);
});

after(async () => {
  await compose("down", "-t", "1").catch(() => undefined);
  const plain = join(dir, "sealed/storedata/plain");
  if (existsSync(plain) && isMounted(plain))
    try {
      execFileSync("fusermount3", ["-u", plain]);
    } catch {}
  if (keys && keys.exitCode === null) keys.kill("SIGTERM");
  hosts?.close();
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a sealed volume on the real engine: ciphertext at rest, plaintext in the container, fail closed", {
  skip,
}, async () => {
  assert.equal(seal("init", "storedata").code, 0);
  const unlocked = seal("unlock", "storedata");
  assert.equal(unlocked.code, 0, unlocked.out);
  await compose("up", "-d");
  // Through stdin: the secret is in no command line, container config or log the engine keeps.
  await composeWith(SECRET, "exec", "-T", "store", "sh", "-c", "cat > /data/secret && sync");
  assert.equal(
    (await compose("exec", "-T", "store", "cat", "/data/secret")).trim(),
    SECRET,
    "the container reads it back",
  );
  const engineRoot = dirname(engine!.host.replace(/^unix:\/\//, ""));
  assert.deepEqual(filesWithSecret(join(engineRoot, "data")), [], "nowhere under the engine's data root");
  assert.deepEqual(filesWithSecret(join(dir, "sealed/storedata/cipher")), [], "nowhere in the cipher directory");
  assert.deepEqual(filesWithSecret(join(dir, "sealed/storedata/plain")).length, 1, "only in the unlocked view");

  await compose("down", "-t", "1");
  assert.equal(seal("lock", "storedata").code, 0);
  assert.equal(seal("unlock", "storedata").code, 0);
  await compose("up", "-d");
  assert.equal(
    (await compose("exec", "-T", "store", "cat", "/data/secret")).trim(),
    SECRET,
    "intact after lock and unlock",
  );

  await compose("down", "-t", "1");
  assert.equal(seal("lock", "storedata").code, 0);
  keys!.kill("SIGTERM");
  await new Promise((r) => keys!.once("exit", r));
  const refused = seal("unlock", "storedata");
  assert.equal(refused.code, 2);
  assert.match(refused.out, /key service .* unreachable/);
  await assert.rejects(
    compose("up", "-d"),
    /bind source path does not exist|no such file or directory/i,
    "the service does not start on a locked volume",
  );
  assert.equal(((await compose("ps", "-a", "--format", "{{.State}}")).match(/running/g) ?? []).length, 0);
});
