// A stand-in for the internet inside a test's sealed namespace: a DNS server that answers every
// name with this host's address, an HTTP origin on port 80 that says who it is, and, given a
// directory with origin.key and origin.crt, an HTTPS origin on 443 that answers with what it
// received (the Authorization header included: what a brokered request carried). Run inside the
// namespace: node upstream.mjs <address> <project root> [tls dir]. Prints "ready" once all listen.

import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { createRequire } from "node:module";
import { join } from "node:path";

const [address, root, tlsDir] = process.argv.slice(2);
const dns = createRequire(join(root, "package.json"))("dns-packet");

const udp = createSocket("udp4");
udp.on("message", (msg, rinfo) => {
  let q;
  try {
    q = dns.decode(msg);
  } catch {
    return;
  }
  const question = q.questions?.[0];
  const answers = question?.type === "A" ? [{ type: "A", name: question.name, ttl: 30, data: address }] : [];
  udp.send(
    dns.encode({
      type: "response",
      id: q.id,
      flags: dns.RECURSION_DESIRED | dns.RECURSION_AVAILABLE,
      questions: q.questions,
      answers,
    }),
    rinfo.port,
    rinfo.address,
  );
});
const http = createServer((req, res) => res.end(`corral-origin ${req.headers.host}\n`));
const listening = [new Promise((r) => udp.bind(53, address, r)), new Promise((r) => http.listen(80, address, r))];
if (tlsDir) {
  const tls = createTlsServer(
    { key: readFileSync(join(tlsDir, "origin.key")), cert: readFileSync(join(tlsDir, "origin.crt")) },
    (req, res) => {
      req.resume();
      req.on("end", () =>
        res.end(
          JSON.stringify({
            host: req.headers.host,
            url: req.url,
            method: req.method,
            authorization: req.headers.authorization ?? null,
          }),
        ),
      );
    },
  );
  listening.push(new Promise((r) => tls.listen(443, address, r)));
}
await Promise.all(listening);
process.stdout.write("ready\n");
