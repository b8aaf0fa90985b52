// The process the lab runs inside a service's namespace (via `ip netns exec`):
//   node agent.ts listen '<json ports>'   answers TCP connects and UDP datagrams on every port
//   node agent.ts probe                   reads [{id,host,port,protocol}] on stdin, prints results
// Kept dependency-free so it starts fast in each namespace.
import { createSocket } from "node:dgram";
import { createConnection, createServer } from "node:net";

interface Port {
  port: number;
  protocol: "tcp" | "udp";
  /** Address to bind (default every address). */
  bind?: string;
}
interface Probe extends Port {
  id: number;
  host: string;
  timeoutMs?: number;
}

const TIMEOUT_MS = Number(process.env.CORRAL_PROBE_TIMEOUT_MS ?? 400);

async function listen(ports: Port[]): Promise<void> {
  const pending = ports.map(
    (p) =>
      new Promise<void>((resolve, reject) => {
        if (p.protocol === "tcp") {
          const server = createServer((sock) => {
            // Probers hang up at once; a reset must not kill the listener.
            sock.on("error", () => undefined);
            sock.end("corral\n");
          });
          server.on("error", reject);
          server.listen(p.port, p.bind ?? "0.0.0.0", () => resolve());
        } else {
          const sock = createSocket("udp4");
          sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address, () => undefined));
          sock.on("error", reject);
          sock.bind(p.port, p.bind ?? "0.0.0.0", () => resolve());
        }
      }),
  );
  await Promise.all(pending);
  process.stdout.write("ready\n");
}

function probeOne(p: Probe): Promise<boolean> {
  return new Promise((resolve) => {
    if (p.protocol === "tcp") {
      const sock = createConnection({ host: p.host, port: p.port });
      const done = (ok: boolean) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), p.timeoutMs ?? TIMEOUT_MS);
      sock.once("connect", () => done(true));
      sock.once("error", () => done(false));
    } else {
      const sock = createSocket("udp4");
      const done = (ok: boolean) => {
        clearTimeout(timer);
        sock.close();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), p.timeoutMs ?? TIMEOUT_MS);
      sock.once("message", () => done(true));
      sock.once("error", () => done(false));
      sock.send(Buffer.from("corral-probe"), p.port, p.host);
    }
  });
}

async function probe(): Promise<void> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const probes = JSON.parse(text) as Probe[];
  const results: Array<{ id: number; open: boolean }> = [];
  const queue = [...probes];
  // Bounded parallelism: every blocked probe costs one timeout, so run them side by side.
  const workers = Array.from({ length: Math.min(256, queue.length) }, async () => {
    for (let p = queue.shift(); p; p = queue.shift()) results.push({ id: p.id, open: await probeOne(p) });
  });
  await Promise.all(workers);
  process.stdout.write(JSON.stringify(results));
}

const [mode, arg] = process.argv.slice(2);
if (mode === "listen") await listen(JSON.parse(arg ?? "[]") as Port[]);
else if (mode === "probe") await probe();
else {
  process.stderr.write("usage: agent.ts listen '<ports json>' | agent.ts probe < probes.json\n");
  process.exit(2);
}
