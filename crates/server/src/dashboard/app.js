// The litecnn dashboard. Plain JavaScript, no framework, no build step: the file is compiled
// into the binary as it is. It reads only the documented JSON routes and acts only through the
// admin routes, so everything it shows or does, a script can show or do too.
"use strict";

const REFRESH_MS = 5000;
const TRAFFIC_MS = 2000;
const STEPS = ["detect", "fetch", "verify", "convert", "gate", "promote", "probation"];
const RESULT_NAMES = {
  promoted: "promoted",
  rejected: "rejected",
  failed: "failed",
  rolled_back: "rolled back",
  rollback: "rollback",
};
const TOKEN_KEY = "litecnn.token";
const ADMIN_KEY = "litecnn.adminToken";

const $ = (id) => document.getElementById(id);

const state = {
  filter: "all",
  history: [],
  historyKey: "",
  status: null,
  model: null,
  lastOk: 0,
  needsToken: false,
};

// --- talking to the server ----------------------------------------------------------------

function token(key) {
  return sessionStorage.getItem(key) || "";
}

/** A request with the right bearer token; never throws: `{ok, status, data, error}`. */
async function api(path, { method = "GET", body, admin = false, json } = {}) {
  const headers = {};
  const bearer = token(admin ? ADMIN_KEY : TOKEN_KEY);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, body, headers, cache: "no-store" });
  } catch (e) {
    return { ok: false, status: 0, data: null, error: `server unreachable (${e.message})` };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const error = response.ok ? null : errorText(response.status, data);
  if (response.status === 401 && !admin) needToken();
  return { ok: response.ok, status: response.status, data, error };
}

function errorText(status, data) {
  const e = data && data.error;
  if (e && typeof e === "object") return `${e.message || e.code} (${status})`;
  if (typeof e === "string") return `${e} (${status})`;
  return `HTTP ${status}`;
}

// --- small helpers ------------------------------------------------------------------------

function text(id, value) {
  const el = $(id);
  const s = value === null || value === undefined || value === "" ? "—" : String(value);
  if (el.textContent !== s) el.textContent = s;
}

function el(tag, cls, content) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (content !== undefined) node.textContent = content;
  return node;
}

function shortDigest(d) {
  return d ? d.replace(/^sha256:/, "").slice(0, 12) : "";
}

function ago(iso) {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let v;
  if (a < 5) return future ? "now" : "just now";
  if (a < 90) v = `${a} s`;
  else if (a < 5400) v = `${Math.round(a / 60)} min`;
  else if (a < 129600) v = `${Math.round(a / 3600)} h`;
  else v = `${Math.round(a / 86400)} d`;
  return future ? `in ${v}` : `${v} ago`;
}

