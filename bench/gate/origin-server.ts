// A minimal keep-alive HTTP origin for the forward benchmark, in its own process so it is not
// what limits the numbers: answers every request head with a fixed 200. Given a key and a
// certificate it speaks TLS (the HTTPS benchmark's origin).
//   node bench/gate/origin-server.ts HOST PORT [KEY CERT]   → prints "ready PORT"
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const [host = "127.0.0.2", port = "0", keyFile, certFile] = process.argv.slice(2);
const RESPONSE = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
const serve = (s: net.Socket) => {
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
};
const server =
  keyFile && certFile
    ? tls.createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile), ALPNProtocols: ["http/1.1"] }, serve)
    : net.createServer(serve);
server.listen({ host, port: Number(port), backlog: 4096 }, () =>
  process.stdout.write(`ready ${(server.address() as net.AddressInfo).port}\n`),
);
process.on("SIGTERM", () => process.exit(0));
