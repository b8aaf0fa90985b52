// The process the lab runs inside a service's namespace (via `ip netns exec`), and `verify --live`
// inside a container's (via nsenter, so the image needs no tools):
//   node agent.ts listen '<json ports>'   answers TCP connects and UDP datagrams on every port
//   node agent.ts probe                   reads [{id,host,port,protocol}] on stdin, prints results
// Kept small (node's own modules and dns-packet) so it starts fast in each namespace.
import { createSocket } from "node:dgram";
import { createConnection, createServer } from "node:net";
import dnsPacket from "dns-packet";

interface Port {
  port: number;
  protocol: "tcp" | "udp";
  /** Address to bind (default every address). */
  bind?: string;
  /** A port the container's own service already holds is left to it (live containers). */
  optional?: boolean;
}
interface Probe extends Port {
  id: number;
  host: string;
  timeoutMs?: number;
  /**
   * Reachability, not an answer: a refused connection (TCP reset, ICMP port unreachable) proves
   * the packet got through. Live containers have no Corral listener on every port.
   */
  reach?: boolean;
  /** Ask the HTTP proxy at host:port to CONNECT to this `name:port`; open when it does not refuse (403/407). */
  proxy?: string;
}
interface Result {
  id: number;
  open: boolean;
  status?: number;
}

const DNS_QUERY = dnsPacket.encode({
  type: "query",
  id: 0xc0a5,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: "A", name: "corral.invalid" }],
});
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
          server.on("error", (err: NodeJS.ErrnoException) =>
            p.optional && err.code === "EADDRINUSE" ? resolve() : reject(err),
          );
          server.listen(p.port, p.bind ?? "0.0.0.0", () => resolve());
        } else {
          const sock = createSocket("udp4");
          sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address, () => undefined));
          sock.on("error", (err: NodeJS.ErrnoException) =>
            p.optional && err.code === "EADDRINUSE" ? resolve() : reject(err),
          );
          sock.bind(p.port, p.bind ?? "0.0.0.0", () => resolve());
        }
      }),
  );
  await Promise.all(pending);
  process.stdout.write("ready\n");
}

const refused = (err: NodeJS.ErrnoException) => err.code === "ECONNREFUSED";

function proxyProbe(p: Probe & { proxy: string }): Promise<Result> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: p.host, port: p.port });
    let text = "";
    const done = (status: number | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({
        id: p.id,
        open: status !== undefined && status !== 403 && status !== 407,
        ...(status ? { status } : {}),
      });
    };
    // The gate may try the upstream before it answers: give it longer than a bare connect.
    const timer = setTimeout(() => done(undefined), (p.timeoutMs ?? TIMEOUT_MS) * 5);
    sock.once("connect", () => sock.write(`CONNECT ${p.proxy} HTTP/1.1\r\nHost: ${p.proxy}\r\n\r\n`));
    sock.on("data", (d) => {
      text += d.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (m) done(Number(m[1]));
    });
    sock.once("error", () => done(undefined));
    sock.once("close", () => done(undefined));
  });
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
      sock.once("error", (err) => done(Boolean(p.reach) && refused(err)));
    } else {
      const sock = createSocket("udp4");
      let finished = false;
      const done = (ok: boolean) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        sock.close();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), p.timeoutMs ?? TIMEOUT_MS);
      sock.once("message", () => done(true));
      sock.once("error", (err) => done(Boolean(p.reach) && refused(err)));
      // Connected, so an ICMP port unreachable comes back as ECONNREFUSED. The payload is a DNS
      // query (corral.invalid, A): a DNS server on the port answers it, Corral's listener echoes it.
      // The callback can come after the timer closed the socket (a lookup that never ends).
      sock.connect(p.port, p.host, (err?: Error) => {
        if (err) done(Boolean(p.reach) && refused(err as NodeJS.ErrnoException));
        else if (!finished) sock.send(DNS_QUERY);
      });
    }
  });
}

async function probe(): Promise<void> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const probes = JSON.parse(text) as Probe[];
  const results: Result[] = [];
  const queue = [...probes];
  // Bounded parallelism: every blocked probe costs one timeout, so run them side by side.
  const workers = Array.from({ length: Math.min(256, queue.length) }, async () => {
    for (let p = queue.shift(); p; p = queue.shift())
      results.push(p.proxy ? await proxyProbe({ ...p, proxy: p.proxy }) : { id: p.id, open: await probeOne(p) });
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
