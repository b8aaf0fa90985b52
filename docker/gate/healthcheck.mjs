// The image's HEALTHCHECK: healthy once the gate answers /readyz on its admin listener, which the
// overlay keeps on the container's loopback. No curl in the image, so Node asks.
const admin = process.env.CORRAL_GATE_ADMIN ?? "127.0.0.1:9099";
try {
  const res = await fetch(`http://${admin}/readyz`, { signal: AbortSignal.timeout(1500) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
