export * from "./destination.ts";
export { formatProblem, PolicyError, type PolicyProblem } from "./errors.ts";
export {
  formatHostPort,
  type HostPort,
  HostPortError,
  hostPortOf,
  httpUrlOf,
  parseHostPort,
  reachableHostPort,
} from "./host-port.ts";
export { type LoadedPolicy, loadPolicy, parsePolicy } from "./load.ts";
export * from "./schema.ts";
export { durationMs, formatPortRange, type PortRange, parsePortSpec, sizeBytes } from "./units.ts";
export {
  expandName,
  HOST_TARGET,
  type HostFlow,
  type ResolvedFlow,
  resolveFlows,
  resolveHostFlows,
  zoneMode,
  zoneOf,
} from "./zones.ts";
