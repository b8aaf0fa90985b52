// The one reader of `host:port` addresses (gate.listen.*, dns.upstreams, ui.listen, the CLI's
// --proxy/--admin/--listen flags). The host is an IP literal: these are addresses to bind or
// to send DNS to, and a name here would make the gate depend on the resolver it replaces.
import ipaddr from "ipaddr.js";
import { UserError } from "./user-error.ts";

export interface HostPort {
  host: string;
  port: number;
}

const SHAPE = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/;

/** `127.0.0.1:3128`, `[::1]:3128` → `{host, port}`; undefined for anything else. Port 0 means "any free port". */
export function parseHostPort(text: string): HostPort | undefined {
  const m = SHAPE.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !ipaddr.isValid(host) || port > 65535) return undefined;
  return { host, port };
}

export class HostPortError extends UserError {}

/** parseHostPort for values that must be addresses (flags, test overrides); the message names the value. */
export function hostPortOf(text: string): HostPort {
  const hp = parseHostPort(text);
  if (!hp) throw new HostPortError(`'${text}' is not an IP address and port (write 127.0.0.1:3128 or [::1]:3128)`);
  return hp;
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** Where a client on this host reaches a listener: a wildcard bind is reached through loopback. */
export function reachableHostPort(hp: HostPort): HostPort {
  if (hp.host === "0.0.0.0") return { host: "127.0.0.1", port: hp.port };
  if (hp.host === "::") return { host: "::1", port: hp.port };
  return hp;
}

/** The http:// base URL of a listener (the admin API, the dashboard). */
export function httpUrlOf(hp: HostPort): string {
  return `http://${formatHostPort(reachableHostPort(hp))}`;
}