function stamp(iso) {
  if (!iso) return "";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return t.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** "3 min ago" with the exact time as its tooltip. */
function timeInto(id, iso) {
  text(id, iso ? `${ago(iso)} · ${stamp(iso)}` : null);
  $(id).title = iso || "";
}

function ms(v) {
  if (v === null || v === undefined) return "—";
  if (v >= 10000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

function pct(v, digits = 1) {
  return `${(v * 100).toFixed(digits)} %`;
}

// --- now serving and the watcher ----------------------------------------------------------

/** The promotion that brought `digest` in, with its gate report. */
function promotionOf(digest) {
  return state.history.find((a) => a.digest === digest && a.result === "promoted") || null;
}

function gateLines(gates) {
  const lines = [];
  if (!gates) return lines;
  const g = gates;
  if (g.golden) lines.push(["parity", g.golden.ok, g.golden.detail]);
  if (g.holdout) {
    const h = g.holdout;
    let detail = `top-1 ${pct(h.candidate_top1)} on ${h.images} images`;
    if (h.current_top1 !== null && h.current_top1 !== undefined) {
      detail += ` vs ${pct(h.current_top1)} for the model it replaced`;
      detail += ` (${h.candidate_top1 >= h.current_top1 ? "+" : "−"}${pct(Math.abs(h.candidate_top1 - h.current_top1))})`;
    }
    if (h.max_accuracy_drop) detail += `, allowed drop ${pct(h.max_accuracy_drop)}`;
    lines.push(["accuracy", h.ok, detail]);
  }
  if (g.latency) {
    lines.push(["latency", g.latency.ok, `p50 ${ms(g.latency.p50_ms)} (limit ${ms(g.latency.limit_ms)})`]);
  }
  for (const name of ["labels", "model", "manifest"]) {
    if (g[name]) lines.push([name, g[name].ok, g[name].detail]);
  }
  for (const [name, value] of Object.entries(g)) {
    if (!["golden", "holdout", "latency", "labels", "model", "manifest"].includes(name) && value) {
      lines.push([name, value.ok, value.detail || JSON.stringify(value)]);
    }
  }
  return lines;
}

function renderGates(listId, gates) {
  const list = $(listId);
  const lines = gateLines(gates);
  const items = lines.length
    ? lines.map(([name, ok, detail]) => {
        const li = el("li");
        li.append(el("span", ok === false ? "mark-bad" : "mark-ok", ok === false ? "✗" : "✓"));
        li.append(el("span", "gate-name", name));
        li.append(el("span", "wrap", detail || ""));
        return li;
      })
    : [el("li", "muted", "No gate report: this model was not promoted by the deployer of this store.")];
  list.replaceChildren(...items);
}

function renderServing() {
  const m = state.model;
  const current = state.status && state.status.current;
  const empty = !m && !(current && current.digest);
  $("serving-empty").hidden = !empty;
  $("serving-body").hidden = empty;
  const dot = $("ready-dot");
  dot.className = `dot ${m ? "ready" : "down"}`;
  text("top-model-text", m ? `${m.name} ${m.version}` : "no model loaded");
  if (empty) return;
  const digest = (m && m.digest) || (current && current.digest);
  text("m-name", m ? m.name : current.version ? "" : "(loading)");
  text("m-version", m ? m.version : current.version);
  text("m-digest", shortDigest(digest));
  $("m-digest").title = digest || "";
  const sameAsStore = current && current.digest === digest;
  timeInto("m-promoted", sameAsStore ? current.promoted_at : null);
  text("m-source", sameAsStore ? current.source : m ? "given at start (not from this store)" : null);
  timeInto("m-loaded", m && m.loaded_at);
  text("m-labels", m ? m.labels : null);
  const input = m && m.inputs && m.inputs[0];
  const shape = input && Array.isArray(input.shape) ? `[${input.shape.join(", ")}]` : "";
  text("m-input", input ? `${input.name} ${shape} ${input.dtype || ""}` : null);
  const promotion = promotionOf(digest);
  const key = promotion ? `${promotion.id}` : "none";
  if ($("m-gates").dataset.key !== key) {
    $("m-gates").dataset.key = key;
    renderGates("m-gates", promotion && promotion.gates);
  }
}

function renderWatcher() {
  const w = state.status && state.status.watcher;
  const pill = $("w-state");
  const stateName = w ? w.state : "off";
  pill.textContent = w ? w.state : "not running";
  pill.className = `pill ${stateName}`;
  text("w-source", w ? w.source : "This server runs no watcher (start it with serve --watch SOURCE).");
  timeInto("w-last", w && w.last_check_at);
  timeInto("w-next", w && w.state !== "stopped" ? w.next_check_at : null);
  text("w-result", w && w.last_result);
  text("w-error", w && w.last_error);
  $("w-error").classList.toggle("error-text", Boolean(w && w.last_error));
  const select = $("rollback-to");
  const previous = (state.status && state.status.previous) || [];
  const options = [["", "previous version"], ...previous.map((p) => [p.version || p.digest, `${p.version || shortDigest(p.digest)} · ${ago(p.promoted_at)}`])];
  const key = JSON.stringify(options.map((o) => o[0]));
  if (select.dataset.key !== key) {
    const chosen = select.value;
    select.dataset.key = key;
    select.replaceChildren(...options.map(([value, label]) => {
      const o = el("option", "", label);
      o.value = value;
      return o;
    }));
    if (options.some((o) => o[0] === chosen)) select.value = chosen;
  }
}

// --- history ------------------------------------------------------------------------------

function stepClass(name) {
  return STEPS.includes(name) ? `step-${name}` : "step-other";
}

function renderLegend() {
  const legend = $("steps-legend");
  legend.replaceChildren(...STEPS.flatMap((s) => {
    const sw = el("span", `sw ${stepClass(s)}`);
    return [sw, document.createTextNode(s)];
  }));
}

function attemptRow(a, scale) {
  const details = el("details", "attempt");
  details.dataset.id = a.id;
  details.dataset.result = a.result;
  const summary = el("summary");
  const when = el("span", "when", ago(a.started_at));
  when.title = stamp(a.started_at);
  const total = (a.steps || []).reduce((sum, s) => sum + (s.ms || 0), 0);
  const ver = el("span", "ver", a.version || shortDigest(a.digest) || "—");
  ver.title = `${a.version || ""} ${a.digest || ""}`.trim();
  const res = el("span", "res");
  res.append(el("span", `badge ${a.result}`, RESULT_NAMES[a.result] || a.result));
  const reason = el("span", "reason", a.reason || (a.result === "promoted" ? "passed every gate" : ""));
  reason.title = a.reason || "";
  const bar = el("span", "bar");
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", (a.steps || []).map((s) => `${s.name} ${ms(s.ms)}`).join(", "));
  for (const s of a.steps || []) {
    const seg = el("span", `${stepClass(s.name)}${s.ok ? "" : " failed-step"}`);
    seg.style.width = `${scale > 0 ? (100 * (s.ms || 0)) / scale : 0}%`;
    seg.title = `${s.name}: ${ms(s.ms)}${s.ok ? "" : " (failed)"}`;
    bar.append(seg);
  }
  summary.append(when, ver, res, reason, bar, el("span", "total", ms(total)));
  const detail = el("div", "detail");
  const table = el("table");
  for (const s of a.steps || []) {
    const tr = el("tr");
    const mark = el("td", s.ok ? "mark-ok" : "mark-bad", `${s.ok ? "✓" : "✗"} ${s.name}`);
    tr.append(mark, el("td", "ms", ms(s.ms)), el("td", "wrap", s.detail || ""));
    table.append(tr);
  }
  detail.append(table);
  const meta = el("p", "small muted wrap", `#${a.id} · ${stamp(a.started_at)} · from ${a.source || "—"} · ${a.digest || ""}`);
  detail.append(meta);
  details.append(summary, detail);
  return details;
}

function renderHistory() {
  const list = $("attempts");
  const shown = state.history.filter((a) => state.filter === "all" || a.result === state.filter);
  const key = `${state.filter}|${state.historyKey}`;
  if (list.dataset.key !== key) {
    const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.dataset.id));
    const scale = Math.max(1, ...shown.map((a) => (a.steps || []).reduce((t, s) => t + (s.ms || 0), 0)));
    const rows = shown.map((a) => {
      const li = el("li");
      const row = attemptRow(a, scale);
      if (open.has(String(a.id))) row.open = true;
      li.append(row);
      return li;
    });
    list.replaceChildren(...rows);
    list.dataset.key = key;
  } else {
    // Only the relative times move.
    list.querySelectorAll("details").forEach((d) => {
      const a = state.history.find((x) => String(x.id) === d.dataset.id);
      if (a) d.querySelector(".when").textContent = ago(a.started_at);
    });
  }
  const empty = $("history-empty");
  empty.hidden = shown.length > 0;
  empty.textContent = state.history.length ? "No attempt with this result." : "No deploy attempts yet.";
}

// --- live traffic -------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

/** Draws series (arrays of numbers or null) into a chart's SVG on a shared y scale. */
function drawChart(figureId, series, { floor = 1, format = (v) => String(v), area = null } = {}) {
  const figure = $(figureId);
  const svg = figure.querySelector("svg");
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = Math.max(floor, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const top = niceCeil(max);
  const x = (i) => (n <= 1 ? 300 : (300 * i) / (n - 1));
  const y = (v) => 100 - (100 * v) / top;
  const nodes = [];
  for (const frac of [0.5, 1]) {
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("class", "grid-line");
    line.setAttribute("x1", "0");
    line.setAttribute("x2", "300");
    line.setAttribute("y1", String(100 - 100 * frac));
    line.setAttribute("y2", String(100 - 100 * frac));
    nodes.push(line);
  }
  for (const s of series) {
    const points = [];
    s.values.forEach((v, i) => {
      if (v !== null) points.push(`${x(i).toFixed(1)},${y(v).toFixed(2)}`);
    });
    if (area === s && points.length) {
      const poly = document.createElementNS(SVG, "polygon");
      poly.setAttribute("class", s.areaClass);
      poly.setAttribute("points", `${points[0].split(",")[0]},100 ${points.join(" ")} ${points[points.length - 1].split(",")[0]},100`);
      nodes.push(poly);
    }
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("class", s.cls);
    line.setAttribute("points", points.join(" "));
    nodes.push(line);
  }
  svg.replaceChildren(...nodes);
  figure.querySelector(".ymax").textContent = format(top);
}

function niceCeil(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

async function refreshTraffic() {
  const r = await api("/v1/traffic");
  if (!r.ok || !r.data) return;
  const samples = r.data.samples || [];
  // The last interval is still filling: leave it out of the lines, so they do not dip.
  const done = samples.length > 1 ? samples.slice(0, -1) : samples;
  const rps = { values: done.map((s) => s.rps), cls: "l-rps", areaClass: "a-rps" };
  drawChart("chart-rps", [rps], { floor: 1, format: (v) => `${v}/s`, area: rps });
  drawChart(
    "chart-latency",
    [
      { values: done.map((s) => s.p50_ms), cls: "l-p50" },
      { values: done.map((s) => s.p95_ms), cls: "l-p95" },
      { values: done.map((s) => s.p99_ms), cls: "l-p99" },
    ],
    { floor: 1, format: (v) => `${v} ms` },
  );
  const rate = (s, k) => (s.requests ? s[k] / s.requests : null);
  drawChart(
    "chart-errors",
    [
      { values: done.map((s) => rate(s, "client_errors")), cls: "l-4xx" },
      { values: done.map((s) => rate(s, "server_errors")), cls: "l-5xx" },
    ],
    { floor: 0.01, format: (v) => pct(v, 0) },
  );
  // The headline numbers: the last 30 s of finished intervals.
  const recent = done.slice(-Math.max(1, Math.round(30 / (r.data.interval_s || 2))));
  const requests = recent.reduce((t, s) => t + s.requests, 0);
  const seconds = recent.length * (r.data.interval_s || 2);
  text("now-rps", seconds ? (requests / seconds).toFixed(1) : "0");
  const last = [...recent].reverse().find((s) => s.p50_ms !== null);
  text("now-latency", last ? `${ms(last.p50_ms)} · ${ms(last.p95_ms)} · ${ms(last.p99_ms)}` : "—");
  const errors = recent.reduce((t, s) => t + s.client_errors + s.server_errors, 0);
  text("now-errors", requests ? pct(errors / requests) : "—");
}

// --- the refresh loop ---------------------------------------------------------------------

async function refresh() {
  const [status, history] = await Promise.all([api("/v1/status"), api("/v1/history?limit=100")]);
  state.status = status.ok ? status.data : null;
  if (history.ok && Array.isArray(history.data)) {
    state.history = history.data;
    state.historyKey = history.data.map((a) => `${a.id}:${a.result}`).join(",");
  }
  // Without a watcher the server always serves a model (--model, the store's, or the demo); with
  // one, a store without a current model means none is loaded yet: do not ask for it then.
  const current = state.status && state.status.current;
  const watcher = state.status && state.status.watcher;
  let model = { ok: false, status: 503 };
  if (!state.status || !watcher || (current && current.digest)) model = await api("/v1/model");
  state.model = model.ok ? model.data : null;
  const reachable = [status, history, model].some((r) => r.status !== 0);
  if (!reachable) banner("The server does not answer. Retrying…");
  else if (state.needsToken) banner(TOKEN_NEEDED);
  else banner(status.ok || status.status === 404 ? null : status.error);
  if (reachable) state.lastOk = Date.now();
  renderServing();
  renderWatcher();
  renderHistory();
  document.body.dataset.loaded = "true";
}

function banner(message) {
  const b = $("banner");
  b.hidden = !message;
  if (message && b.textContent !== message) b.textContent = message;
}

function tick() {
  if (state.lastOk) text("updated", `updated ${ago(new Date(state.lastOk).toISOString())}`);
}

const TOKEN_NEEDED = "This server needs an API token for its data: use the “API token” button.";

function needToken() {
  state.needsToken = true;
  banner(TOKEN_NEEDED);
}

// --- try it -------------------------------------------------------------------------------

async function predict(file) {
  const out = $("predictions");
  if (!file) return;
  const preview = $("preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  $("drop-text").textContent = file.name;
  out.replaceChildren(el("div", "muted", "Predicting…"));
  const form = new FormData();
  form.append("image", file, file.name);
  const r = await api("/predict?top_k=5", { method: "POST", body: form });
  if (!r.ok) {
    out.replaceChildren(el("div", "error-text", r.error));
    return;
  }
  const rows = (r.data.predictions || []).map((p) => {
    const row = el("div", "pred");
    row.dataset.label = p.label;
    const name = el("span", "name", p.label);
    const extras = Object.entries(p).filter(([k]) => !["index", "label", "probability"].includes(k));
    for (const [, v] of extras) name.append(el("span", "extra", String(v)));
    const bar = el("span", "pbar");
    const fill = el("span");
    fill.style.width = `${Math.max(0, Math.min(100, p.probability * 100))}%`;
    bar.append(fill);
    row.append(name, el("span", "p", pct(p.probability)), bar);
    return row;
  });
  const t = r.data.timings_ms || {};
  const m = r.data.model || {};
  const meta = el("div", "pred-meta small", `${m.name || ""} ${m.version || ""} · ${ms(t.total)} (decode ${ms(t.decode)}, preprocess ${ms(t.preprocess)}, inference ${ms(t.inference)})`);
  out.replaceChildren(...rows, meta);
}

function setUpDrop() {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => predict(input.files[0]));
  for (const ev of ["dragenter", "dragover"]) {
    drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const ev of ["dragleave", "drop"]) {
    drop.addEventListener(ev, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) predict(file);
  });
}

// --- actions ------------------------------------------------------------------------------

function confirmAction(message) {
  const dialog = $("confirm");
  $("confirm-text").textContent = message;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

function actionResult(ok, message) {
  const p = $("action-result");
  p.className = `result small ${ok ? "ok" : "bad"}`;
  p.textContent = message;
}

async function adminAction(question, path, json, describe) {
  if (!(await confirmAction(question))) {
    actionResult(true, "Cancelled.");
    return;
  }
  // Sent even without a token: the server is the one that decides, and says why.
  const r = await api(path, { method: "POST", admin: true, json });
  if (r.ok) actionResult(true, describe(r.data));
  else if (r.status === 401) {
    const why = token(ADMIN_KEY) ? "the admin token was not accepted" : "this needs the admin token (enter it above)";
    actionResult(false, `Refused: ${why} (${r.status}).`);
  }
  else if (r.status === 404) actionResult(false, "Admin routes are off on this server: start it with --admin-token-file.");
  else actionResult(false, `Failed: ${r.error}`);
  refresh();
}

function setUpActions() {
  const input = $("admin-token");
  if (token(ADMIN_KEY)) input.placeholder = "a token is kept for this tab";
  $("admin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    sessionStorage.setItem(ADMIN_KEY, value);
    input.value = "";
    input.placeholder = "a token is kept for this tab";
    actionResult(true, "Admin token kept for this tab.");
  });
  $("admin-forget").addEventListener("click", () => {
    sessionStorage.removeItem(ADMIN_KEY);
    input.placeholder = "kept for this tab only";
    actionResult(true, "Admin token forgotten.");
  });
  $("act-deploy").addEventListener("click", () =>
    adminAction("Check the watched source and deploy what is new now?", "/admin/deploy", undefined, (d) => `Deploy: ${d.status || "requested"}.`),
  );
  $("act-rollback").addEventListener("click", () => {
    const to = $("rollback-to").value;
    const target = to || "the previous version";
    adminAction(`Roll back to ${target}? The version serving now will be marked rejected.`, "/admin/rollback", to ? { to } : {}, (d) => {
      const r = d.rolled_back || {};
      return `Rolled back: now serving ${r.version || target}.`;
    });
  });
  $("act-watch-on").addEventListener("click", () =>
    adminAction("Resume the watcher?", "/admin/watch", { enabled: true }, (d) => `Watcher ${d.watch && d.watch.enabled ? "resumed" : "paused"}.`),
  );
  $("act-watch-off").addEventListener("click", () =>
    adminAction("Pause the watcher? No new version will be deployed until it is resumed.", "/admin/watch", { enabled: false }, (d) => `Watcher ${d.watch && d.watch.enabled ? "resumed" : "paused"}.`),
  );
}

function setUpToken() {
  const dialog = $("token-dialog");
  $("token-button").addEventListener("click", () => {
    $("api-token").value = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    const value = $("api-token").value.trim();
    if (dialog.returnValue === "ok" && value) {
      sessionStorage.setItem(TOKEN_KEY, value);
      state.needsToken = false;
      banner(null);
      refresh();
      refreshTraffic();
    }
  });
}

function setUpFilters() {
  $("filters").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-filter]");
    if (!button) return;
    state.filter = button.dataset.filter;
    for (const b of $("filters").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(b === button));
    }
    renderHistory();
  });
}

function every(fn, period) {
  fn();
  setInterval(() => {
    if (!document.hidden) fn();
  }, period);
}

document.addEventListener("DOMContentLoaded", () => {
  renderLegend();
  setUpFilters();
  setUpDrop();
  setUpActions();
  setUpToken();
  every(refresh, REFRESH_MS);
  every(refreshTraffic, TRAFFIC_MS);
  setInterval(tick, 1000);
});
