// A stand-in for the internet inside a test's sealed namespace: a DNS server that answers every
// name with this host's address, and an HTTP origin on port 80 that says who it is. Run inside the
// namespace: node upstream.mjs <address> <project root>. Prints "ready" once both listen.
import { createSocket } from "node:dgram";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";

const [address, root] = process.argv.slice(2);
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
await Promise.all([new Promise((r) => udp.bind(53, address, r)), new Promise((r) => http.listen(80, address, r))]);
process.stdout.write("ready\n");
