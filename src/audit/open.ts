// The one call the gate, sandbox and ui make: an AuditSink from options (see options.ts for the
// policy mapping), with allowed decisions aggregated when asked.
import { AggregatingSink } from "./aggregate.ts";
import { openAuditLog } from "./log.ts";
import type { AuditSinkOptions } from "./options.ts";
import type { AuditSink } from "./sink.ts";

export async function openAuditSink(options: AuditSinkOptions): Promise<AuditSink> {
  const { aggregateAllowed, ...logOptions } = options;
  const log = await openAuditLog(logOptions);
  return aggregateAllowed ? new AggregatingSink(log, { now: logOptions.now }) : log;
}
