// Approvals, observed flows, sandbox runs, audit state and the gate's connection status.
import { getJson, postJson } from "./api.js";
import { clear, el } from "./dom.js";

const DURATIONS = ["15m", "1h", "24h"];

function time(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function showError(text) {
  const node = document.getElementById("approvals-error");
  node.textContent = text;
  node.hidden = !text;
}

function approvalRow(a) {
  const duration = el(
    "select",
    { name: "for", "aria-label": "approve for" },
    ...DURATIONS.map((d) => el("option", { value: d, selected: d === "1h" }, d)),
  );
  const approve = el("button", { type: "button", class: "approve" }, "Approve");
  const deny = el("button", { type: "button", class: "deny" }, "Deny");
  approve.addEventListener("click", () => decide(a.id, "approve", { for: duration.value }));
  deny.addEventListener("click", () => decide(a.id, "deny", {}));
  return el(
    "tr",
    { class: "approval", "data-id": a.id },
    el("td", { class: "identity" }, a.identity),
    el("td", { class: "destination" }, a.destination),
    el("td", {}, time(a.requested)),
    el("td", { class: "id" }, a.id),
    el("td", { class: "decide" }, duration, " ", approve, " ", deny),
  );
}

async function decide(id, verdict, body) {
  try {
    const res = await postJson(`/api/approvals/${encodeURIComponent(id)}/${verdict}`, body);
    showError(res.warning ?? "");
  } catch (err) {
    showError(err.message);
  }
  await refreshApprovals();
}

export async function refreshApprovals() {
  const body = document.getElementById("approval-rows");
  try {
    const { approvals } = await getJson("/api/approvals");
    clear(body);
    if (approvals.length === 0) body.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "nothing pending")));
    for (const a of approvals) body.append(approvalRow(a));
    showError("");
  } catch (err) {
    clear(body);
    showError(err.message);
  }
}

function runDetails(data) {
  const parts = [];
  for (const key of ["profile", "command", "exit", "status", "duration_ms", "reason"]) {
    if (data[key] !== undefined) parts.push(`${key}: ${Array.isArray(data[key]) ? data[key].join(" ") : data[key]}`);
  }
  return parts.length > 0 ? parts.join("  ·  ") : JSON.stringify(data).slice(0, 300);
}

export async function refreshRuns() {
  const body = document.getElementById("run-rows");
  const { runs, note } = await getJson("/api/sandbox-runs?limit=50");
  clear(body);
  if (!runs) body.append(el("tr", {}, el("td", { colspan: 3, class: "empty" }, note)));
  else if (runs.length === 0) body.append(el("tr", {}, el("td", { colspan: 3, class: "empty" }, "no runs recorded")));
  else
    for (const r of runs)
      body.append(
        el(
          "tr",
          {},
          el("td", {}, time(r.time)),
          el("td", { class: "identity" }, r.identity),
          el("td", {}, runDetails(r.data)),
        ),
      );
}

export async function refreshAudit() {
  const dl = document.getElementById("audit-state");
  const { state, note } = await getJson("/api/audit");
  clear(dl);
  if (!state) {
    dl.append(el("dt", {}, "state"), el("dd", { class: "empty" }, note));
    return;
  }
  const cp = state.lastCheckpoint;
  const rows = [
    ["status", state.status],
    ["records", state.records],
    ["last record", state.lastSeq],
    [
      "last signed checkpoint",
      cp ? `seq ${cp.seq} at ${time(cp.time)}${cp.key ? ` (key ${cp.key})` : ""}` : "none yet",
    ],
    ["not yet signed", state.unverified],
    ["checked", time(state.checkedAt)],
  ];
  if (state.problem) rows.push(["problem", state.problem]);
  const anchors = state.anchors;
  if (anchors === null)
    rows.push(["off-host anchors", "none configured (audit.witnesses): tail truncation is undetectable"]);
  for (const t of anchors?.targets ?? []) {
    const behind = Math.max(0, anchors.lastSeq - t.anchoredSize);
    const trouble = t.lastError ? ` (${t.refused ? "REFUSED" : "unreachable"}: ${t.lastError})` : "";
    rows.push([
      `${t.kind} ${t.id}`,
      `anchored through seq ${t.anchoredSize}, ${behind} not yet anchored, backlog ${t.backlog}${trouble}`,
    ]);
  }
  for (const [k, v] of rows)
    dl.append(el("dt", {}, k), el("dd", { class: k === "status" ? `status-${state.status}` : "" }, String(v)));
}

export async function refreshSeal() {
  const dl = document.getElementById("seal-state");
  const { volumes, note } = await getJson("/api/seal");
  clear(dl);
  if (!volumes) {
    dl.append(el("dt", {}, "volumes"), el("dd", { class: "empty" }, note));
    return;
  }
  for (const v of volumes) {
    const state = !v.initialized ? "not initialized" : v.unlocked ? "unlocked" : "locked";
    const weak = v.custody === "local file" ? " — WEAKER: key on this host" : "";
    dl.append(
      el("dt", {}, v.name),
      el(
        "dd",
        { class: v.unlocked ? "status-valid" : "status-unknown" },
        `${state}; key from the ${v.custody}${v.version ? ` (version ${v.version})` : ""}${weak}`,
      ),
    );
  }
}

export async function refreshStatus() {
  const node = document.getElementById("gate-status");
  const { gate } = await getJson("/api/status");
  node.textContent = !gate
    ? "gate: not configured"
    : gate.connected
      ? `gate: connected (${gate.url})`
      : `gate: disconnected${gate.lastError ? ` — ${gate.lastError}` : ""}`;
  node.className = `status ${gate?.connected ? "ok" : "bad"}`;
}

export async function refreshObserved() {
  const body = document.getElementById("observed-rows");
  const note = document.getElementById("observed-note");
  const diff = document.getElementById("observed-diff");
  const { view, note: why } = await getJson("/api/observed");
  clear(body);
  if (!view) {
    note.textContent = why;
    diff.textContent = "";
    return;
  }
  const rows = [
    ...view.flows.map((f) => ({
      ...f,
      port: `${f.port}/${f.protocol}`,
      as: f.kind === "observe" ? "let through (observe)" : "refused",
    })),
    ...view.egress.map((e) => ({
      from: e.identity,
      to: e.destination,
      port: "",
      count: e.count,
      first: e.first,
      last: e.last,
      as: "egress (learn)",
    })),
  ];
  const modes = view.zones.map((z) => `${z.zone} ${z.mode}`).join(", ");
  note.textContent =
    (modes ? `zones: ${modes}. ` : "") +
    (rows.length === 0
      ? "nothing observed beyond the policy yet (zones in mode: observe, corral observe running; identities in mode: learn)"
      : `${rows.length} observed; ${view.left.length} left out of the suggestion${view.left.length ? `: ${view.left.map((l) => `${l.what} (${l.why})`).join("; ")}` : ""}`);
  for (const r of rows)
    body.append(
      el(
        "tr",
        { class: `observed-${r.as.startsWith("refused") ? "drop" : "seen"}` },
        el("td", { class: "identity" }, r.from),
        el("td", { class: "destination" }, r.to),
        el("td", {}, r.port),
        el("td", {}, String(r.count)),
        el("td", {}, time(r.first)),
        el("td", {}, time(r.last)),
        el("td", {}, r.as),
      ),
    );
  diff.textContent = view.diff || "nothing to add: the policy allows everything observed";
}
