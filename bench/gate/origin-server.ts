// A minimal keep-alive HTTP origin for the forward benchmark, in its own process so it is not
// what limits the numbers: answers every request head with a fixed 200.
//   node bench/gate/origin-server.ts HOST PORT   → prints "ready PORT"
import net from "node:net";

const [host = "127.0.0.2", port = "0"] = process.argv.slice(2);
const RESPONSE = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
const server = net.createServer((s) => {
  s.setNoDelay(true);
  s.on("error", () => {});
  let pending = "";
  s.on("data", (d) => {
    pending += d.toString("latin1");
    let i = pending.indexOf("\r\n\r\n");
    while (i >= 0) {
      s.write(RESPONSE);
      pending = pending.slice(i + 4);
      i = pending.indexOf("\r\n\r\n");
    }
  });
});
server.listen({ host, port: Number(port), backlog: 4096 }, () =>
  process.stdout.write(`ready ${(server.address() as net.AddressInfo).port}\n`),
);
process.on("SIGTERM", () => process.exit(0));
