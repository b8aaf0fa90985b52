// Response headers every dashboard reply carries (also the hijacked event stream, which
// bypasses fastify's hooks). The page loads only its own scripts and styles: no inline code,
// no framing, no referrers leaking identities or destinations.

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export function securityHeaders(tls: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
  };
  // HSTS over plain HTTP is ignored by browsers and would be a lie; send it only under TLS.
  if (tls) headers["strict-transport-security"] = "max-age=31536000; includeSubDomains";
  return headers;
}
