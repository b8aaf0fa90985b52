// Adapts a loaded corral.yaml to the small PolicyView the policy rules and graphs use:
// flows resolved to the deployment's service ids, zone lookup, declared publishes.
import type { Deployment, Service } from "../model/types.ts";
import { type LoadedPolicy, parsePortSpec, resolveFlows, zoneOf } from "../policy/index.ts";
import { idOf } from "./ids.ts";
import type { PolicyView } from "./types.ts";

export function policyView(loaded: LoadedPolicy, d: Deployment): PolicyView {
  const { policy } = loaded;
  const idsByName = new Map<string, string[]>();
  for (const s of d.services) idsByName.set(s.name, [...(idsByName.get(s.name) ?? []), idOf(s)]);
  const refs = [...new Map(d.services.map((s) => [s.name, { name: s.name, labels: s.labels }])).values()];
  const flows = resolveFlows(policy, refs).flatMap((f) =>
    (idsByName.get(f.from) ?? []).flatMap((from) =>
      (idsByName.get(f.to) ?? []).map((to) => ({ from, to, ports: f.ports, flowIndex: f.flowIndex })),
    ),
  );
  return {
    file: loaded.file,
    zoneOf: (s: Service) => zoneOf(policy, s.name, s.labels),
    flows,
    publishes: policy.publish.map((p) => ({ service: p.service, port: parsePortSpec(p.port).from })),
    sealedVolumes: Object.keys(policy.seal?.volumes ?? {}),
  };
}
