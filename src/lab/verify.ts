// `corral verify --lab`: build the topology, (compiled) load the ruleset, probe every cell,
// tear everything down whatever happens.

import { buildPlan, renderNftables } from "../compile/index.ts";
import type { Deployment } from "../model/types.ts";
import type { Policy } from "../policy/index.ts";
import { Lab, newPrefix } from "./lab.ts";
import { buildCells, type Cell, listenPorts, type MatrixSummary, probesFor, summarize } from "./matrix.ts";
import { compiledTopology, LAB_POOL, type LabTopology, shippedTopology } from "./topology.ts";

export interface VerifyOptions {
  /** Probe the deployment as shipped (flat networks, no Corral) instead of the compiled one. */
  before?: boolean;
  prefix?: string;
  signal?: AbortSignal;
}

export interface VerifyResult {
  mode: "compiled" | "before";
  cells: Cell[];
  summary: MatrixSummary;
  ms: number;
}

export function labInputs(policy: Policy, d: Deployment, before: boolean) {
  if (before) return { topology: shippedTopology(d), nft: undefined, gate: undefined };
  const plan = buildPlan(policy, d, { pool: LAB_POOL, forcePool: true });
  return { topology: compiledTopology(plan) as LabTopology, nft: renderNftables(plan), gate: plan.gate };
}

export async function verifyLab(policy: Policy, d: Deployment, options: VerifyOptions = {}): Promise<VerifyResult> {
  const started = performance.now();
  const before = options.before ?? false;
  const { topology, nft, gate } = labInputs(policy, d, before);
  const cells = buildCells(policy, d, topology, gate);
  const lab = await Lab.create(topology, options.prefix ?? newPrefix());
  const stop = () => void lab.destroy();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    options.signal?.throwIfAborted();
    if (nft) await lab.loadNft(nft);
    await lab.listen(listenPorts(cells));
    options.signal?.throwIfAborted();
    const { probes, cellOf } = probesFor(cells, topology);
    const results = await lab.probe(probes);
    for (const [id, open] of results) {
      const cell = cells[cellOf.get(id) ?? -1];
      if (cell) cell.observed = (cell.observed ?? false) || open;
    }
    for (const c of cells) c.observed ??= false;
    // A probe lost to a busy machine looks like a block. Cells the policy opens but that
    // answered nothing (and, before Corral, every closed cell) get a second, slower try; a
    // real block stays blocked.
    const retry = cells.flatMap((c, i) => ((c.expected || before) && !c.observed ? [i] : []));
    if (retry.length > 0) {
      const again = probesFor(
        retry.map((i) => cells[i] as Cell),
        topology,
      );
      const results2 = await lab.probe(again.probes.map((p) => ({ ...p, timeoutMs: 2000 })));
      for (const [id, open] of results2) {
        const cell = cells[retry[again.cellOf.get(id) ?? -1] ?? -1];
        if (cell && open) cell.observed = true;
      }
    }
    options.signal?.throwIfAborted();
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await lab.destroy();
  }
  return {
    mode: before ? "before" : "compiled",
    cells,
    summary: summarize(cells),
    ms: Math.round(performance.now() - started),
  };
}
