// Child process for anchor.int.test.ts, run inside the log host's network namespace.
//   write DIR KEY ORIGIN URL PUB N [SALT] [SEGMENT_RECORDS]   N records, then the anchor report as JSON
//   crash DIR KEY ORIGIN URL PUB                              records until killed, "A <seq>" per ack
//   sinks DIR KEY ORIGIN SINKS_JSON N                         N records with anchor sinks only
import { openAuditSink } from "../audit/open.ts";
import { writeRecords } from "./anchor-scenarios.ts";

const [mode, dir, key, origin, url, pub, ...rest] = process.argv.slice(2);
const c = { dir: dir!, key: key!, pub: `${key}.pub` };
const witness = { url: url!, pub: pub! };
if (mode === "write") {
  const [n, salt, seg] = rest;
  const report = await writeRecords(c, witness, Number(n), {
    origin: origin!,
    ...(salt && salt !== "-" ? { salt } : {}),
    ...(seg ? { segmentRecords: Number(seg) } : {}),
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else if (mode === "sinks") {
  // here URL is a JSON list of anchor sinks and PUB is the record count
  const report = await writeRecords(c, { url: "", pub: "" }, Number(pub), { origin: origin!, sinks: JSON.parse(url!) });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else if (mode === "crash") {
  const sink = await openAuditSink({
    dir: c.dir,
    keyPath: c.key,
    fsync: "record",
    checkpointEvery: 5,
    checkpointIntervalMs: 0,
    origin: origin!,
    witnesses: [{ url: witness.url, key: witness.pub }],
  });
  for (;;) {
    const r = await sink.record("gate.decision", "agents/crash", { decision: "deny", host: "c2.example", port: 443 });
    process.stdout.write(`A ${r.seq}\n`);
  }
} else throw new Error(`unknown mode ${mode}`);
