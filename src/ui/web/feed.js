// The live decision feed and the alert list, fed by the server's event stream.
import { clear, el } from "./dom.js";

const MAX_ROWS = 500;
const decisions = [];
const alerts = [];
const filter = { identity: "", verdict: "", destination: "" };
const listeners = [];

function matches(d) {
  if (filter.verdict && d.verdict !== filter.verdict) return false;
  if (filter.identity && !d.identity.toLowerCase().includes(filter.identity)) return false;
  if (filter.destination && !d.destination.toLowerCase().includes(filter.destination)) return false;
  return true;
}

function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
}

function decisionRow(d) {
  const verdict = d.wouldDeny ? `${d.verdict} (would deny)` : d.verdict;
  return el(
    "tr",
    { class: `decision ${d.verdict}`, "data-id": d.id },
    el("td", {}, time(d.time)),
    el("td", { class: "identity" }, d.identity),
    el("td", { class: "destination" }, d.destination),
    el("td", { class: "verdict" }, verdict),
    el("td", {}, d.rule ?? ""),
    el("td", {}, d.reason ?? ""),
  );
}

function renderFeed() {
  const body = document.getElementById("feed-rows");
  clear(body);
  const shown = decisions.filter(matches);
  for (const d of shown) body.append(decisionRow(d));
  document.getElementById("feed-count").textContent = `${shown.length} of ${decisions.length}`;
}

function renderAlerts() {
  const list = document.getElementById("alert-list");
  clear(list);
  if (alerts.length === 0) list.append(el("li", { class: "empty" }, "no alerts"));
  for (const a of alerts) {
    list.append(
      el(
        "li",
        { class: "alert" },
        el("span", { class: "time" }, time(a.time)),
        " ",
        el("strong", {}, a.kind),
        a.identity ? ` ${a.identity}: ` : ": ",
        a.message,
      ),
    );
  }
}

export function onDecision(fn) {
  listeners.push(fn);
}

let source;

/** Closes the stream (before logging out, so its end is not mistaken for an expired session). */
export function stopFeed() {
  source?.close();
  source = undefined;
}

export function startFeed() {
  const form = document.getElementById("feed-filter");
  form.addEventListener("input", () => {
    filter.identity = form.elements.identity.value.trim().toLowerCase();
    filter.verdict = form.elements.verdict.value;
    filter.destination = form.elements.destination.value.trim().toLowerCase();
    renderFeed();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  renderFeed();

  source = new EventSource("/api/events");
  source.addEventListener("decision", (m) => {
    const d = JSON.parse(m.data);
    decisions.unshift(d);
    if (decisions.length > MAX_ROWS) decisions.pop();
    if (matches(d)) {
      const body = document.getElementById("feed-rows");
      body.prepend(decisionRow(d));
      while (body.childElementCount > MAX_ROWS) body.lastElementChild.remove();
    }
    document.getElementById("feed-count").textContent = `${decisions.filter(matches).length} of ${decisions.length}`;
    for (const fn of listeners) fn(d);
  });
  source.addEventListener("alert", (m) => {
    alerts.unshift(JSON.parse(m.data));
    if (alerts.length > 200) alerts.pop();
    renderAlerts();
  });
  source.addEventListener("error", () => {
    // EventSource reconnects by itself; if the session ended, the next API call goes to login.
    if (source?.readyState === EventSource.CLOSED) location.assign("/login");
    else document.getElementById("feed-count").textContent = "reconnecting…";
  });
}
