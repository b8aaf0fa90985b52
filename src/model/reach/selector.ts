// Kubernetes label-selector matching.
import type { LabelSelector } from "../types.ts";

/** An empty selector matches everything, as in NetworkPolicy podSelector / namespaceSelector. */
export function matches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    switch (e.operator) {
      case "In":
        if (!has || !e.values.includes(v as string)) return false;
        break;
      case "NotIn":
        if (has && e.values.includes(v as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}
