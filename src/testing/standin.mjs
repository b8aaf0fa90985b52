// The stand-in for a stack's real images (none can be pulled in the sealed engine): it listens
// where the service would, so Corral's probes meet a socket, and answers a healthcheck, so
// `depends_on: service_healthy` and `compose up --wait` behave as with the real image.
//
//   STANDIN_PORTS="5432/tcp 9000-9001/tcp 53/udp"  node standin.mjs           serve, forever
//   STANDIN_PORTS=…                                node standin.mjs --health  exit 0 when every TCP port answers
//
// Any other argument is ignored: the override replaces the service's command, but a stand-in that
// is given one anyway must still come up.
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";

const ports = (process.env.STANDIN_PORTS ?? "")
  .split(/[\s,]+/)
  .filter(Boolean)
  .flatMap((spec) => {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(spec);
    if (!m) throw new Error(`STANDIN_PORTS: not a port: ${spec}`);
    const from = Number(m[1]);
    const to = Number(m[2] ?? m[1]);
    const out = [];
    for (let p = from; p <= to; p++) out.push({ port: p, protocol: m[3] ?? "tcp" });
    return out;
  });

if (process.argv.includes("--health")) {
  // Services sharing one network namespace (network_mode: service:…) may each name the same
  // port; whichever bound it answers, and that is what a client of the namespace would see.
  const tcp = ports.filter((p) => p.protocol === "tcp");
  let pending = tcp.length;
  if (pending === 0) process.exit(0);
  for (const { port } of tcp) {
    const s = connect(port, "127.0.0.1", () => {
      s.destroy();
      if (--pending === 0) process.exit(0);
    });
    s.on("error", () => process.exit(1));
  }
  setTimeout(() => process.exit(1), 2000).unref();
} else {
  for (const { port, protocol } of ports) {
    // A port another service of the same namespace holds is served already: not an error.
    const busy = (err) => {
      if (err.code !== "EADDRINUSE") throw err;
      console.log(`standin: ${port}/${protocol} held by a neighbour in this namespace`);
    };
    if (protocol === "tcp") {
      createServer((c) => {
        c.on("error", () => undefined);
        c.end();
      })
        .on("error", busy)
        .listen(port, "0.0.0.0");
    } else {
      // Echo: a UDP probe counts as answered only when something comes back.
      const u = createSocket("udp4");
      u.on("error", busy);
      u.on("message", (msg, from) => u.send(msg, from.port, from.address));
      u.bind(port, "0.0.0.0");
    }
  }
  console.log(`standin: serving ${ports.map((p) => `${p.port}/${p.protocol}`).join(" ") || "no ports"}`);
  // Nothing else keeps the process alive when it serves no ports.
  setInterval(() => undefined, 1 << 30);
  // PID 1 gets no default signal handlers: without these, `compose down` waits out its timeout.
  for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
}
