// `corral compile` writes an overlay the engine can run as written: host paths as Compose
// resolves them (from the project directory, whichever -f file names them), a gate image it can
// build or a given one, and a clear error now for a path that would crash-loop the gate later.
import assert from "node:assert/strict";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { parse } from "yaml";
import { GATE_UID } from "../compile/compose-overlay.ts";
import { runCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { composePath } from "./compile.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-compile-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const COMPOSE = `services:
  agent: { image: acme/agent:1 }
  db: { image: postgres:16 }
`;
const POLICY = (audit: string) => `version: 1
zones:
  agents: { services: [agent] }
  data: { services: [db] }
flows:
  - { from: agents, to: data, ports: [5432/tcp] }
egress:
  - { from: agents, allow: [api.openai.com:443] }
${audit}`;

interface GateService {
  image: string;
  build?: { context: string; dockerfile: string; args: Record<string, string> };
  command: string[];
  volumes: string[];
  user: string;
  read_only: boolean;
  healthcheck: { test: string[] };
}
interface Overlay {
  services: Record<string, { depends_on?: Record<string, { condition: string }> } & Partial<GateService>>;
}

function setUp(name: string, audit = ""): string {
  const root = join(dir, name);
  mkdirSync(join(root, "app"), { recursive: true });
  mkdirSync(join(root, "policy"), { recursive: true });
  writeFileSync(join(root, "app/docker-compose.yml"), COMPOSE);
  writeFileSync(join(root, "policy/corral.yaml"), POLICY(audit));
  return root;
}

async function compile(root: string, ...extra: string[]) {
  const r = await runCli(
    ["compile", "--policy", "policy/corral.yaml", "-f", "app/docker-compose.yml", "-o", "out", ...extra],
    { cwd: root },
  );
  const overlay =
    r.code === 0
      ? (parse(readFileSync(join(root, "out/compose.corral.yml"), "utf8"), { logLevel: "silent" }) as Overlay)
      : undefined;
  return { ...r, overlay };
}

test("compose paths: relative to the project directory, absolute when there is no relative way", () => {
  assert.equal(composePath("/srv/app", "/srv/app/corral.yaml"), "./corral.yaml");
  assert.equal(composePath("/srv/app", "/srv/policy/corral.yaml"), "../policy/corral.yaml");
  assert.equal(composePath("/srv/app", "/srv/app"), ".");
});

test("the overlay's policy mount and build context resolve from the project directory, not from out/", async () => {
  const root = setUp("paths");
  const r = await compile(root);
  assert.equal(r.code, 0, r.err);
  const gate = r.overlay?.services["corral-gate"];
  assert.ok(gate);
  const projectDir = join(root, "app");
  const [policyHost] = (gate.volumes?.[0] ?? "").split(":");
  assert.equal(resolve(projectDir, policyHost ?? ""), join(root, "policy/corral.yaml"), "as Compose resolves it");
  assert.ok(
    gate.volumes?.some((v) => v.startsWith("corral-gate-state:/var/lib/corral")),
    "state in a named volume",
  );
  assert.equal(resolve(projectDir, gate.build?.context ?? ""), PROJECT_ROOT, "Corral's own Dockerfile builds it");
  assert.equal(gate.build?.dockerfile, "docker/gate/Dockerfile");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolates it, not JavaScript.
  assert.equal(gate.build?.args.BASE_IMAGE, "${CORRAL_GATE_BASE_IMAGE:-node:24-slim}");
  assert.match(gate.image ?? "", /^corral\/gate:\d+\.\d+\.\d+/);
  assert.equal(gate.user, `${GATE_UID}:${GATE_UID}`, "non-root");
  assert.equal(gate.read_only, true);
  assert.deepEqual(gate.healthcheck?.test.slice(0, 2), ["CMD", "node"]);
  assert.deepEqual(r.overlay?.services.agent?.depends_on, { "corral-gate": { condition: "service_healthy" } });
  assert.equal(r.overlay?.services.db?.depends_on, undefined, "only the gate's clients wait for it");

  const other = await compile(root, "--project-directory", root);
  assert.equal(other.code, 0, other.err);
  assert.equal(other.overlay?.services["corral-gate"]?.volumes?.[0], "./policy/corral.yaml:/etc/corral/corral.yaml:ro");
});

test("--gate-image names a prebuilt image instead of a build", async () => {
  const root = setUp("image");
  const r = await compile(root, "--gate-image", "registry.example/corral-gate:1.2");
  assert.equal(r.code, 0, r.err);
  const gate = r.overlay?.services["corral-gate"];
  assert.equal(gate?.image, "registry.example/corral-gate:1.2");
  assert.equal(gate?.build, undefined);
});

test("a policy with relative audit paths: the gate keeps its log in the state volume, the key mounted read-only", async () => {
  const audit = "audit:\n  path: ./.corral/audit\n  checkpoint: { every: 100, key: ../keys/audit.key }\n";
  const root = setUp("audit", audit);
  const missing = await compile(root);
  assert.equal(missing.code, 2, "a missing key is an input error at compile time");
  assert.match(missing.err, /audit\.checkpoint\.key .*keys\/audit\.key does not exist/);
  assert.match(missing.err, /corral audit keygen --key/);

  mkdirSync(join(root, "keys"));
  const key = join(root, "keys/audit.key");
  writeFileSync(key, "not read by compile\n", { mode: 0o600 });
  const rootOwned = await compile(root);
  assert.equal(rootOwned.code, 2, "a key the unprivileged gate cannot read is refused");
  assert.match(rootOwned.err, new RegExp(`chown ${GATE_UID}:${GATE_UID}`));

  chownSync(key, GATE_UID, GATE_UID);
  const r = await compile(root);
  assert.equal(r.code, 0, r.err);
  const gate = r.overlay?.services["corral-gate"];
  const command = gate?.command ?? [];
  assert.equal(command[command.indexOf("--audit") + 1], "/var/lib/corral/audit");
  assert.equal(command[command.indexOf("--audit-key") + 1], "/run/corral/audit.key");
  assert.ok(gate?.volumes?.includes("../keys/audit.key:/run/corral/audit.key:ro"), gate?.volumes?.join(" "));
});
