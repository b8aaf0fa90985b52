export { type KubernetesObjects, type KubernetesOptions, kubernetesFromText } from "./parse.ts";
export { parseCpu, parseMemory, parseQuantity } from "./quantity.ts";
export { readKubernetes } from "./read.ts";
