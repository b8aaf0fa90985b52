// Talking to the dashboard's server: JSON in and out, the CSRF token on every state-changing
// request, and back to the login page when the session has ended.
let csrf = "";

export async function loadSession() {
  const res = await fetch("/api/session", { credentials: "same-origin" });
  const body = await res.json();
  csrf = body.csrf ?? "";
  return body;
}

async function handle(res) {
  if (res.status === 401) {
    location.assign("/login");
    throw new Error("not logged in");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

export async function getJson(path) {
  return handle(await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } }));
}

export async function postJson(path, data = {}) {
  return handle(
    await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(data),
    }),
  );
}
