// One id per service across the scanner, the reports and the reachability edges: the model's
// serviceId (compose name, or `namespace/name` for Kubernetes).
export { serviceId as idOf } from "../model/reachability.ts";
