"use strict";
const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);
const say = (s) => { $("status").textContent = s; };

async function load() {
  const s = await api.storage.local.get(["apiBase", "token", "threshold", "context", "collapse"]);
  $("apiBase").value = s.apiBase || "http://127.0.0.1:5151";
  $("context").value = s.context || "general";
  $("threshold").value = s.threshold ?? 0.3;
  $("collapse").checked = s.collapse ?? true;
  say(s.token ? "Paired with " + s.apiBase + "." : "Not paired yet.");
}

$("pair").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  say("Pairing…");
  const r = await api.runtime.sendMessage({ type: "pair", apiBase: $("apiBase").value, code: $("code").value });
  $("code").value = "";
  say(r && r.ok ? "Paired with " + $("apiBase").value + "." : "Not paired: " + ((r && r.error) || "no answer"));
});

$("prefs").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const t = Number($("threshold").value);
  if (!(t >= 0 && t <= 1)) {
    say("The threshold is a number from 0 to 1.");
    return;
  }
  await api.storage.local.set({ threshold: t, context: $("context").value.trim() || "general", collapse: $("collapse").checked });
  await api.runtime.sendMessage({ type: "forget" });
  say("Saved.");
});

load();
