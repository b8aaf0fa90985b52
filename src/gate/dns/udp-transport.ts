// What the DNS server needs from a UDP transport (node:dgram or the native batch socket), and
// how a reply becomes the datagram a client accepts.
import * as dns from "dns-packet";
import { encodeForUdp } from "./answer.ts";
import type { DnsReply } from "./answer-query.ts";
import type { BatchStats } from "./udp-batch.ts";

export interface UdpTransport {
  kind: "batch" | "dgram";
  port: number;
  stats(): BatchStats | undefined;
  close(): Promise<void>;
}

/** The reply as one datagram: truncated (TC) when larger than the client accepts. */
export function sendable(a: DnsReply): Buffer {
  return a.wire && a.wire.length <= a.udpSize ? a.wire : encodeForUdp(a.packet ?? dns.decode(a.wire!), a.udpSize);
}
