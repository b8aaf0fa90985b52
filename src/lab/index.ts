export { LabError, labUnavailable } from "./exec.ts";
export { Lab, leftovers, newPrefix } from "./lab.ts";
export { type Cell, type MatrixSummary, probePorts, renderMatrix, ruleFor, summarize } from "./matrix.ts";
export { HOST, LAB_POOL, OUTSIDE } from "./topology.ts";
export { type VerifyResult, verifyLab } from "./verify.ts";
