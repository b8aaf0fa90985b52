export { parseDotenv } from "./dotenv.ts";
export { interpolate } from "./interpolate.ts";
export { parseExpose, parseLongPort, parseShortPort } from "./ports.ts";
export { type ComposeOptions, composeFromText, loadCompose, normaliseProjectName, readCompose } from "./read.ts";
export { normaliseSecurityOpt } from "./security.ts";
export { parseBytes, parseCpus } from "./units.ts";
export { parseLongVolume, parseShortVolume } from "./volumes.ts";
