// The marketer page's script, served as a file so the page's CSP can forbid inline script (script-src 'self').
"use strict";
const API = document.body.dataset.api + "/rpi";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("tracker-token") || "";

// Every request goes to one of the admin API's own paths: fixed route names, each variable part (a link key
// holds a "/") one encoded path segment, and the resolved URL checked, so no stored host or slug can make
// the page send the bearer token anywhere else.
const ROUTES = new Set(["login", "me", "links", "stats", "qr"]);
function apiUrl(route, key, query) {
  if (!ROUTES.has(route)) throw new Error("unknown API route " + route);
  const path = API + "/" + route + (key === undefined ? "" : "/" + encodeURIComponent(key));
  const url = new URL(path + (query ? "?" + new URLSearchParams(query) : ""), location.origin);
  if (url.origin !== location.origin || url.pathname !== path) throw new Error("refusing to call " + url.href);
  return url.href;
}

function say(text, ok) { $("message").textContent = text; $("message").className = ok ? "ok" : ""; }

async function call(method, url, body) {
  const response = await fetch(url, {
    method, headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) { signOut(); throw new Error("Please sign in again."); }
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((data && data.error ? data.error : response.statusText) + (data && data.field ? " (" + data.field + ")" : ""));
  return data;
}

function signOut() { token = ""; sessionStorage.removeItem("tracker-token"); $("app").classList.add("hidden"); $("login-box").classList.remove("hidden"); $("who").textContent = ""; }

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch(apiUrl("login"), { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ uid: $("uid").value, password: $("password").value }) });
  const data = await response.json();
  if (!response.ok) { say(data.error || "Sign-in failed"); return; }
  token = data.token; sessionStorage.setItem("tracker-token", token); $("password").value = "";
  start();
});

async function start() {
  try { const me = await call("GET", apiUrl("me")); $("who").textContent = me.uid; } catch (error) { say(error.message); return; }
  $("login-box").classList.add("hidden"); $("app").classList.remove("hidden"); say("");
  await load();
}

function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }

async function load() {
  const data = await call("GET", apiUrl("links", undefined, { limit: "200", q: $("search").value.trim() }));
  const body = $("links"); body.replaceChildren();
  for (const link of data.results) {
    const row = body.insertRow(); row.dataset.link = link.urlfrom;
    const short = location.protocol + "//" + link.urlfrom;
    const a = document.createElement("a"); a.href = short; a.textContent = link.urlfrom; a.className = "short";
    row.insertCell().append(a);
    cell(row, link.urlto).className = "muted";
    const visits = cell(row, "…"); visits.className = "visits";
    const uniques = cell(row, "…"); uniques.className = "visits uniques";
    const bots = cell(row, "…"); bots.className = "visits bots";
    const qr = row.insertCell(); qr.className = "qr"; const img = document.createElement("img"); img.alt = "QR code"; qr.append(img);
    const actions = row.insertCell();
    for (const [label, cls, act] of [["Copy", "secondary copy", () => copy(short)], ["Edit", "secondary edit", () => edit(link)], ["Delete", "danger delete", () => remove(link)]]) {
      const b = document.createElement("button"); b.type = "button"; b.textContent = label; b.className = cls; b.onclick = act; actions.append(b, " ");
    }
    fillStats(link.urlfrom, visits, uniques, bots);
    fillQr(link.urlfrom, img);
  }
  $("paging").textContent = data.total + " link(s)";
}

async function fillStats(key, visits, uniques, bots) {
  try { const s = await call("GET", apiUrl("stats", key)); visits.textContent = s.visits; uniques.textContent = s.uniques; bots.textContent = s.bots; }
  catch (error) { visits.textContent = "?"; }
}

async function fillQr(key, img) {
  try {
    const url = apiUrl("qr", key, { format: "png", scheme: location.protocol.replace(":", "") });
    const response = await fetch(url, { headers: { "Authorization": "Bearer " + token } });
    if (response.ok) img.src = URL.createObjectURL(await response.blob());
  } catch (error) { img.alt = "no QR code"; }
}

function copy(text) { navigator.clipboard?.writeText(text).then(() => say("Copied " + text, true), () => say(text, true)); }

function edit(link) {
  $("editing").value = link.urlfrom; $("form-title").textContent = "Edit " + link.urlfrom;
  $("urlto").value = link.urlto; $("host").value = link.host; $("host").disabled = true;
  $("slug").value = link.slug; $("slug").disabled = true; $("status").value = String(link.status || 0);
  $("tags").value = link.tags.join(", "); $("max_visits").value = link.max_visits || "";
  $("valid_until").value = link.valid_until ? link.valid_until.slice(0, 16).replace(" ", "T") : "";
  $("target_android").value = link.targets.android || ""; $("target_ios").value = link.targets.ios || "";
  $("crawlable").checked = link.crawlable; $("cancel-edit").classList.remove("hidden");
}

function resetForm() {
  $("link-form").reset(); $("editing").value = ""; $("host").disabled = false; $("slug").disabled = false;
  $("form-title").textContent = "New short link"; $("cancel-edit").classList.add("hidden");
}

async function remove(link) {
  if (!confirm("Delete " + link.urlfrom + "?")) return;
  try { await call("DELETE", apiUrl("links", link.urlfrom)); say("Deleted " + link.urlfrom, true); await load(); } catch (error) { say(error.message); }
}

$("link-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const targets = {};
  if ($("target_android").value) targets.android = $("target_android").value;
  if ($("target_ios").value) targets.ios = $("target_ios").value;
  const fields = {
    urlto: $("urlto").value.trim(), status: Number($("status").value), crawlable: $("crawlable").checked, targets,
    tags: $("tags").value.split(",").map((t) => t.trim()).filter(Boolean),
    max_visits: $("max_visits").value ? Number($("max_visits").value) : null,
    valid_until: $("valid_until").value ? $("valid_until").value.replace("T", " ") + ":00" : null,
  };
  try {
    let saved;
    if ($("editing").value) saved = await call("PATCH", apiUrl("links", $("editing").value), fields);
    else {
      if ($("host").value.trim()) fields.host = $("host").value.trim();
      if ($("slug").value.trim()) fields.slugfrom = $("slug").value.trim();
      saved = await call("POST", apiUrl("links"), fields);
    }
    say("Saved " + saved.urlfrom, true); resetForm(); await load();
  } catch (error) { say(error.message); }
});

$("cancel-edit").onclick = resetForm;
$("refresh").onclick = () => load().catch((error) => say(error.message));
$("search").addEventListener("input", () => load().catch((error) => say(error.message)));

function utmUrl() {
  const base = $("utm_url").value.trim(); if (!base) return "";
  let url; try { url = new URL(base); } catch { return ""; }
  for (const name of ["source", "medium", "campaign", "term", "content"]) {
    const value = $("utm_" + name).value.trim(); if (value) url.searchParams.set("utm_" + name, value);
  }
  return url.toString();
}
$("utm-form").addEventListener("input", () => { $("utm_result").textContent = utmUrl(); });
$("utm_copy").onclick = () => copy(utmUrl());
$("utm_shorten").onclick = () => { $("urlto").value = utmUrl(); $("urlto").focus(); window.scrollTo(0, 0); };

if (token) start();
