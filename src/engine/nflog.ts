// Reading the kernel's connection log: the ruleset sends each new connection it refuses (and,
// in observe mode, each one it lets through) to an NFLOG group; ulogd2 (Debian's ulogd2 and
// ulogd2-json) turns those packets into JSON lines, and this reads the lines. No packet or
// netlink parsing of our own: ulogd2 decodes, JSON.parse and zod read.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { LOG_PREFIX } from "../compile/index.ts";
import { UserError } from "../policy/user-error.ts";
import type { ConnectionEvent } from "./observed-flows.ts";

export const ULOGD = "/usr/sbin/ulogd";
/** Debian's multiarch directory for ulogd2's plugins. */
const PLUGINS = `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/ulogd`;

/** ulogd2's configuration: NFLOG group → decoded fields → one JSON object per line in `jsonFile`. */
export function ulogdConfig(group: number, jsonFile: string, logFile: string, pluginDir = PLUGINS): string {
  const plugin = (name: string) => `plugin="${join(pluginDir, `ulogd_${name}.so`)}"`;
  return [
    "[global]",
    `logfile="${logFile}"`,
    "loglevel=3",
    plugin("inppkt_NFLOG"),
    plugin("raw2packet_BASE"),
    plugin("filter_IFINDEX"),
    plugin("filter_IP2STR"),
    plugin("output_JSON"),
    "stack=corral:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,json1:JSON",
    "",
    "[corral]",
    `group=${group}`,
    "",
    "[json1]",
    "sync=1",
    `file="${jsonFile}"`,
    "",
  ].join("\n");
}

const lineSchema = z.object({
  "oob.prefix": z.string(),
  "oob.time.sec": z.number(),
  "oob.time.usec": z.number().optional(),
  "oob.in": z.string().optional(),
  "oob.out": z.string().optional(),
  "ip.protocol": z.number().optional(),
  src_ip: z.string(),
  dest_ip: z.string(),
  src_port: z.number().optional(),
  dest_port: z.number().optional(),
});

const PROTOCOLS: Record<number, ConnectionEvent["protocol"]> = { 6: "tcp", 17: "udp", 1: "icmp" };

/** One JSON line of ulogd2 → an event; undefined for other prefixes, IPv6, or what is not ours. */
export function eventFromLine(line: string): ConnectionEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = lineSchema.safeParse(data);
  if (!parsed.success) return undefined;
  const l = parsed.data;
  const kind =
    l["oob.prefix"] === LOG_PREFIX.observe
      ? "observe"
      : l["oob.prefix"] === LOG_PREFIX.drop || l["oob.prefix"] === LOG_PREFIX.dropHost
        ? "drop"
        : undefined;
  if (!kind) return undefined;
  return {
    kind,
    src: l.src_ip,
    dst: l.dest_ip,
    protocol: PROTOCOLS[l["ip.protocol"] ?? -1] ?? "other",
    port: l.dest_port ?? 0,
    srcPort: l.src_port ?? 0,
    at: l["oob.time.sec"] * 1000 + Math.floor((l["oob.time.usec"] ?? 0) / 1000),
    ...(l["oob.in"] ? { in: l["oob.in"] } : {}),
    ...(l["oob.out"] ? { out: l["oob.out"] } : {}),
  };
}

export interface Cursor {
  file: string;
  inode: number;
  offset: number;
}

/**
 * The complete lines added to `file` since `cursor`, and the cursor after them. A partial last
 * line waits for the next read; a new file (rotated: another inode, or shorter than the
 * offset) is read from its start.
 */
export function readNewLines(
  file: string,
  cursor: Cursor | undefined,
  maxBytes = 4 << 20,
): { lines: string[]; cursor: Cursor } {
  if (!existsSync(file)) return { lines: [], cursor: cursor ?? { file, inode: 0, offset: 0 } };
  const fd = openSync(file, "r");
  try {
    const st = fstatSync(fd);
    const same = cursor && cursor.file === file && cursor.inode === st.ino && cursor.offset <= st.size;
    const start = same ? cursor.offset : 0;
    const length = Math.min(st.size - start, maxBytes);
    const buf = Buffer.alloc(length);
    const n = length > 0 ? readSync(fd, buf, 0, length, start) : 0;
    const text = buf.subarray(0, n);
    const end = text.lastIndexOf(0x0a);
    if (end < 0) return { lines: [], cursor: { file, inode: st.ino, offset: start } };
    const lines = text
      .subarray(0, end)
      .toString("utf8")
      .split("\n")
      .filter((l) => l.length > 0);
    return { lines, cursor: { file, inode: st.ino, offset: start + end + 1 } };
  } finally {
    closeSync(fd);
  }
}

export interface UlogdProcess {
  jsonFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts ulogd2 on `group` (inside `netns` when given) writing JSON lines under `dir`. */
export async function startUlogd(options: { group: number; dir: string; netns?: string }): Promise<UlogdProcess> {
  if (!existsSync(ULOGD))
    throw new UserError(`${ULOGD} not found: observe mode reads the kernel's log through ulogd2`, {
      hint: "apt-get install ulogd2 ulogd2-json",
    });
  const jsonFile = join(options.dir, "nflog.json");
  const logFile = join(options.dir, "ulogd.log");
  const conf = join(options.dir, "ulogd.conf");
  writeFileSync(conf, ulogdConfig(options.group, jsonFile, logFile), { mode: 0o600 });
  const argv = options.netns ? ["ip", "netns", "exec", options.netns, ULOGD, "-c", conf] : [ULOGD, "-c", conf];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  // ulogd says it is ready in its own log; a failure (the group taken, no NFLOG) exits at once.
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new UserError(`ulogd2 exited at start: ${stderr.trim() || readTail(logFile)}`, {
        hint: `is another process reading NFLOG group ${options.group}? pick another with --log-group`,
      });
    if (readTail(logFile).includes("entering main loop")) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    jsonFile,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

function readTail(file: string): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, "r");
    try {
      const len = Math.min(size, 8192);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}
