// Service manifest → K8sService (how workloads are exposed).
import type { K8sService } from "../types.ts";
import { protocolOf } from "./container.ts";
import type { Fields } from "./fields.ts";

const TYPES = new Set(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]);

export function k8sServiceOf(f: Fields, value: Record<string, unknown>, namespace: string, name: string): K8sService {
  const spec = f.map(value["spec"], "spec") ?? {};
  const written = f.str(spec["type"], "spec.type") ?? "ClusterIP";
  let type = (TYPES.has(written) ? written : "ClusterIP") as K8sService["type"];
  if (type === "ClusterIP" && spec["clusterIP"] === "None") type = "Headless";
  const selector: Record<string, string> = {};
  for (const [k, x] of Object.entries(f.map(spec["selector"], "spec.selector") ?? {})) {
    selector[k] = f.str(x, `spec.selector.${k}`) ?? "";
  }
  const ports = f.list(spec["ports"], "spec.ports").map((raw, i) => {
    const pp = `spec.ports.${i}`;
    const p = f.map(raw, pp) ?? {};
    const out: K8sService["ports"][number] = {
      port: f.int(p["port"], `${pp}.port`) ?? 0,
      protocol: protocolOf(f, p["protocol"], `${pp}.protocol`),
    };
    const pname = f.str(p["name"], `${pp}.name`);
    if (pname !== undefined) out.name = pname;
    const tp = p["targetPort"];
    if (typeof tp === "number" || (typeof tp === "string" && /^\d+$/.test(tp))) out.targetPort = Number(tp);
    else if (tp !== undefined && tp !== null) out.targetPort = f.str(tp, `${pp}.targetPort`) ?? "";
    const np = f.int(p["nodePort"], `${pp}.nodePort`);
    if (np !== undefined) out.nodePort = np;
    return out;
  });
  return { name, namespace, type, selector, ports, pos: f.pos("kind") };
}
