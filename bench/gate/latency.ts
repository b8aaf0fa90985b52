// What the load drivers report from their samples: the rate and the quantiles, in ms.
export function latencySummary(samples: number[], seconds: number) {
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return {
    count: sorted.length,
    perSec: Math.round(sorted.length / seconds),
    p50ms: +q(0.5).toFixed(3),
    p99ms: +q(0.99).toFixed(3),
    p999ms: +q(0.999).toFixed(3),
  };
}
