// The gate's own responses (denials, failures, limits): short, closed, and carrying the rule and
// reason in headers a client's logs will show.
import { serializeHead } from "./http-head.ts";

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function errorResponse(status: number, reason: string, extra: [string, string][] = []): Buffer {
  const body = `corral gate: ${reason}\n`;
  const headers: [string, string][] = [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(Buffer.byteLength(body))],
    ["Connection", "close"],
    ["X-Corral-Reason", reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)],
    ...extra,
  ];
  return Buffer.concat([
    serializeHead(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`, headers),
    Buffer.from(body),
  ]);
}
