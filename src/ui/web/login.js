import { loadSession } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const note = document.getElementById("login-note");

function show(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

const session = await loadSession();
if (session.authenticated) location.replace("/");
if (!session.passwordSet) show(note, "No admin password is set yet. On the host, run: corral ui passwd");

// One attempt at a time: a double click must not spend two of the five tries.
let busy = false;
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (busy) return;
  busy = true;
  try {
    await attempt();
  } finally {
    busy = false;
  }
});

async function attempt() {
  show(error, "");
  const password = form.elements.password.value;
  const res = await fetch("/api/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password }),
  });
  if (res.ok) {
    location.replace("/");
    return;
  }
  const body = await res.json().catch(() => ({}));
  show(error, body.error ?? `login failed (HTTP ${res.status})`);
  form.elements.password.select();
}
