// Child process for crash.int.test.ts: appends records as fast as it can until killed, printing
// the seqs it has been acknowledged ("A <seq>") so the parent knows what must survive.
// usage: node crash-writer.ts DIR KEY FSYNC INFLIGHT
import { type FsyncMode, openAuditLog } from "./log.ts";

const [dir, keyPath, fsync, inflightArg] = process.argv.slice(2);
const inflight = Number(inflightArg ?? "1");
const log = await openAuditLog({ dir: dir!, keyPath: keyPath!, fsync: fsync as FsyncMode, checkpointEvery: 200 });
const pad = "x".repeat(1500);
process.stdout.write(`R ${log.lastSeq}\n`);
for (;;) {
  const batch = [];
  for (let i = 0; i < inflight; i++)
    batch.push(
      log.record(
        "gate.decision",
        { identity: "crash", ip: "127.0.0.1" },
        { decision: "deny", host: "h", port: 1, pad },
      ),
    );
  const receipts = await Promise.all(batch);
  process.stdout.write(`A ${receipts.at(-1)!.seq}\n`);
}
