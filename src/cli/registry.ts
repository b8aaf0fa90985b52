// Every `corral <command>`, loaded lazily so a short command (e.g. `corral run`) does not pay
// for the gate's or the dashboard's imports at start-up.
import type { Command } from "./command.ts";

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: "init",
    summary: "write a starting corral.yaml from compose files",
    load: async () => (await import("./init.ts")).command,
  },
  {
    name: "check",
    summary: "load and validate a policy file",
    load: async () => (await import("./check.ts")).command,
  },
  {
    name: "scan",
    summary: "find what breaks containment in compose / Kubernetes files",
    load: async () => (await import("./scan.ts")).command,
  },
  {
    name: "reach",
    summary: "show who can reach whom in a deployment",
    load: async () => (await import("./reach.ts")).command,
  },
  {
    name: "compile",
    summary: "turn the policy into enforcement files",
    load: async () => (await import("./compile.ts")).command,
  },
  {
    name: "observe",
    summary: "record the flows zones in observe mode really use, for policy suggest",
    load: async () => (await import("./observe.ts")).command,
  },
  {
    name: "up",
    summary: "compile, start the stack contained, load the host rules, verify it live",
    load: async () => (await import("./up.ts")).command,
  },
  {
    name: "enforce",
    summary: "keep the host rules in step with the running containers",
    load: async () => (await import("./enforce.ts")).command,
  },
  {
    name: "verify",
    summary: "probe every flow in a network-namespace lab",
    load: async () => (await import("./verify.ts")).command,
  },
  {
    name: "gate",
    summary: "run the egress gateway (DNS + HTTP/CONNECT proxy)",
    load: async () => (await import("./gate.ts")).command,
  },
  {
    name: "approve",
    summary: "approve a pending egress request",
    load: async () => (await import("./approve.ts")).command,
  },
  {
    name: "deny",
    summary: "deny a pending egress request",
    load: async () => (await import("./approve.ts")).denyCommand,
  },
  {
    name: "policy",
    summary: "policy tools: suggest an egress allowlist from learn mode",
    load: async () => (await import("./policy-suggest.ts")).command,
  },
  {
    name: "run",
    summary: "run a command in a sandbox profile",
    load: async () => (await import("./run.ts")).command,
  },
  {
    name: "seal",
    summary: "encrypt data volumes at rest, their key from another machine",
    load: async () => (await import("./seal.ts")).command,
  },
  {
    name: "keys",
    summary: "the key service for sealed volumes (corral keys serve)",
    load: async () => (await import("./keys.ts")).command,
  },
  {
    name: "audit",
    summary: "the tamper-evident audit log: keygen, verify, tail, query, export",
    load: async () => (await import("./audit.ts")).command,
  },
  {
    name: "ui",
    summary: "serve the dashboard",
    load: async () => (await import("./ui.ts")).command,
  },
  {
    name: "schema",
    summary: "print or write the policy's JSON Schema",
    load: async () => (await import("./schema.ts")).command,
  },
];
