// Several gate processes on one set of ports: Node runs JavaScript on one core, so the gate
// scales by forking workers that each bind the listen ports with SO_REUSEPORT (the kernel
// spreads connections and datagrams). Workers share state_dir; worker 1 serves the admin API.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

export const WORKER_ENV = "CORRAL_GATE_WORKER";
const METRICS_MSG = "corral:cluster-metrics";
const RELAY_MSG = "corral:relay";

/**
 * What workers tell each other through the primary: per-run identities minted on worker 1's
 * admin API must be known to every worker (any of them may get the run's connections), and
 * decisions made on other workers reach the audit log, which only worker 1 writes.
 */
export type RelayPayload =
  | { kind: "run-add"; digest: string; parent: string; run: string; expires: number }
  | { kind: "run-del"; digest: string }
  | {
      kind: "audit";
      record: { kind: string; actor: string | { identity: string; ip?: string }; data: Record<string, unknown> };
    };

/** This process's worker number (1-based) when it is a gate worker. */
export function workerIndex(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (!cluster.isWorker) return undefined;
  const n = Number(env[WORKER_ENV]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export function isPrimary(): boolean {
  return cluster.isPrimary;
}

/** Forks `n` workers (re-forking any that die), relays SIGHUP, stops them all on `stop`. */
export async function runWorkers(n: number, stop: AbortSignal, log: (line: string) => void): Promise<void> {
  const workers = new Map<number, Worker>();
  let stopping = false;
  // /metrics on worker 1 shows the whole gate: the primary gathers every worker's registry.
  const aggregator = new AggregatorRegistry();
  // Live run identities, replayed to a worker that (re)starts so it knows the running runs.
  const runs = new Map<string, RelayPayload>();
  const fork = (i: number) => {
    const w = cluster.fork({ [WORKER_ENV]: String(i) });
    workers.set(i, w);
    w.once("online", () => {
      const now = Date.now();
      for (const [digest, p] of runs) {
        if (p.kind === "run-add" && p.expires <= now) runs.delete(digest);
        else w.send({ type: RELAY_MSG, payload: p });
      }
    });
    w.on("message", (m: { type?: string; id?: number; to?: "all" | number; payload?: RelayPayload }) => {
      if (m?.type === RELAY_MSG && m.payload) {
        const p = m.payload;
        if (p.kind === "run-add") runs.set(p.digest, p);
        if (p.kind === "run-del") runs.delete(p.digest);
        for (const [j, other] of workers) {
          if (j === i || (m.to !== "all" && m.to !== j)) continue;
          other.send({ type: RELAY_MSG, payload: p });
        }
        return;
      }
      if (m?.type !== METRICS_MSG) return;
      aggregator
        .clusterMetrics()
        .then((text) => w.send({ type: METRICS_MSG, id: m.id, text }))
        .catch((err: Error) => w.send({ type: METRICS_MSG, id: m.id, error: err.message }));
    });
    w.on("exit", (code, signal) => {
      workers.delete(i);
      if (stopping) return;
      log(`gate worker ${i} exited (${signal ?? code}); starting it again`);
      setTimeout(() => fork(i), 500);
    });
  };
  for (let i = 1; i <= n; i++) fork(i);
  const onHup = () => {
    for (const w of workers.values()) w.process.kill("SIGHUP");
  };
  process.on("SIGHUP", onHup);
  await new Promise<void>((r) => {
    if (stop.aborted) r();
    stop.addEventListener("abort", () => r(), { once: true });
  });
  stopping = true;
  process.off("SIGHUP", onHup);
  await Promise.all(
    [...workers.values()].map(
      (w) =>
        new Promise<void>((r) => {
          const kill = setTimeout(() => w.process.kill("SIGKILL"), 5000);
          w.once("exit", () => {
            clearTimeout(kill);
            r();
          });
          w.process.kill("SIGTERM");
        }),
    ),
  );
}

/** In a worker: the registry the primary's aggregator reads from this process. */
export function shareMetrics(registry: Registry): void {
  // Constructing one installs prom-client's worker-side reply to the primary's requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

let nextId = 0;

/** In a worker: every worker's metrics, summed by the primary (Prometheus text format). */
export function clusterMetrics(timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const onMessage = (m: { type?: string; id?: number; text?: string; error?: string }) => {
      if (m?.type !== METRICS_MSG || m.id !== id) return;
      clearTimeout(timer);
      process.off("message", onMessage);
      if (m.error !== undefined || m.text === undefined) reject(new Error(m.error ?? "no metrics"));
      else resolve(m.text);
    };
    const timer = setTimeout(() => {
      process.off("message", onMessage);
      reject(new Error("cluster metrics timed out"));
    }, timeoutMs);
    process.on("message", onMessage);
    process.send?.({ type: METRICS_MSG, id });
  });
}

/** In a worker: sends `payload` to every other worker, or to worker `to`, through the primary. */
export function relay(to: "all" | number, payload: RelayPayload): void {
  process.send?.({ type: RELAY_MSG, to, payload });
}

/** In a worker: what other workers relay here. */
export function onRelay(handler: (payload: RelayPayload) => void): void {
  process.on("message", (m: { type?: string; payload?: RelayPayload }) => {
    if (m?.type === RELAY_MSG && m.payload) handler(m.payload);
  });
}
