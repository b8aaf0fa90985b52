// A loopback TCP echo server in its own process (so its sockets do not count against the
// caller's fd limit): `node bench/gate/echo-server.ts HOST[,HOST…] PORT` listens on one port
// on every HOST. Prints "ready PORT" when listening.
import net from "node:net";

const [hostList = "127.0.0.2", portArg = "0"] = process.argv.slice(2);
const onConn = (s: net.Socket) => {
  s.on("error", () => {});
  s.pipe(s);
};
let port = Number(portArg);
for (const host of hostList.split(",")) {
  const server = net.createServer(onConn);
  await new Promise<void>((resolve) =>
    server.listen({ host, port, backlog: 4096 }, () => {
      port = (server.address() as net.AddressInfo).port;
      resolve();
    }),
  );
}
process.stdout.write(`ready ${port}\n`);
process.on("SIGTERM", () => process.exit(0));
