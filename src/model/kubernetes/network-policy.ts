// NetworkPolicy manifest → K8sNetworkPolicy, with the API server's defaults applied
// (policyTypes, protocol TCP) so reachability never has to know them.
import ipaddr from "ipaddr.js";
import { InputError } from "../errors.ts";
import type { K8sNetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule } from "../types.ts";
import { protocolOf } from "./container.ts";
import type { Fields } from "./fields.ts";
import { selectorOf } from "./selector.ts";

export function networkPolicyOf(
  f: Fields,
  value: Record<string, unknown>,
  namespace: string,
  name: string,
): K8sNetworkPolicy {
  const spec = f.map(value["spec"], "spec") ?? {};
  const ingress = f.list(spec["ingress"], "spec.ingress").map((r, i) => ruleOf(f, r, `spec.ingress.${i}`, "from"));
  const egress = f.list(spec["egress"], "spec.egress").map((r, i) => ruleOf(f, r, `spec.egress.${i}`, "to"));
  const written = f.list(spec["policyTypes"], "spec.policyTypes").map((t, i) => f.str(t, `spec.policyTypes.${i}`));
  let policyTypes: K8sNetworkPolicy["policyTypes"];
  if (written.length > 0) {
    policyTypes = [];
    if (written.includes("Ingress")) policyTypes.push("Ingress");
    if (written.includes("Egress")) policyTypes.push("Egress");
  } else {
    // The API server's default: Ingress always, Egress only when egress rules exist.
    policyTypes = egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
  }
  return {
    name,
    namespace,
    podSelector: selectorOf(f, spec["podSelector"], "spec.podSelector"),
    policyTypes,
    ingress,
    egress,
    pos: f.pos("kind"),
  };
}

function ruleOf(f: Fields, raw: unknown, path: string, peersKey: "from" | "to"): NetworkPolicyRule {
  const r = f.map(raw, path) ?? {};
  const rule: NetworkPolicyRule = {};
  const peers = f.list(r[peersKey], `${path}.${peersKey}`);
  // Kubernetes treats an empty `from`/`to` list like a missing one: every peer.
  if (peers.length > 0) rule.peers = peers.map((p, i) => peerOf(f, p, `${path}.${peersKey}.${i}`));
  const ports = f.list(r["ports"], `${path}.ports`);
  if (ports.length > 0) rule.ports = ports.map((p, i) => portOf(f, p, `${path}.ports.${i}`));
  return rule;
}

function peerOf(f: Fields, raw: unknown, path: string): NetworkPolicyPeer {
  const p = f.map(raw, path) ?? {};
  const peer: NetworkPolicyPeer = {};
  if (p["podSelector"] !== undefined) peer.podSelector = selectorOf(f, p["podSelector"], `${path}.podSelector`);
  if (p["namespaceSelector"] !== undefined) {
    peer.namespaceSelector = selectorOf(f, p["namespaceSelector"], `${path}.namespaceSelector`);
  }
  const ip = f.map(p["ipBlock"], `${path}.ipBlock`);
  if (ip) {
    peer.ipBlock = {
      cidr: cidrOf(f, ip["cidr"], `${path}.ipBlock.cidr`),
      except: f.list(ip["except"], `${path}.ipBlock.except`).map((x, i) => cidrOf(f, x, `${path}.ipBlock.except.${i}`)),
    };
  }
  return peer;
}

function portOf(f: Fields, raw: unknown, path: string): NetworkPolicyPort {
  const p = f.map(raw, path) ?? {};
  const port: NetworkPolicyPort = { protocol: protocolOf(f, p["protocol"], `${path}.protocol`) };
  const v = p["port"];
  if (typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v))) port.port = Number(v);
  else if (v !== undefined && v !== null) port.port = f.str(v, `${path}.port`) ?? "";
  const end = f.int(p["endPort"], `${path}.endPort`);
  if (end !== undefined) port.endPort = end;
  return port;
}

function cidrOf(f: Fields, v: unknown, path: string): string {
  const cidr = f.str(v, path) ?? "";
  try {
    ipaddr.parseCIDR(cidr);
  } catch {
    throw new InputError(
      `${path}: expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32, got ${JSON.stringify(cidr)}`,
      f.pos(path),
      "write the address block as <address>/<prefix length>",
    );
  }
  return cidr;
}
