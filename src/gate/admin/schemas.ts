// The admin API's requests and answers, as zod schemas: the server validates with them and the
// one client (client.ts) parses with them, so both sides agree by construction.
import { isIP } from "node:net";
import { z } from "zod";
import { MAX_TTL_MS, RUN_ID } from "../ephemeral.ts";

/** The one approval-id rule: what Approvals.request() mints (hex), checked wherever an id arrives. */
export const APPROVAL_ID = /^[0-9a-f]{1,32}$/;
export const approvalId = z.string().regex(APPROVAL_ID, "an approval id is 1-32 hex digits, e.g. 3fa9c01b2e");

export const errorBody = z.object({ error: z.string() });

/** Where the audit log's checkpoints stand off the host (src/audit/anchor.ts AnchorStatus). */
export const auditAnchors = z.object({
  anchors: z
    .object({
      lastSeq: z.number(),
      targets: z.array(
        z.object({
          id: z.string(),
          kind: z.enum(["witness", "webhook", "syslog"]),
          anchoredSize: z.number(),
          pendingSize: z.number().optional(),
          backlog: z.number(),
          attempts: z.number(),
          lastError: z.string().optional(),
          refused: z.boolean(),
          lastSuccess: z.string().optional(),
        }),
      ),
    })
    .nullable(),
});
export type AuditAnchors = z.infer<typeof auditAnchors>["anchors"];

export const approvalRequest = z.object({
  id: z.string(),
  identity: z.string(),
  name: z.string().optional(),
  ip: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  created: z.number(),
  status: z.enum(["pending", "approved", "denied"]),
  expires: z.number().optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.number().optional(),
});
export type ApprovalRecord = z.infer<typeof approvalRequest>;

export const approvalsList = z.object({ requests: z.array(approvalRequest) });

const actor = z.string().max(100).optional();
/** An approval lasts `forMs` (default one hour); `for` is the human form, kept for the audit trail. */
export const approveBody = z.object({
  forMs: z.number().positive().optional(),
  for: z.string().max(16).optional(),
  actor,
});
export const denyBody = z.object({ actor });
export const approvalParams = z.object({ id: approvalId, verb: z.enum(["approve", "deny"]) });

export const mintRunBody = z.object({
  parent: z.string().min(1).max(128),
  run: z.string().regex(RUN_ID, "a run id is [A-Za-z0-9._:-]{1,64}, starting with a letter or digit"),
  ttlMs: z.number().positive().max(MAX_TTL_MS).optional(),
});
export const mintedRun = z.object({ token: z.string(), expires: z.number() });
export const released = z.object({ released: z.literal(true) });
export const runTokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_]{1,128}$/) });

export const REMOTE_AUDIT_KINDS = ["sandbox.run", "login", "approval", "seal"] as const;
export type RemoteAuditKind = (typeof REMOTE_AUDIT_KINDS)[number];
const MAX_AUDIT_DATA = 8192;
const auditActorName = z
  .string()
  .regex(/^[\w.:@/+-]{1,128}$/, "actor must be a name of 1-128 characters [A-Za-z0-9_.:@/+-]");
export const auditRecordBody = z.object({
  kind: z.enum(REMOTE_AUDIT_KINDS),
  actor: z.union([
    auditActorName,
    z.object({
      identity: auditActorName,
      ip: z
        .string()
        .refine((ip) => isIP(ip) !== 0, "actor.ip must be an IP address")
        .optional(),
    }),
  ]),
  data: z
    .record(z.string(), z.unknown())
    .refine((d) => Buffer.byteLength(JSON.stringify(d)) <= MAX_AUDIT_DATA, `data larger than ${MAX_AUDIT_DATA} bytes`),
});

export const health = z.object({ status: z.literal("ok") });
export const readiness = z.union([
  z.object({ status: z.literal("ready"), policy: z.string() }),
  z.object({ status: z.literal("starting") }),
]);
