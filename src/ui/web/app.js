import { getJson, loadSession, postJson } from "./api.js";
import { onDecision, startFeed, stopFeed } from "./feed.js";
import { renderGraph } from "./graph.js";
import { refreshApprovals, refreshAudit, refreshObserved, refreshRuns, refreshSeal, refreshStatus } from "./panels.js";

const session = await loadSession();
if (!session.authenticated) location.replace("/login");

document.getElementById("logout").addEventListener("click", async () => {
  stopFeed();
  await postJson("/api/logout").catch(() => undefined);
  location.replace("/login");
});

async function loadGraph() {
  const view = document.getElementById("graph-view");
  const { layout } = await getJson("/api/graph");
  renderGraph(view, layout);
  if (layout) {
    const c = layout.counts;
    document.getElementById("graph-counts").textContent =
      `${c.declared} declared · ${c.excess} excess · ${c.missing} missing`;
  }
}

function every(ms, fn) {
  const run = () => fn().catch((err) => console.error(err));
  run();
  setInterval(run, ms);
}

startFeed();
// A denial the gate turned into a pending request shows up in the approvals list at once.
onDecision((d) => {
  if (d.approvable) refreshApprovals();
});
loadGraph().catch((err) => {
  document.getElementById("graph-view").textContent = `graph unavailable: ${err.message}`;
});
every(5_000, refreshApprovals);
every(30_000, refreshRuns);
every(30_000, refreshObserved);
every(30_000, refreshAudit);
every(10_000, refreshSeal);
every(5_000, refreshStatus);
