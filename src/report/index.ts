export { counts, type ReportOptions, summaryLine } from "./common.ts";
export { renderDot, renderMermaid } from "./graph.ts";
export { JSON_SCHEMA_VERSION, renderJson, toJson } from "./json.ts";
export { renderMarkdown } from "./markdown.ts";
export { renderSarif, ruleHelpMarkdown, toSarif } from "./sarif.ts";
export { renderText } from "./text.ts";
