// Asking the configured upstream resolvers: UDP first with a timeout and retries across the
// upstreams, TCP when the UDP answer comes back truncated (TC bit).
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import * as dns from "dns-packet";
import ipaddr from "ipaddr.js";
import type { HostPort } from "../../policy/host-port.ts";

export interface UpstreamOptions {
  upstreams: HostPort[];
  timeoutMs: number;
  retries: number;
}

export class UpstreamError extends Error {}

const EDNS_SIZE = 1232;

interface Pending {
  resolve: (p: dns.Packet) => void;
  host: string;
  port: number;
}

export class UpstreamClient {
  private readonly opts: UpstreamOptions;
  private sock4: dgram.Socket | undefined;
  private sock6: dgram.Socket | undefined;
  private readonly pending = new Map<number, Pending>();

  constructor(opts: UpstreamOptions) {
    this.opts = opts;
  }

  private socket(family: 4 | 6): dgram.Socket {
    const existing = family === 4 ? this.sock4 : this.sock6;
    if (existing) return existing;
    const s = dgram.createSocket(family === 4 ? "udp4" : "udp6");
    s.on("message", (msg, rinfo) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const p = this.pending.get(id);
      // Only the upstream we asked may answer (no off-path spoofing from other local ports).
      if (!p || p.port !== rinfo.port || ipaddr.process(p.host).toString() !== ipaddr.process(rinfo.address).toString())
        return;
      let packet: dns.Packet;
      try {
        packet = dns.decode(msg);
      } catch {
        return;
      }
      this.pending.delete(id);
      p.resolve(packet);
    });
    s.on("error", () => {});
    s.unref();
    if (family === 4) this.sock4 = s;
    else this.sock6 = s;
    return s;
  }

  private freeId(): number {
    for (let i = 0; i < 100; i++) {
      const id = randomInt(0, 65536);
      if (!this.pending.has(id)) return id;
    }
    throw new UpstreamError("too many DNS queries in flight");
  }

  private udpOnce(up: HostPort, q: dns.Question): Promise<dns.Packet | undefined> {
    const id = this.freeId();
    const buf = dns.encode({
      type: "query",
      id,
      flags: dns.RECURSION_DESIRED,
      questions: [q],
      additionals: [
        {
          type: "OPT",
          name: ".",
          udpPayloadSize: EDNS_SIZE,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    const family = up.host.includes(":") ? 6 : 4;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.opts.timeoutMs);
      this.pending.set(id, {
        host: up.host,
        port: up.port,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
      this.socket(family).send(buf, up.port, up.host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(undefined);
        }
      });
    });
  }

  tcpOnce(up: HostPort, q: dns.Question): Promise<dns.Packet | undefined> {
    const id = this.freeId();
    return new Promise((resolve) => {
      const sock = net.connect({ host: up.host, port: up.port });
      let buf = Buffer.alloc(0);
      const done = (p: dns.Packet | undefined) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(p);
      };
      const timer = setTimeout(() => done(undefined), this.opts.timeoutMs);
      sock.on("error", () => done(undefined));
      sock.on("connect", () => {
        sock.write(dns.streamEncode({ type: "query", id, flags: dns.RECURSION_DESIRED, questions: [q] }));
      });
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < len + 2) return;
        try {
          const p = dns.decode(buf.subarray(2, len + 2));
          done(p.id === id ? p : undefined);
        } catch {
          done(undefined);
        }
      });
    });
  }

  /** The upstream's answer to one question; throws UpstreamError when no upstream answered. */
  async query(q: dns.Question): Promise<dns.Packet> {
    const ups = this.opts.upstreams;
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      for (const up of ups) {
        const p = await this.udpOnce(up, q);
        if (!p) continue;
        if (p.flags !== undefined && p.flags & dns.TRUNCATED_RESPONSE) {
          const t = await this.tcpOnce(up, q);
          if (t) return t;
          continue;
        }
        return p;
      }
    }
    throw new UpstreamError("no DNS upstream answered");
  }

  close(): void {
    this.sock4?.close();
    this.sock6?.close();
    this.sock4 = undefined;
    this.sock6 = undefined;
    for (const p of this.pending.values()) p.resolve({ type: "response", flags: 2, questions: [], answers: [] });
    this.pending.clear();
  }
}
