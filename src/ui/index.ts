export { EventHub } from "./event-hub.ts";
export type { AlertEvent, DecisionEvent, UiEvent } from "./events.ts";
export {
  APPROVAL_DURATIONS,
  type ApprovalDuration,
  GateClient,
  GateError,
  type PendingApproval,
} from "./gate-client.ts";
export { type GraphInput, type GraphLayout, layoutGraph, type ReachPair } from "./graph.ts";
export { hashPassword, passwordProblem, verifyPassword } from "./password.ts";
export { defaultStateDir, readPasswordRecord, writePasswordRecord } from "./password-store.ts";
export { createUiServer, type UiServer, type UiServerOptions } from "./server.ts";
export type * from "./types.ts";
