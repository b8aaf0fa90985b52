// `corral audit witness`: a C2SP tlog-witness over HTTP. POST /add-checkpoint is the protocol;
// GET /checkpoint?origin=O (Corral's addition) returns the latest cosigned checkpoint of a log,
// which is what `corral audit verify --witness` compares the local log with. Requests are taken
// one at a time: the state is read, decided on, written and synced before the answer leaves.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HostPort } from "../policy/host-port.ts";
import { httpUrlOf } from "../policy/host-port.ts";
import type { NoteKey, NoteSigner } from "./signed-note.ts";
import { verifierKey } from "./signed-note.ts";
import { addCheckpoint, type WitnessState, witnessVerifierKey } from "./witness-core.ts";
import { loadOrCreateWitnessKey, readWitnessState, writeWitnessState } from "./witness-state.ts";

const MAX_BODY = 64 * 1024;

export interface WitnessServerOptions {
  listen: HostPort;
  stateDir: string;
  /** logs served, by origin, with the key each signs with */
  logs: ReadonlyMap<string, NoteKey>;
  name: string;
  now?: () => number;
  onEvent?: (line: string) => void;
}

export interface RunningWitness {
  url: string;
  signer: NoteSigner;
  /** the verifier key line written to DIR/witness.pub */
  verifierKey: string;
  created: boolean;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startWitness(opts: WitnessServerOptions): Promise<RunningWitness> {
  const { signer, created } = loadOrCreateWitnessKey(opts.stateDir, opts.name);
  let state: WitnessState = readWitnessState(opts.stateDir);
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => T | Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://witness");
    const send = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === "GET" && url.pathname === "/checkpoint") {
      const entry = state[url.searchParams.get("origin") ?? ""];
      if (!entry?.note) return send(404, "no checkpoint cosigned for that origin\n");
      return send(200, entry.note);
    }
    if (req.method !== "POST" || url.pathname !== "/add-checkpoint") return send(404, "not found\n");
    readBody(req)
      .then((body) =>
        serial(() => {
          if (body === undefined) return send(413, "request too large\n");
          const answer = addCheckpoint(body, state, opts.logs, signer, now());
          if (answer.status === 200) {
            // Durable before the cosignature leaves: a crash after this line never forgets it.
            writeWitnessState(opts.stateDir, answer.state);
            state = answer.state;
          }
          const origin = body.split("\n\n")[1]?.split("\n")[0] ?? "?";
          opts.onEvent?.(
            `${answer.status} ${origin} ${answer.status === 200 ? `size ${answer.state[origin]?.size}` : answer.body}`,
          );
          if (answer.status === 409) return send(409, `${answer.body}\n`, "text/x.tlog.size");
          return send(answer.status, answer.status === 200 ? answer.body : `${answer.body}\n`);
        }),
      )
      .catch((err: Error) => {
        opts.onEvent?.(`500 ${err.message}`);
        if (!res.headersSent) send(500, "witness error\n");
      });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: httpUrlOf({ host: opts.listen.host, port: addr.port }),
    signer,
    verifierKey: verifierKey(witnessVerifierKey(signer)),
    created,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
