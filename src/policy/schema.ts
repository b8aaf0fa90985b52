// The policy language (`corral.yaml`, version 1) as a zod schema: the single source of the
// types, the validation and the exported JSON Schema. Semantic checks that need the whole file
// (names resolve, CIDRs do not overlap, wildcards are not too broad) live in check.ts.
import { z } from "zod";
import { parseHostPort } from "./host-port.ts";
import { PLACEHOLDER_FORMATS } from "./placeholder.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const name = z.string().regex(NAME, { message: "a name of letters, digits, '_', '.' or '-'" });

/** `5432/tcp`, `53/udp`, `8000-8100/tcp`, or a bare port (tcp). */
export const PORT_SPEC = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/;
const portSpec = z
  .union([z.number().int(), z.string()])
  .transform((v) => String(v))
  .pipe(z.string().regex(PORT_SPEC, { message: "a port like 5432/tcp, 53/udp or 8000-8100/tcp" }));

const nameList = z.union([name, z.array(name).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

const duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, { message: "a duration like 60s, 5m or 1h" }),
  ])
  .describe("seconds as a number, or a duration like 500ms, 60s, 5m, 1h");

const size = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(\.\d+)?([KMGT]i?|[kmgt]b?|[KMGT]B)?$/, { message: "a size like 512Mi or 1G" }),
  ])
  .describe("bytes as a number, or a size like 512Mi, 1Gi, 500M");

/** `host:port`, `host` alone, `[v6]:port`, or `0.0.0.0:53`. Checked in check.ts. */
/** Parsed here, once: every consumer gets `{host, port}`. */
const hostPort = (examples: string) =>
  z
    .string()
    .transform((text, ctx) => {
      const hp = parseHostPort(text);
      if (hp) return hp;
      ctx.addIssue({
        code: "custom",
        message: "an IP address and port",
        params: { hint: `write it like ${examples}` },
      });
      return z.NEVER;
    })
    .describe("IP:port or [IPv6]:port");
const listenAddress = hostPort("127.0.0.1:3128, 0.0.0.0:3128 or [::1]:3128");

export const zoneSchema = z
  .strictObject({
    services: z.array(z.string().min(1)).default([]).describe("service names or globs (`agent-*`)"),
    labels: z.record(z.string(), z.string()).optional().describe("services whose labels all match join the zone"),
    isolate: z
      .enum(["shared", "per-service"])
      .default("shared")
      .describe("per-service: members may not talk to each other unless a flow says so"),
    subnet: z.string().optional().describe("CIDR for this zone's network; allocated deterministically when absent"),
    mode: z
      .enum(["enforce", "observe"])
      .optional()
      .describe(
        "observe: connections from or to members that the policy would deny are logged and let through, to learn the real flows (corral observe, corral policy suggest); default: the top-level mode",
      ),
    description: z.string().optional(),
  })
  .describe("a named group of services");

export const flowSchema = z.strictObject({
  name: z.string().optional(),
  from: nameList.describe("zones, services or identities"),
  to: nameList.describe("zones or services; `host` is the Docker host itself"),
  ports: z.array(portSpec).min(1, { message: "at least one port, e.g. [5432/tcp]" }),
});

export const publishSchema = z.strictObject({
  service: name,
  port: portSpec.describe("container port, e.g. 80/tcp"),
  host: z
    .string()
    .optional()
    .describe("host address, optionally with port: 127.0.0.1:3000 (default address 127.0.0.1)"),
});

export const identitySchema = z
  .strictObject({
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "an environment variable name" })
      .optional(),
    source: z.array(z.string()).optional().describe("source CIDRs that identify this client at the gate"),
    services: z.array(z.string()).optional().describe("compose services whose addresses identify this client"),
  })
  .describe("a client of the gate beyond the services themselves");

export const egressSchema = z.strictObject({
  name: z.string().optional(),
  from: nameList,
  allow: z
    .array(z.string().min(1))
    .default([])
    .describe("host[:port], *.one-label.example[:port], **.any-depth.example[:port], CIDR[:port]"),
  deny: z.array(z.string().min(1)).default([]),
  mode: z.enum(["enforce", "report", "learn"]).default("enforce"),
  approval: z.enum(["ask", "never"]).default("never"),
});

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "an environment variable name" });

