// The second anchor path, for people without a second machine: each checkpoint goes to a real
// rsyslogd (RFC 5424 over UDP and TCP) and to a webhook receiver, in a namespace of their own;
// `corral audit verify --anchor-copy` against what they kept catches the truncated tail.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip", "rsyslogd"] });

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { cutTail, newCase } from "../testing/anchor-scenarios.ts";
import { type NetnsPair, netnsPair } from "../testing/netns-pair.ts";
import { waitFor } from "../testing/wait.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const DRIVER = fileURLToPath(new URL("../testing/anchor-driver.ts", import.meta.url));
let hosts: NetnsPair;
const SINK_NS = () => hosts.names[1];
const SINK_IP = "10.203.62.2";
const root = mkdtempSync(join(tmpdir(), "corral-anchor-sinks-"));
const children: ChildProcess[] = [];
const inLog = (args: string[]) => hosts.node(0, args);
const syslogFile = join(root, "syslog-checkpoints.log");
const webhookFile = join(root, "webhook-checkpoints.jsonl");

before(async () => {
  if (skip) return;
  hosts = netnsPair("as", 62);
  const conf = join(root, "rsyslog.conf");
  writeFileSync(
    conf,
    `global(workDirectory="${root}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="${SINK_IP}" port="5514")
input(type="imtcp" address="${SINK_IP}" port="5515")
template(name="line" type="string" string="%timegenerated:::date-rfc3339% %hostname% %app-name% %msg%\\n")
if $app-name == "corral" then action(type="omfile" file="${syslogFile}" template="line")
`,
  );
  const rsyslog = spawn(
    "ip",
    ["netns", "exec", SINK_NS(), "rsyslogd", "-n", "-f", conf, "-i", join(root, "rsyslog.pid")],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(rsyslog);
  const hook = spawn(
    "ip",
    [
      "netns",
      "exec",
      SINK_NS(),
      process.execPath,
      "-e",
      `
    const fs = require("node:fs");
    require("node:http").createServer((req, res) => {
      let body = ""; req.on("data", (c) => body += c);
      req.on("end", () => { fs.appendFileSync(${JSON.stringify(webhookFile)}, body + "\\n"); res.writeHead(204); res.end(); });
    }).listen(8080, "${SINK_IP}", () => process.stdout.write("READY\\n"));
  `,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(hook);
  let hookOut = "";
  hook.stdout!.on("data", (d) => {
    hookOut += d;
  });
  await waitFor("the webhook receiver", () => hookOut.includes("READY"), { timeoutMs: 10_000 });
  // rsyslog has no readiness signal of its own: a TCP connect to its input is one.
  await waitFor(
    "rsyslogd",
    () =>
      inLog([
        "-e",
        `require("net").connect(5515,"${SINK_IP}").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))`,
      ]).code === 0,
    { timeoutMs: 10_000 },
  );
});

after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  hosts?.close();
  rmSync(root, { recursive: true, force: true });
});

const sizesIn = (file: string, origin: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.includes(`"note":"${origin}\\n`))
        .map((l) => Number(/"seq":(\d+)/.exec(l)?.[1]))
    : [];

for (const [what, sinks, file] of [
  ["syslog over UDP", [{ syslog: `udp://${SINK_IP}:5514` }], syslogFile],
  ["syslog over TCP", [{ syslog: `tcp://${SINK_IP}:5515` }], syslogFile],
  ["a webhook", [{ webhook: `http://${SINK_IP}:8080/corral` }], webhookFile],
] as const) {
  test(`${what}: the kept copy verifies the log, and catches its truncated tail`, { skip }, async () => {
    const c = newCase(root, what.replace(/\W/g, "-"));
    // One syslog file serves two cases: each log has its own origin, as two hosts would.
    const origin = `sinks.example/${what.replace(/\W/g, "-")}`;
    const r = inLog([DRIVER, "sinks", c.dir, c.key, origin, JSON.stringify(sinks), "40"]);
    assert.equal(r.code, 0, r.out);
    await waitFor(`the copy to hold seq 40`, () => sizesIn(file, origin).includes(40), { timeoutMs: 10_000 });
    const verify = () =>
      inLog([
        MAIN,
        "audit",
        "verify",
        "--dir",
        c.dir,
        "--key",
        c.pub,
        "--origin",
        origin,
        "--anchor-copy",
        file,
        "--format",
        "json",
      ]);
    const ok = verify();
    assert.equal(ok.code, 0, ok.out);
    assert.equal(JSON.parse(ok.out).anchors.anchoredSize, 40);
    cutTail(c, 25);
    const cut = verify();
    assert.equal(cut.code, 1, cut.out);
    assert.deepEqual(JSON.parse(cut.out).anchors.findings[0].range, { from: 26, to: 40 });
  });
}
