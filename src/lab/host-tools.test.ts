// scripts/host-tools.sh, which scripts/quickstart and scripts/test source to install the lab's
// kernel tools. Run with PATH holding only stubs: `id` says who we are, `apt-get` records what
// it was asked and "installs" by creating the commands.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PROJECT_ROOT } from "../testing/shared.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stubbedHost(uid: number, opts: { aptWorks: boolean }) {
  const bin = mkdtempSync(join(tmpdir(), "corral-host-tools-"));
  dirs.push(bin);
  const log = join(bin, "apt.log");
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script("id", `echo ${uid}`);
  script(
    "apt-get",
    `echo "$*" >> ${log}
${opts.aptWorks ? "" : "exit 100"}
if [ "$1" = install ]; then for c in nft ip bwrap; do printf '#!/bin/bash\\n' > ${bin}/$c; /bin/chmod +x ${bin}/$c; done; fi`,
  );
  const run = () =>
    execFileSync(
      "/bin/bash",
      [
        "--norc",
        "--noprofile",
        "-c",
        `source scripts/host-tools.sh; prepare_lab && echo READY || echo "SKIPPED: $LAB_SKIPPED"`,
      ],
      { cwd: PROJECT_ROOT, env: { PATH: bin }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  return { run, apt: () => (existsSync(log) ? readFileSync(log, "utf8") : "") };
}

const hasBash = existsSync("/bin/bash") && existsSync("/bin/chmod");

test("as root without nftables, the lab's tools are installed as scripts/test does", { skip: !hasBash }, () => {
  const host = stubbedHost(0, { aptWorks: true });
  const out = host.run();
  assert.match(out, /installing: nftables iproute2 bubblewrap/);
  assert.match(out, /READY$/m);
  assert.match(host.apt(), /^update -qq\ninstall -y -qq --no-install-recommends nftables iproute2 bubblewrap\n$/);
});

test("not root: nothing is installed and the skip is one clear line", { skip: !hasBash }, () => {
  const host = stubbedHost(1000, { aptWorks: true });
  assert.equal(
    host.run(),
    "SKIPPED: corral verify --lab needs root, iproute2 and nftables: skipped (sudo bash scripts/quickstart to see it)\n",
  );
  assert.equal(host.apt(), "");
});

test("root, but the install fails: skipped, saying so", { skip: !hasBash }, () => {
  const host = stubbedHost(0, { aptWorks: false });
  assert.match(host.run(), /^SKIPPED: .*installing them failed/m);
});

test("quickstart and the test script install through host-tools.sh, not their own apt-get", () => {
  for (const name of ["quickstart", "test"]) {
    const text = readFileSync(join(PROJECT_ROOT, "scripts", name), "utf8");
    assert.match(text, /source .*host-tools\.sh/, name);
    assert.doesNotMatch(text, /apt-get/, name);
  }
  assert.match(readFileSync(join(PROJECT_ROOT, "scripts", "quickstart"), "utf8"), /prepare_lab/);
});
