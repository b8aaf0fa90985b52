// The witness on another host: its own network namespace, reached over a veth from the log's
// namespace, where the writers and `corral audit verify` run. Every rewritten past is TAMPERED
// with its range, and a writer killed with -9 while its checkpoint is on the wire to the witness
// loses no acknowledged record and leaves the witness consistent with the log.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip"] });

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  backupSegment,
  type Case,
  cutTail,
  deleteLog,
  newCase,
  rewriteWithFreshKey,
} from "../testing/anchor-scenarios.ts";
import { type NetnsPair, netnsPair } from "../testing/netns-pair.ts";
import { waitFor } from "../testing/wait.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const DRIVER = fileURLToPath(new URL("../testing/anchor-driver.ts", import.meta.url));
let hosts: NetnsPair;
const LOG_NS = () => hosts.names[0];
const WIT_NS = () => hosts.names[1];
const WIT_IP = "10.203.61.2";
const URL_DIRECT = `http://${WIT_IP}:7380`;
const URL_SLOW = `http://${WIT_IP}:7381`;
const NAMES = ["cut", "gone", "resigned", "backup", "fork", "away", "crash"] as const;

const root = mkdtempSync(join(tmpdir(), "corral-anchor-int-"));
const cases = {} as Record<(typeof NAMES)[number], Case>;
const children: ChildProcess[] = [];
const pub = join(root, "witness-state", "witness.pub");
let witnessOut = "";

const inLog = (args: string[]) => hosts.node(0, args);
const origin = (name: string) => `int.example/${name}`;
const write = (name: (typeof NAMES)[number], n: number, opts: { salt?: string; seg?: number; url?: string } = {}) => {
  const c = cases[name];
  const r = inLog([
    DRIVER,
    "write",
    c.dir,
    c.key,
    origin(name),
    opts.url ?? URL_DIRECT,
    pub,
    String(n),
    opts.salt ?? "-",
    ...(opts.seg ? [String(opts.seg)] : []),
  ]);
  assert.equal(r.code, 0, r.out);
  return JSON.parse(r.out.trim().split("\n").at(-1)!);
};
const verify = (name: (typeof NAMES)[number], extra: string[] = []) => {
  const c = cases[name];
  const r = inLog([
    MAIN,
    "audit",
    "verify",
    "--dir",
    c.dir,
    "--key",
    c.pub,
    "--origin",
    origin(name),
    "--witness",
    `${URL_DIRECT}=${pub}`,
    "--format",
    "json",
    ...extra,
  ]);
  return { code: r.code, json: JSON.parse(r.out.slice(r.out.indexOf("{"))) };
};

