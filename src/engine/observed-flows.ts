// What observe mode saw: one entry per (from service, to service, protocol, port) with a count,
// first and last seen, and one example connection as evidence. Pure: events in, record out. The
// record is bounded (a flood of new pairs cannot grow it without end: further pairs are counted
// as overflow and the evidence already held is kept) and carries the reader's cursor, so saving
// record and cursor together makes a restart neither lose nor count twice what was read.
import { z } from "zod";

/** One new connection as the kernel logged it (ulogd2's JSON output, see nflog.ts). */
export interface ConnectionEvent {
  /** `observe` (let through) or `drop` (refused) */
  kind: "observe" | "drop";
  src: string;
  dst: string;
  protocol: "tcp" | "udp" | "icmp" | "other";
  /** destination port (0 for protocols without ports) */
  port: number;
  srcPort: number;
  /** milliseconds since the epoch */
  at: number;
  /** the bridges it came in and went out on */
  in?: string;
  out?: string;
}

const exampleSchema = z.object({
  src: z.string(),
  dst: z.string(),
  /** the replicas (`worker#2`, or the service when it has one) behind the addresses */
  srcReplica: z.string().optional(),
  dstReplica: z.string().optional(),
  srcPort: z.number().int(),
  in: z.string().optional(),
  out: z.string().optional(),
});

const flowSchema = z.object({
  from: z.string(),
  to: z.string(),
  protocol: z.enum(["tcp", "udp", "icmp", "other"]),
  port: z.number().int().min(0).max(65535),
  /** observe: let through by observe mode; drop: refused by an enforced zone */
  kind: z.enum(["observe", "drop"]),
  count: z.number().int().positive(),
  first: z.string(),
  last: z.string(),
  example: exampleSchema,
});

export type ObservedFlow = z.infer<typeof flowSchema>;

export const recordSchema = z.object({
  version: z.literal(1),
  flows: z.array(flowSchema),
  /** new pairs seen after the record was full */
  overflow: z.number().int().min(0),
  /** events whose source or destination address belongs to no known service */
  unmapped: z.number().int().min(0),
  /** where the reader stopped in its input, saved with the flows they produced */
  cursor: z.object({ file: z.string(), inode: z.number(), offset: z.number().int().min(0) }).optional(),
});

export type FlowRecord = z.infer<typeof recordSchema>;

export const DEFAULT_MAX_FLOWS = 10_000;

export function emptyRecord(): FlowRecord {
  return { version: 1, flows: [], overflow: 0, unmapped: 0 };
}

/** Who an address is: a service name, `(host)`, or undefined (a container no longer known). */
export type AddressOwner = (ip: string) => string | undefined;

/** The name the Docker host goes by in records (and in the lab's matrix). */
export const HOST_NAME = "(host)";

/** Owners from where the services are (the plan's addresses, or the engine's live ones) and the bridges' gateways. */
export function addressOwner(
  attachments: ReadonlyArray<{ service: string; address: string }>,
  gateways: readonly string[],
): AddressOwner {
  const owners = new Map<string, string>(gateways.map((g) => [g, HOST_NAME]));
  for (const a of attachments) owners.set(a.address, a.service);
  return (ip) => owners.get(ip);
}

const keyOf = (f: { from: string; to: string; protocol: string; port: number; kind: string }) =>
  `${f.kind}\u0000${f.from}\u0000${f.to}\u0000${f.protocol}\u0000${f.port}`;

/**
 * Folds events into a record (a new object; the input is not changed). Addresses are named
 * when they are folded: a container that later restarts elsewhere keeps the name it had.
 */
export function foldEvents(
  record: FlowRecord,
  events: readonly ConnectionEvent[],
  owner: AddressOwner,
  maxFlows = DEFAULT_MAX_FLOWS,
  replica?: AddressOwner,
): FlowRecord {
  const flows = new Map(record.flows.map((f) => [keyOf(f), { ...f }]));
  let { overflow, unmapped } = record;
  for (const e of events) {
    const from = owner(e.src);
    const to = owner(e.dst);
    if (from === undefined || to === undefined) {
      unmapped++;
      continue;
    }
    const at = new Date(e.at).toISOString();
    const key = keyOf({ from, to, protocol: e.protocol, port: e.port, kind: e.kind });
    const held = flows.get(key);
    if (held) {
      held.count++;
      if (at < held.first) held.first = at;
      if (at > held.last) held.last = at;
      continue;
    }
    if (flows.size >= maxFlows) {
      overflow++;
      continue;
    }
    flows.set(key, {
      from,
      to,
      protocol: e.protocol,
      port: e.port,
      kind: e.kind,
      count: 1,
      first: at,
      last: at,
      example: {
        src: e.src,
        dst: e.dst,
        ...(replica?.(e.src) ? { srcReplica: replica(e.src) } : {}),
        ...(replica?.(e.dst) ? { dstReplica: replica(e.dst) } : {}),
        srcPort: e.srcPort,
        ...(e.in ? { in: e.in } : {}),
        ...(e.out ? { out: e.out } : {}),
      },
    });
  }
  const sorted = [...flows.values()].sort(
    (a, b) =>
      a.from.localeCompare(b.from) ||
      a.to.localeCompare(b.to) ||
      a.protocol.localeCompare(b.protocol) ||
      a.port - b.port ||
      a.kind.localeCompare(b.kind),
  );
  return { ...record, flows: sorted, overflow, unmapped };
}

export class FlowRecordError extends Error {}

/** Parses a saved record; anything malformed is refused whole (the caller keeps the file aside). */
export function parseRecord(text: string): FlowRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FlowRecordError(`not JSON: ${(err as Error).message}`);
  }
  const parsed = recordSchema.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new FlowRecordError(`${i?.path.join(".") || "record"}: ${i?.message}`);
  }
  return parsed.data;
}
