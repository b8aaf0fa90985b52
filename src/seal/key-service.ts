// `corral keys serve`: the volume keys live here, on another machine, and reach a host only
// sealed to that host's ephemeral key and signed by this service (key-exchange.ts). Hosts
// present the bearer token; each key request is one log line (never the key).
//   POST /v1/volumes/:name/create {epk}          a new volume, version 1 (409 if it exists)
//   POST /v1/volumes/:name/key    {epk, version?} the current (or a given) version
//   POST /v1/volumes/:name/rotate {epk}          a new version, pending until commit
//   POST /v1/volumes/:name/commit {version}      the pending version becomes current
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type HostPort, httpUrlOf } from "../policy/host-port.ts";
import { sealKey } from "./key-exchange.ts";
import { openKeyStore } from "./key-store.ts";

const MAX_BODY = 4096;
const VOLUME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface KeyServiceOptions {
  listen: HostPort;
  stateDir: string;
  onEvent?: (line: string) => void;
}

export interface RunningKeyService {
  url: string;
  publicPem: string;
  tokenPath: string;
  created: boolean;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        resolve(v && typeof v === "object" && !Array.isArray(v) ? v : undefined);
      } catch {
        resolve(undefined);
      }
    });
    req.on("error", () => resolve(undefined));
  });
}

export async function startKeyService(opts: KeyServiceOptions): Promise<RunningKeyService> {
  const { store, created } = openKeyStore(opts.stateDir);
  const token = Buffer.from(store.token);
  const authorized = (req: IncomingMessage) => {
    const given = Buffer.from((req.headers.authorization ?? "").replace(/^Bearer /, ""));
    return given.length === token.length && timingSafeEqual(given, token);
  };
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    const m = /^\/v1\/volumes\/([^/]+)\/(create|key|rotate|commit)$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) return send(404, { error: "not found" });
    if (!authorized(req)) {
      opts.onEvent?.(`401 ${req.socket.remoteAddress} ${m[2]} ${m[1]}`);
      return send(401, { error: "missing or wrong bearer token" });
    }
    const name = decodeURIComponent(m[1]!);
    if (!VOLUME.test(name)) return send(400, { error: "a volume name is letters, digits, '_', '.', '-'" });
    const b = await body(req);
    if (!b) return send(400, { error: "expected a JSON object of at most 4 KiB" });
    const action = m[2]!;
    const entry = store.volumes[name];
    const answer = (version: number) => {
      const key = Buffer.from(store.volumes[name]!.versions[String(version)]!, "base64");
      opts.onEvent?.(`200 ${req.socket.remoteAddress} ${action} ${name} v${version}`);
      return send(200, sealKey(key, name, version, String(b.epk), store.identity));
    };
    try {
      if (action === "commit") {
        if (!entry || entry.pending === undefined || entry.pending !== b.version)
          return send(409, { error: `no pending version ${String(b.version)}` });
        entry.current = entry.pending;
        delete entry.pending;
        store.save();
        opts.onEvent?.(`200 ${req.socket.remoteAddress} commit ${name} v${entry.current}`);
        return send(200, { current: entry.current });
      }
      if (typeof b.epk !== "string") return send(400, { error: "epk (the host's X25519 key, base64) is required" });
      if (action === "create") {
        if (entry) return send(409, { error: `volume ${name} exists` });
        store.volumes[name] = { current: 1, versions: { "1": randomBytes(32).toString("base64") } };
        store.save();
        return answer(1);
      }
      if (!entry) return send(404, { error: `no volume ${name}` });
      if (action === "rotate") {
        const next = Math.max(...Object.keys(entry.versions).map(Number)) + 1;
        entry.versions[String(next)] = randomBytes(32).toString("base64");
        entry.pending = next;
        store.save();
        return answer(next);
      }
      const version = b.version === undefined ? entry.current : Number(b.version);
      if (!entry.versions[String(version)]) return send(404, { error: `no version ${version} of ${name}` });
      return answer(version);
    } catch (err) {
      opts.onEvent?.(`500 ${action} ${name}: ${(err as Error).message}`);
      return send(500, { error: "key service error" });
    }
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: httpUrlOf({ host: opts.listen.host, port: addr.port }),
    publicPem: store.publicPem,
    tokenPath: `${opts.stateDir}/token`,
    created,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
