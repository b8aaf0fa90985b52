// ulogd2 for real, in a network namespace of the test's own: each new connection the ruleset
// logs is one JSON line, and when the observer rotates a full file (move aside, SIGHUP, read the
// old one to its end) no line is lost or counted twice.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip", "nft", "ulogd"] });

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startUlogd } from "./nflog.ts";
import { addressOwner } from "./observed-flows.ts";
import { Observer } from "./observer.ts";

test("one line per logged connection; rotation loses and doubles nothing", { skip }, async () => {
  const ns = `crl-nflog-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "corral-nflog-"));
  const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "pipe" }).toString();
  let ulogd: Awaited<ReturnType<typeof startUlogd>> | undefined;
  try {
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "addr", "add", "10.203.99.1/32", "dev", "lo");
    execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], {
      input: `table inet t {\n chain out {\n  type filter hook output priority 0; policy accept;\n  tcp dport 9 ct state new log prefix "corral-observe " group 3 accept\n }\n}\n`,
    });
    ulogd = await startUlogd({ group: 3, dir, netns: ns });
    const connect = (n: number) =>
      execFileSync("ip", [
        "netns",
        "exec",
        ns,
        process.execPath,
        "-e",
        `let left=${n};for(let i=0;i<${n};i++){const s=require("net").connect(9,"10.203.99.1");s.on("error",()=>{if(--left===0)process.exit(0)});s.on("connect",()=>{s.destroy();if(--left===0)process.exit(0)})}`,
      ]);
    const waitLines = async (file: string, n: number) => {
      for (let i = 0; i < 60; i++) {
        let size = 0;
        try {
          size = statSync(file).size;
        } catch {}
        if (size > 0 && execFileSync("wc", ["-l", file]).toString().trim().split(" ")[0] === String(n)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const owner = addressOwner([{ service: "client", address: "10.203.99.1" }], []);
    const observer = new Observer({
      jsonFile: ulogd.jsonFile,
      recordFile: join(dir, "record.json"),
      owner: async () => owner,
      rotate: { maxBytes: 1, reopen: () => ulogd?.child.kill("SIGHUP") },
    });
    connect(20);
    await waitLines(ulogd.jsonFile, 20);
    const inode = statSync(ulogd.jsonFile).ino;
    const first = await observer.tick();
    assert.equal(first.record.flows[0]?.count, 20, "one line per new connection");
    connect(15);
    await waitLines(ulogd.jsonFile, 15);
    assert.notEqual(statSync(ulogd.jsonFile).ino, inode, "ulogd2 reopened a new file on SIGHUP");
    const second = await observer.tick();
    assert.equal(second.record.flows[0]?.count, 35, "nothing lost or counted twice across the rotation");
  } finally {
    await ulogd?.stop();
    try {
      ip("netns", "del", ns);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
});