/** `POST /v1/chat/completions`, `GET /v1/`, `* /v1/models`: a method (or `*`) and a path prefix. */
export const REQUEST_MATCH = /^([A-Z]+|\*) (\/[^\s?#]*)$/;
const requestMatch = z.string().regex(REQUEST_MATCH, {
  message: "a method and a path prefix, like 'POST /v1/chat/completions' or '* /v1/'",
});

export const credentialSchema = z
  .strictObject({
    value: z
      .union([z.strictObject({ env: envName }), z.strictObject({ file: z.string().min(1) })])
      .describe("where the gate reads the real value: its own environment variable, or a file it can read"),
    agent_env: envName
      .optional()
      .describe(
        "the variable the agents read the key from; default: value.env, else the credential's name in capitals",
      ),
    for: nameList.describe("zones, services or identities that may use the credential"),
    to: z.strictObject({
      host: z.string().min(1).describe("the one host the real value is sent to"),
      port: z.number().int().min(1).max(65535).default(443),
      methods: z.array(z.string().regex(/^[A-Z]+$/, { message: "an HTTP method in capitals" })).optional(),
      paths: z.array(z.string().regex(/^\//, { message: "a path prefix starting with /" })).optional(),
    }),
    send: z
      .union([
        z.enum(["bearer", "basic"]),
        z.strictObject({ header: z.string().regex(/^[A-Za-z0-9-]+$/, { message: "a header name" }) }),
        z.strictObject({ query: z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: "a query parameter name" }) }),
      ])
      .default("bearer")
      .describe(
        "how the key travels: Authorization Bearer, Basic (the key as the password), a named header, a query parameter",
      ),
    format: z
      .enum(PLACEHOLDER_FORMATS)
      .optional()
      .describe(
        "the shape of the agents' placeholder (so SDK format checks pass); default: guessed from the variable name",
      ),
  })
  .describe(
    "an API key the agents never hold: they get a placeholder, the gate swaps in the value toward its destination",
  );

export const requestRuleSchema = z.strictObject({
  name: z.string().optional(),
  from: nameList,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(443),
  allow: z.array(requestMatch).default([]).describe("requests let through; others are denied"),
  deny: z.array(requestMatch).default([]).describe("requests denied even when an allow entry matches"),
});

export const floorSchema = z.strictObject({
  allow_ranges: z.array(z.string()).default([]).describe("internal ranges the gate may reach despite the SSRF floor"),
});

export const dnsSchema = z.strictObject({
  upstreams: z.array(hostPort("1.1.1.1:53 or [2606:4700:4700::1111]:53")).min(1).prefault(["1.1.1.1:53", "9.9.9.9:53"]),
  deny_answer: z.enum(["nxdomain", "refused"]).default("nxdomain"),
  timeout: duration.default("2s"),
  retries: z.number().int().min(0).max(5).default(2),
  cache_max: z.number().int().positive().default(10000),
});

export const gateSchema = z.strictObject({
  listen: z
    .strictObject({
      proxy: listenAddress.prefault("127.0.0.1:3128"),
      dns: listenAddress.prefault("127.0.0.1:5353"),
      admin: listenAddress.prefault("127.0.0.1:9099"),
    })
    .prefault({}),
  limits: z
    .strictObject({
      max_connections: z.number().int().positive().default(20000),
      per_identity_connections: z.number().int().positive().default(512),
      per_identity_rps: z.number().positive().default(200),
      header_bytes: z.number().int().positive().default(16384),
      header_count: z.number().int().positive().default(100),
      header_timeout: duration.default("10s"),
      idle_timeout: duration.default("300s"),
      /** how long the gate waits for an upstream to accept a connection (then 504) */
      connect_timeout: duration.default("10s"),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      webhook: z.string().url().optional(),
      deny_burst: z.number().int().positive().default(20),
      fanout: z.number().int().positive().default(30),
      window: duration.default("60s"),
      nxdomain_ratio: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  state_dir: z.string().optional().describe("where approvals and learned destinations are kept"),
});

export const sandboxProfileSchema = z.strictObject({
  network: z.enum(["none", "gate"]).default("none"),
  filesystem: z
    .strictObject({
      read: z.array(z.string()).default([]),
      write: z.array(z.string()).default([]),
      deny: z.array(z.string()).default([]),
    })
    .prefault({}),
  limits: z
    .strictObject({
      memory: size.optional(),
      swap: size.optional(),
      pids: z.number().int().positive().optional(),
      cpu: z.number().positive().optional().describe("CPUs, e.g. 1.0"),
      wall: duration.optional(),
      nofile: z.number().int().positive().optional(),
      fsize: size.optional(),
    })
    .prefault({}),
  syscalls: z
    .strictObject({
      allow: z.array(z.string()).default([]).describe("syscalls removed from the default deny set"),
      deny: z.array(z.string()).default([]).describe("syscalls added to the deny set"),
    })
    .prefault({}),
  env: z.array(z.string()).default([]).describe("environment variables passed through (others are scrubbed)"),
});

export const sandboxSchema = z.strictObject({
  profiles: z.record(name, sandboxProfileSchema).default({}),
});

export const auditSchema = z.strictObject({
  path: z.string().min(1),
  checkpoint: z
    .strictObject({
      every: z.number().int().positive().default(1000),
      interval: duration.optional(),
      key: z.string().min(1),
    })
    .optional(),
  fsync: z.enum(["record", "batch", "none"]).default("batch"),
  aggregate_allowed: z.boolean().default(true),
  origin: z
    .string()
    .regex(/^[^\s+]+$/, "an origin without spaces or '+', e.g. corral.example/audit")
    .optional()
    .describe("the log's name in its checkpoints (C2SP origin) and at witnesses; default corral.local/audit"),
  witnesses: z
    .array(
      z.strictObject({
        url: z.string().regex(/^https?:\/\/[^/\s]+\/?$/, "a witness base URL, e.g. http://witness.example:7380"),
        key: z.string().min(1).describe("path to the witness's witness.pub"),
      }),
    )
    .default([])
    .describe("C2SP tlog-witnesses that cosign each checkpoint (corral audit witness)"),
  anchor_sinks: z
    .array(
      z.union([
        z.strictObject({
          syslog: z.string().regex(/^(udp|tcp):\/\/[^/\s]+:\d+$/, "udp://HOST:PORT or tcp://HOST:PORT"),
        }),
        z.strictObject({ webhook: z.string().regex(/^https?:\/\/\S+$/, "an http(s) URL") }),
      ]),
    )
    .default([])
    .describe("copies of each checkpoint sent off the host (remote syslog, webhook) to verify against"),
  retention: z
    .strictObject({
      keep_segments: z.number().int().min(1).describe("segments kept; older ones give way to a signed summary"),
    })
    .optional()
    .describe("prune old segments at rotation (never past what the witnesses cosigned)"),
});

export const sealSchema = z.strictObject({
  dir: z
    .string()
    .min(1)
    .default("/var/lib/corral/sealed")
    .describe("where the cipher directories and mountpoints live"),
  key_service: z
    .strictObject({
      url: z.string().regex(/^https?:\/\/[^/\s]+\/?$/, "the key service's base URL, e.g. http://keys.example:7390"),
      key: z.string().min(1).describe("path to the service's identity.pub (pinned)"),
      token: z.string().min(1).describe("path to a file with the service's bearer token"),
    })
    .optional()
    .describe("corral keys serve, on another machine: the volume keys never rest on this host"),
  volumes: z
    .record(
      name,
      z.strictObject({
        key_file: z
          .string()
          .min(1)
          .optional()
          .describe("a key file on this host instead of the key service (weaker: reported as such)"),
      }),
    )
    .default({})
    .describe("compose volumes kept encrypted at rest (gocryptfs), by volume name"),
});

export const uiSchema = z.strictObject({
  listen: listenAddress.prefault("127.0.0.1:9443"),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  state_dir: z.string().optional(),
});

export const policySchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1, { message: "version 1 (the only version so far)" }),
  project: z.string().optional(),
  mode: z
    .enum(["enforce", "observe"])
    .default("enforce")
    .describe("every zone's mode unless the zone sets its own: observe a new stack first, then enforce"),
  zones: z.record(name, zoneSchema).default({}),
  flows: z.array(flowSchema).default([]),
  publish: z.array(publishSchema).default([]),
  identities: z.record(name, identitySchema).default({}),
  egress: z.array(egressSchema).default([]),
  credentials: z.record(name, credentialSchema).default({}),
  requests: z.array(requestRuleSchema).default([]),
  floor: floorSchema.prefault({}),
  dns: dnsSchema.prefault({}),
  gate: gateSchema.prefault({}),
  sandbox: sandboxSchema.prefault({}),
  audit: auditSchema.optional(),
  seal: sealSchema.optional(),
  ui: uiSchema.optional(),
});

export type Policy = z.infer<typeof policySchema>;
export type Zone = z.infer<typeof zoneSchema>;
export type Flow = z.infer<typeof flowSchema>;
export type Publish = z.infer<typeof publishSchema>;
export type Identity = z.infer<typeof identitySchema>;
export type EgressRule = z.infer<typeof egressSchema>;
export type SandboxProfile = z.infer<typeof sandboxProfileSchema>;
export type AuditConfig = z.infer<typeof auditSchema>;
export type GateConfig = z.infer<typeof gateSchema>;
export type DnsConfig = z.infer<typeof dnsSchema>;
export type Credential = z.infer<typeof credentialSchema>;
export type RequestRule = z.infer<typeof requestRuleSchema>;