before(async () => {
  if (skip) return;
  hosts = netnsPair("aw", 61);
  for (const name of NAMES) cases[name] = newCase(root, name);
  const logs = NAMES.flatMap((n) => ["--log", `${origin(n)}=${cases[n].pub}`]);
  const witness = spawn(
    "ip",
    [
      "netns",
      "exec",
      WIT_NS(),
      process.execPath,
      MAIN,
      "audit",
      "witness",
      "--listen",
      `${WIT_IP}:7380`,
      "--state",
      join(root, "witness-state"),
      ...logs,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(witness);
  witness.stdout!.on("data", (d) => {
    witnessOut += d;
  });
  witness.stderr!.on("data", (d) => {
    witnessOut += d;
  });
  await waitFor(`the witness to listen: ${witnessOut}`, () => witnessOut.includes("listening"), { timeoutMs: 15_000 });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  hosts?.close();
  rmSync(root, { recursive: true, force: true });
});

test("across namespaces: truncation, deletion, re-signing, a restored backup and a fork are TAMPERED with their range", {
  skip,
}, async () => {
  write("cut", 50);
  cutTail(cases.cut, 30);
  const cut = verify("cut");
  assert.equal(cut.code, 1, JSON.stringify(cut.json.anchors));
  assert.deepEqual(cut.json.anchors.findings[0].range, { from: 31, to: 50 });

  write("gone", 20);
  deleteLog(cases.gone);
  const gone = verify("gone");
  assert.equal(gone.code, 1);
  assert.deepEqual(gone.json.anchors.findings[0].range, { from: 1, to: 20 });

  write("resigned", 20);
  await rewriteWithFreshKey(join(root, "resigned-forgery"), cases.resigned, { url: URL_DIRECT, pub }, 20);
  const resigned = verify("resigned");
  assert.equal(resigned.json.status, "valid");
  assert.equal(resigned.code, 1);
  assert.match(resigned.json.anchors.findings[0].message, /not signed by the given log key/);

  write("backup", 25, { seg: 20 });
  const backup = backupSegment(cases.backup, 2);
  write("backup", 30, { seg: 20 });
  backup.restore();
  const restored = verify("backup");
  assert.equal(restored.code, 1);
  assert.deepEqual(restored.json.anchors.findings[0].range, { from: 26, to: 55 });

  write("fork", 20);
  deleteLog(cases.fork);
  const forked = write("fork", 30, { salt: "-other-history" });
  assert.equal(forked.targets[0].refused, true, "the witness refused the inconsistent checkpoint");
  const state = JSON.parse(readFileSync(join(root, "witness-state", "state.json"), "utf8"));
  assert.equal(state.logs[origin("fork")].size, 20, "and kept what it had cosigned");
  assert.equal(verify("fork").code, 1);
});

test("across namespaces: with the witness unreachable the log keeps writing and reports what is unanchored", {
  skip,
}, () => {
  write("away", 20);
  const report = write("away", 15, { url: `http://${WIT_IP}:7399` });
  assert.equal(report.targets[0].anchoredSize, 0);
  assert.ok(report.targets[0].lastError);
  const v = verify("away");
  assert.equal(v.code, 0);
  assert.equal(v.json.anchors.anchoredSize, 20);
  assert.equal(v.json.anchors.unanchored, 15);
});

test("kill -9 of a writer while its checkpoint is on the wire: no acknowledged record lost, the witness consistent", {
  skip,
}, async () => {
  // A relay in the witness's namespace that holds each request a moment and says so: the
  // writer is killed exactly while a push is in flight, and the witness still gets it after.
  const relay = spawn(
    "ip",
    [
      "netns",
      "exec",
      WIT_NS(),
      process.execPath,
      "-e",
      `
    const net = require("node:net");
    net.createServer((c) => {
      const up = net.connect(7380, "${WIT_IP}");
      c.on("error", () => {}); up.on("error", () => {});
      c.once("data", (first) => { process.stdout.write("HOLD\\n"); setTimeout(() => { up.write(first); c.pipe(up); up.pipe(c); }, 500); });
    }).listen(7381, "${WIT_IP}", () => process.stdout.write("READY\\n"));
  `,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(relay);
  let relayOut = "";
  relay.stdout!.on("data", (d) => {
    relayOut += d;
  });
  await waitFor("the relay", () => relayOut.includes("READY"), { timeoutMs: 10_000 });
  const c = cases.crash;
  const writer = spawn(
    "ip",
    ["netns", "exec", LOG_NS(), process.execPath, DRIVER, "crash", c.dir, c.key, origin("crash"), URL_SLOW, pub],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(writer);
  let acked = 0;
  writer.stdout!.on("data", (d) => {
    for (const m of String(d).matchAll(/A (\d+)/g)) acked = Math.max(acked, Number(m[1]));
  });
  await waitFor("a push in flight", () => relayOut.includes("HOLD") && acked >= 5, { timeoutMs: 20_000 });
  // `ip netns exec` execs node in place, so this pid is the writer's own.
  process.kill(writer.pid!, "SIGKILL");
  await new Promise((r) => writer.once("exit", r));
  const ackedAtKill = acked;
  // The held request reaches the witness after the writer is gone.
  await waitFor(`the witness to cosign: ${witnessOut}`, () => witnessOut.includes(`200 ${origin("crash")}`), {
    timeoutMs: 10_000,
  });
  const state = JSON.parse(readFileSync(join(root, "witness-state", "state.json"), "utf8"));
  const cosigned = state.logs[origin("crash")].size as number;
  assert.ok(cosigned >= 5 && cosigned <= ackedAtKill + 5, `witness at ${cosigned}, acked ${ackedAtKill}`);

  const v = verify("crash");
  assert.equal(v.code, 0, JSON.stringify(v.json));
  assert.ok(v.json.lastSeq >= ackedAtKill, `every acknowledged record survived (${v.json.lastSeq} ≥ ${ackedAtKill})`);
  assert.equal(v.json.anchors.anchoredSize, cosigned, "the witness's size is a prefix of this log");
  // The next writer picks up from what the witness holds (a 409, then a proof from there).
  const more = write("crash", 12);
  assert.ok(more.targets[0].anchoredSize > cosigned, JSON.stringify(more));
  relay.kill("SIGKILL");
});
