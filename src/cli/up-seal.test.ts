// `corral up` with a sealed volume that cannot be unlocked stops before Compose: the stack stays
// down rather than starting its data store on nothing.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../testing/cli.ts";

test("corral up does not start a stack whose sealed volume stays locked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-up-seal-"));
  try {
    mkdirSync(join(dir, "app"));
    writeFileSync(
      join(dir, "app/docker-compose.yml"),
      "services:\n  db:\n    image: postgres:16\n    volumes: [pgdata:/var/lib/postgresql/data]\nvolumes: { pgdata: {} }\n",
    );
    writeFileSync(
      join(dir, "k.pub"),
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
    );
    writeFileSync(join(dir, "k.token"), "t\n");
    writeFileSync(
      join(dir, "corral.yaml"),
      "version: 1\nzones:\n  data: { services: [db] }\nseal:\n  dir: ./sealed\n  key_service: { url: http://127.0.0.1:9, key: ./k.pub, token: ./k.token }\n  volumes: { pgdata: {} }\n",
    );
    const r = await runCli(["up", "-p", "corral.yaml", "-f", "app/docker-compose.yml"], {
      cwd: dir,
      env: { DOCKER_HOST: "unix:///nonexistent.sock" },
    });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /not sealed yet|unreachable/);
    assert.match(r.err, /the stack is not started/);
    assert.doesNotMatch(r.err, /docker compose/, "Compose never ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
