// Shell: the host end of a sandbox's only way out. A small HTTP proxy on the run's unix socket
// (bound into the sandbox, where netstub relays 127.0.0.1:3128 to it) that forwards every
// request and CONNECT to the gate's TCP address, replacing any Proxy-Authorization the
// sandboxed code sent with the run's own token — so code inside cannot claim another identity.
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { formatHostPort, type HostPort, reachableHostPort } from "../policy/host-port.ts";

export interface GateRequest {
  method: string;
  target: string;
  status: number;
}

export interface GateBridge {
  requests: GateRequest[];
  close(): Promise<void>;
}

/** Names the run in every request the gate sees; set here only, so the sandbox cannot forge it. */
export const RUN_HEADER = "x-corral-run";

const HOP = new Set([
  RUN_HEADER,
  "proxy-authorization",
  "proxy-connection",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
]);

function forwardHeaders(
  req: IncomingMessage,
  auth: string | undefined,
  runId: string | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  if (auth) out["proxy-authorization"] = auth;
  if (runId) out[RUN_HEADER] = runId;
  return out;
}

export async function startGateBridge(
  socketPath: string,
  gate: HostPort,
  token: string | undefined,
  runId?: string,
): Promise<GateBridge> {
  // A wildcard listen address means "this host": dial it on loopback.
  const { host, port } = reachableHostPort(gate);
  const gateAddr = formatHostPort(gate);
  const auth = token ? `Bearer ${token}` : undefined;
  const requests: GateRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const target = req.url ?? "";
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
      res
        .writeHead(400, { "content-type": "text/plain" })
        .end("corral: this is an HTTP proxy; send absolute-form requests or CONNECT\n");
      return;
    }
    const up = request(
      { host, port, method: req.method, path: target, headers: forwardHeaders(req, auth, runId), agent: false },
      (upRes) => {
        requests.push({ method: req.method ?? "GET", target, status: upRes.statusCode ?? 0 });
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", (err) => {
      requests.push({ method: req.method ?? "GET", target, status: 502 });
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`corral: gate unreachable at ${gateAddr}: ${err.message}\n`);
    });
    req.pipe(up);
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? "";
    const up = connect({ host, port });
    sockets.add(client).add(up);
    const done = () => {
      client.destroy();
      up.destroy();
    };
    client.on("error", done).on("close", done);
    up.on("error", () => {
      requests.push({ method: "CONNECT", target, status: 502 });
      client.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
    });
    up.on("close", done);
    up.once("connect", () => {
      const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
      if (auth) lines.push(`Proxy-Authorization: ${auth}`);
      if (runId) lines.push(`X-Corral-Run: ${runId}`);
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      up.once("data", (chunk: Buffer) => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.subarray(0, 32).toString("latin1"));
        requests.push({ method: "CONNECT", target, status: m ? Number(m[1]) : 0 });
        client.write(chunk);
        up.pipe(client);
        client.pipe(up);
      });
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolveListen());
  });
  return {
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
