// The events the dashboard shows, parsed at the edge from whatever the gate's `/events` stream
// (or an injected source) sends. Identities and destinations are attacker-controlled text:
// they are kept as plain strings, bounded in length, and only ever rendered as text.
import { z } from "zod";

const text = (max: number) => z.string().max(max);

const ruleField = z
  .union([text(200), z.object({ id: text(200), name: text(200).optional() })])
  .transform((r) => (typeof r === "string" ? r : (r.name ?? r.id)));

export const decisionEventSchema = z.object({
  time: text(64).optional(),
  identity: text(256)
    .nullish()
    .transform((v) => v ?? "(unknown)"),
  destination: text(512),
  verdict: z.enum(["allow", "deny"]),
  mode: text(32).optional(),
  reason: text(1000).optional(),
  rule: ruleField.optional(),
  approvable: z.boolean().optional(),
  wouldDeny: z.boolean().optional(),
  approvalId: text(64).optional(),
  /** dns, connect or http */
  transport: text(16).optional(),
});

export const alertEventSchema = z.object({
  time: text(64).optional(),
  kind: text(64).default("alert"),
  identity: text(256).nullish(),
  message: text(2000),
});

export type DecisionEvent = Omit<z.infer<typeof decisionEventSchema>, "time"> & {
  type: "decision";
  time: string;
  id: number;
};
export type AlertEvent = { type: "alert"; time: string; id: number; kind: string; identity?: string; message: string };
export type UiEvent = DecisionEvent | AlertEvent;
/** An event before the hub numbers it. */
export type EventInput = Omit<DecisionEvent, "id"> | Omit<AlertEvent, "id">;

type Ecs = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

/**
 * The gate's stream carries Elastic Common Schema field names (`corral.identity`,
 * `destination.domain`, …), the same as its decision log; turn those into the dashboard's shape.
 */
function fromEcs(type: "decision" | "alert", e: Ecs): Record<string, unknown> {
  const common = { time: e["@timestamp"], identity: e["corral.identity"] ?? undefined };
  if (type === "alert") return { ...common, kind: e["event.action"], message: e.message };
  const host = str(e["destination.domain"]) ?? str(e["destination.ip"]) ?? str(e["destination.address"]) ?? "(unknown)";
  const port = str(e["destination.port"]);
  return {
    ...common,
    identity: e["corral.identity"] ?? "(unknown)",
    destination: port ? `${host}:${port}` : host,
    verdict: e["corral.verdict"],
    mode: e["corral.mode"],
    reason: e["corral.reason"],
    rule: e["rule.name"] ?? e["rule.id"],
    wouldDeny: e["corral.would_deny"],
    approvable: e["corral.approval_id"] !== undefined ? true : undefined,
    approvalId: str(e["corral.approval_id"]),
    transport: str(e["event.action"])?.replace(/^gate-/, ""),
  };
}

/** Turns one SSE message (event name + JSON data) into a UiEvent without an id, or undefined when malformed. */
export function parseGateEvent(event: string | undefined, data: string, now: Date): EventInput | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  // The gate may name the event in the SSE `event:` field or in a `type` member.
  const type = event && event !== "message" ? event : (json as { type?: unknown } | null)?.type;
  if (
    (type === "decision" || type === "alert") &&
    json !== null &&
    typeof json === "object" &&
    ("corral.identity" in json || "corral.verdict" in json)
  ) {
    json = Object.fromEntries(Object.entries(fromEcs(type, json as Ecs)).filter(([, v]) => v !== undefined));
  }
  if (type === "decision") {
    const p = decisionEventSchema.safeParse(json);
    if (!p.success) return undefined;
    return { ...p.data, type: "decision", time: p.data.time ?? now.toISOString() };
  }
  if (type === "alert") {
    const p = alertEventSchema.safeParse(json);
    if (!p.success) return undefined;
    const { identity, kind, message } = p.data;
    return { type: "alert", time: p.data.time ?? now.toISOString(), kind, message, ...(identity ? { identity } : {}) };
  }
  return undefined;
}
