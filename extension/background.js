// kith's browser extension, background part. It alone talks to the kith
// node: only to the loopback API address the owner set, with the token
// pairing gave it. It keeps answers for a minute, and when the node does
// not answer it stays quiet (the page shows no badges) and tries again
// after a while. Nothing about the pages is sent anywhere else.
"use strict";

const api = globalThis.browser ?? globalThis.chrome;

const CACHE_MS = 60 * 1000; // how long an answer is reused
const DOWN_MS = 15 * 1000; // how long to stay quiet after the node did not answer
const TIMEOUT_MS = 4000;
const MAX_BATCH = 200; // api.MaxBatch

const defaults = { apiBase: "http://127.0.0.1:5151", token: "", threshold: 0.3, context: "general", collapse: true };
const cache = new Map(); // context + "\n" + subject -> { answer, until }
let downUntil = 0;

async function settings() {
  const s = await api.storage.local.get(Object.keys(defaults));
  return { ...defaults, ...s };
}

// loopbackBase returns the API's origin when it is plain http on a
// loopback address, else null: the extension talks to nothing else.
function loopbackBase(s) {
  let u;
  try {
    u = new URL(s);
  } catch (e) {
    return null;
  }
  const loop = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  if (u.protocol !== "http:" || !loop || u.username || u.password) {
    return null;
  }
  return u.origin;
}

async function post(base, path, token, body) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const headers = { "Content-Type": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    const r = await fetch(base + path, {
      method: "POST", headers, body: JSON.stringify(body), signal: ctl.signal,
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    });
    const data = await r.json().catch(() => ({}));
    return { status: r.status, data };
  } finally {
    clearTimeout(timer);
  }
}

// query answers subjects from the cache and the node; it returns null
// when the node is not reachable or not paired (the page then shows
// nothing).
async function query(subjects) {
  const s = await settings();
  const base = loopbackBase(s.apiBase);
  if (!base || !s.token) return null;
  const now = Date.now();
  const out = {};
  const ask = [];
  for (const sub of new Set(subjects)) {
    const c = cache.get(s.context + "\n" + sub);
    if (c && c.until > now) out[sub] = c.answer;
    else ask.push(sub);
  }
  if (ask.length > 0) {
    if (downUntil > now) return null;
    for (let i = 0; i < ask.length; i += MAX_BATCH) {
      let r;
      try {
        r = await post(base, "/v1/query/batch", s.token, { subjects: ask.slice(i, i + MAX_BATCH), context: s.context });
      } catch (e) {
        downUntil = Date.now() + DOWN_MS;
        return null;
      }
      if (r.status !== 200 || !Array.isArray(r.data.answers)) {
        downUntil = Date.now() + DOWN_MS;
        return null;
      }
      for (const a of r.data.answers) {
        cache.set(s.context + "\n" + a.subject, { answer: a, until: Date.now() + CACHE_MS });
        out[a.subject] = a;
      }
    }
  }
  return { answers: out, threshold: s.threshold, collapse: s.collapse, context: s.context };
}

async function pair(apiBase, code) {
  const base = loopbackBase(apiBase);
  if (!base) return { ok: false, error: "The node's address must be http://127.0.0.1:PORT or http://localhost:PORT." };
  let r;
  try {
    r = await post(base, "/v1/ext/pair", "", { code: code.trim() });
  } catch (e) {
    return { ok: false, error: "The kith node at " + base + " did not answer. Is kith run going?" };
  }
  if (r.status !== 200 || !r.data.token) {
    return { ok: false, error: (r.data.error && r.data.error.message) || "The node refused the code." };
  }
  await api.storage.local.set({ apiBase: base, token: r.data.token });
  cache.clear();
  downUntil = 0;
  return { ok: true };
}

api.runtime.onMessage.addListener((msg, sender, reply) => {
  if (sender.id !== api.runtime.id) return false;
  if (msg && msg.type === "query" && Array.isArray(msg.subjects)) {
    query(msg.subjects.filter((x) => typeof x === "string").slice(0, 1000)).then(reply, () => reply(null));
    return true;
  }
  if (msg && msg.type === "pair" && typeof msg.code === "string" && typeof msg.apiBase === "string") {
    pair(msg.apiBase, msg.code).then(reply, (e) => reply({ ok: false, error: String(e) }));
    return true;
  }
  if (msg && msg.type === "forget") {
    cache.clear();
    reply({ ok: true });
    return false;
  }
  return false;
});
