// specroof explorer: the form's state lives in the URL; each change asks /api/view for
// everything to draw (figures are built by the server, see specroof/web/figures.py).
"use strict";

const EXAMPLE = {
  model: "llama-3-8b", hardware: "h200", method: "draft", draft_model: "llama-3.2-1b",
  acceptance: "chain:0.8", batch: "1,4,16,64", candidates: "1:8:1", seq_len: "1024",
};
const form = document.getElementById("settings");
const fields = Array.from(form.querySelectorAll("[name]"));
const PLOT_CONFIG = { displaylogo: false, responsive: true,
  toImageButtonOptions: { format: "png", scale: 2 }, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
const CHARTS = ["speedup", "heatmap", "waterfall", "roofline"];
const TYPING_DEBOUNCE_MS = 40;  // a typed field's request waits this long for the next keystroke
// The load view (specroof simulate): its own fields, sent to /api/load_view only; the grid's
// fields are not simulate's. It runs once asked (a sweep takes seconds), then follows changes.
const LOAD_FIELDS = Array.from(form.querySelectorAll("[data-load]")).map((el) => el.name);
const GRID_FIELDS = ["batch", "candidates", "seq_len", "max_candidates", "objective", "focus_batch", "focus_n"];
const LOAD_DEBOUNCE_MS = 300;  // a simulation costs the server seconds: wait for typing to stop
let loadInFlight = null;  // the AbortController of the load request on its way, if any
let loadId = 0;
let loadTimer = null;
let engine = "vllm";
let exports = {};
let requestId = 0;
let inFlight = null;  // the AbortController of the request on its way, if any
let undrawn = {};  // chart name -> the newest figure not yet drawn
let drawScheduled = false;  // a drawNextChart is waiting for the next frame

function readState() {
  const state = {};
  for (const el of fields) {
    const v = el.value.trim();
    if (v === "") continue;
    const owner = el.closest("[data-for-method]");
    if (owner && !owner.dataset.forMethod.split(" ").includes(form.method.value)) continue;
    state[el.name] = v;
  }
  return state;
}

function writeState(state) {
  for (const el of fields) {
    el.value = state[el.name] !== undefined ? state[el.name] : (el.name === "method" ? "none" : "");
  }
  showMethodFields();
}

function stateFromUrl() {
  const params = new URLSearchParams(window.location.search);
  if ([...params.keys()].length === 0) return { ...EXAMPLE };
  const state = {};
  for (const [k, v] of params) state[k] = v;
  return state;
}

function showMethodFields() {
  for (const el of form.querySelectorAll("[data-for-method]")) {
    el.hidden = !el.dataset.forMethod.split(" ").includes(form.method.value);
  }
}

function query(state) { return new URLSearchParams(state).toString(); }

async function refresh() {
  const state = readState();
  const qs = query(state);
  history.replaceState(null, "", qs ? "?" + qs : window.location.pathname);
  document.getElementById("api-link").href = "/api/speedup?" + query(apiParams(state));
  if (state.load) scheduleLoad(state);
  const id = ++requestId;
  if (inFlight) inFlight.abort();  // one request per change: the older one's answer would be drawn over
  const controller = inFlight = new AbortController();
  document.body.classList.add("busy");
  let body;
  try {
    const answer = await fetch("/api/view?" + query(withoutLoad(state)), { signal: controller.signal });
    body = await answer.json();
  } catch (err) {
    if (err.name === "AbortError") return;
    body = { error: "the specroof server did not answer (" + err + ")" };
  }
  if (id !== requestId) return;  // a newer state is on its way
  inFlight = null;
  document.body.classList.remove("busy");
  const banner = document.getElementById("error");
  if (body.error) {
    banner.textContent = body.error;
    banner.hidden = false;
    return;
  }
  banner.hidden = true;
  render(body);
}

function apiParams(state) {
  const out = withoutLoad(state);
  for (const k of ["max_candidates", "objective", "focus_batch", "focus_n"]) delete out[k];
  return out;
}

function withoutLoad(state) {  // the speedup views' parameters
  const out = { ...state };
  for (const k of LOAD_FIELDS) delete out[k];
  return out;
}

function loadParams(state) {  // simulate's parameters: the study's settings and the load's
  const out = { ...state };
  for (const k of [...GRID_FIELDS, "load"]) delete out[k];
  return out;
}

function scheduleLoad(state) {
  clearTimeout(loadTimer);
  loadTimer = setTimeout(() => refreshLoad(state), LOAD_DEBOUNCE_MS);
}

async function refreshLoad(state) {
  const id = ++loadId;
  if (loadInFlight) loadInFlight.abort();
  const controller = loadInFlight = new AbortController();
  const status = document.getElementById("load-status");
  status.textContent = "simulating\u2026";
  document.getElementById("view-load").classList.add("busy");
  let body;
  try {
    const answer = await fetch("/api/load_view?" + query(loadParams(state)), { signal: controller.signal });
    body = await answer.json();
  } catch (err) {
    if (err.name === "AbortError") return;
    body = { error: "the specroof server did not answer (" + err + ")" };
  }
  if (id !== loadId) return;  // a newer load state is on its way
  loadInFlight = null;
  document.getElementById("view-load").classList.remove("busy");
  const banner = document.getElementById("load-error");
  banner.hidden = !body.error;
  if (body.error) {
    banner.textContent = body.error;
    status.textContent = "";
    return;
  }
  banner.textContent = "";
  const rates = new Set(body.records.map((r) => r.rate_rps)).size;
  status.textContent = `${body.records.length} simulations (${rates} rates \u00d7 ` +
    `${body.records.length / rates} configurations). ${body.caveat ? "Caveat: " + body.caveat + "." : ""}`;
  Plotly.react(document.getElementById("load-chart"), body.figure.data, body.figure.layout, PLOT_CONFIG);
}

function runLoad() {  // the button: the load view joins the state (and the URL), and follows changes
  form.load.value = "1";
  refresh();
  document.getElementById("view-load").scrollIntoView({ behavior: "smooth", block: "start" });
}

function render(view) {
  document.getElementById("title").textContent = view.title;
  document.getElementById("subtitle").textContent = view.subtitle;
  setNote("note", view.note ? "Acceptance " + view.note + "." : "");
  setNote("caveat", view.caveat ? "Caveat: " + view.caveat + "." : "");
  for (const name of CHARTS) undrawn[name] = view.figures[name];
  drawNextChart();  // the first chart on screen now, the others one per frame, each after a paint
  renderPlan(view.plan);
  exports = view.exports;
  showExport();
  document.getElementById("cache").textContent =
    `result cache: ${view.cache.hits} hits, ${view.cache.misses} computed`;
}

function onScreen(name) {
  const box = document.getElementById(name + "-chart").getBoundingClientRect();
  return box.bottom > 0 && box.top < window.innerHeight;
}

function drawCharts(which) {
  for (const name of CHARTS) if (undrawn[name] && which(name)) drawChart(name);
}

function drawNextChart() {  // one chart (on screen first), then yields so input and paint are not held up
  const name = CHARTS.find((n) => undrawn[n] && onScreen(n)) || CHARTS.find((n) => undrawn[n]);
  if (!name) return;
  drawChart(name);
  if (drawScheduled) return;  // one chain of draws at a time, whatever the number of answers
  drawScheduled = true;
  requestAnimationFrame(() => setTimeout(() => { drawScheduled = false; drawNextChart(); }, 0));
}

function drawChart(name) {
  const fig = undrawn[name];
  delete undrawn[name];
  const el = document.getElementById(name + "-chart");
  Plotly.react(el, fig.data, fig.layout, PLOT_CONFIG);
  if (name === "heatmap" && !el.dataset.clickable) {
    el.dataset.clickable = "yes";
    el.on("plotly_click", (ev) => {  // explain the clicked cell
      const p = ev.points[0];
      form.focus_batch.value = p.y;
      form.focus_n.value = p.x;
      refresh();
    });
  }
}

function setNote(id, text) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.hidden = !text;
}

function renderPlan(plan) {
  // Columns come with their label (units included) and one number of decimals each.
  const table = document.getElementById("plan-table");
  const text = (c) => (c.digits === null ? "text" : "");
  table.tHead.innerHTML = "<tr>" + plan.columns.map((c) =>
    `<th class="${text(c)}" data-column="${c.key}">${escapeHtml(c.label)}</th>`).join("") + "</tr>";
  table.tBodies[0].innerHTML = plan.records.map((r) => {
    const off = r.best_candidates === 1 ? ' class="off"' : "";
    return `<tr${off}>` + plan.columns.map((c) =>
      `<td class="${text(c)}" data-column="${c.key}">${cell(r[c.key], c.digits)}</td>`).join("") + "</tr>";
  }).join("");
}

function cell(value, digits) {
  if (value === null || value === undefined || value === "") return "&ndash;";
  if (typeof value !== "number" || digits === null) return escapeHtml(String(value));
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[ch]));
}

function showExport() {
  document.getElementById("export-text").textContent = exports[engine] || "";
  for (const b of document.querySelectorAll("[data-engine]")) b.classList.toggle("active", b.dataset.engine === engine);
}

async function copyExport() {
  const text = document.getElementById("export-text").textContent;
  const status = document.getElementById("copied");
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {  // no clipboard permission (plain http on another host): select and copy
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  status.textContent = "copied";
  setTimeout(() => { status.textContent = ""; }, 2500);
}

async function upload(input) {
  const file = input.files[0];
  if (!file) return;
  const kind = input.dataset.upload;
  const answer = await fetch("/api/upload?kind=" + kind, { method: "POST", body: await file.arrayBuffer() });
  const body = await answer.json();
  const banner = document.getElementById("error");
  if (body.error) { banner.textContent = body.error; banner.hidden = false; return; }
  if (kind === "model") { form.model.value = body.token; }
  else { form.acceptance.value = body.acceptance || "curve:" + body.token; }
  input.value = "";
  refresh();
}

let timer = null;
function scheduleRefresh(target) {
  // A menu choice is one change: asked at once. A keystroke may have others right behind
  // it: a short wait, so typing "2048" quickly asks once, not four times.
  clearTimeout(timer);
  if (target.tagName === "INPUT") timer = setTimeout(refresh, TYPING_DEBOUNCE_MS);
  else refresh();
}

async function init() {
  const catalog = await loadCatalog();  // catalog.js: fills the method select and the export tabs
  const fill = (select, names) => { for (const n of names) select.add(new Option(n, n)); };
  fill(form.scenario, catalog.scenarios);
  fill(form.hardware, catalog.hardware);
  fill(form.profile, catalog.profiles);
  document.getElementById("models").innerHTML = catalog.models.map((m) => `<option value="${m}">`).join("");
  document.getElementById("max-points").textContent = catalog.max_points.toLocaleString("en-US");
  fillLoad(catalog.load);
  writeState(stateFromUrl());
  form.addEventListener("input", (ev) => {
    if (ev.target.type === "file") return;
    if (ev.target.name === "method") showMethodFields();
    if (ev.target.name === "scenario" && ev.target.value) {
      // a scenario fixes a whole study: start from its settings, then let fields override them
      writeState({ scenario: ev.target.value });
    }
    scheduleRefresh(ev.target);
  });
  form.addEventListener("change", (ev) => { if (ev.target.type === "file") upload(ev.target); });
  for (const b of document.querySelectorAll("[data-engine]")) {
    b.addEventListener("click", () => { engine = b.dataset.engine; showExport(); });
  }
  document.getElementById("copy").addEventListener("click", copyExport);
  document.getElementById("load-run").addEventListener("click", runLoad);
  document.getElementById("reset").addEventListener("click", () => { writeState(EXAMPLE); refresh(); });
  window.addEventListener("scroll", () => requestAnimationFrame(() => drawCharts(onScreen)), { passive: true });
  refresh();
  window.addEventListener("popstate", () => { writeState(stateFromUrl()); refresh(); });
}

function fillLoad(load) {  // the metric menu, the view's defaults as placeholders, the cap
  const metric = form.metric;
  const byKey = Object.fromEntries(load.metrics.map((m) => [m.key, m.label]));
  metric.add(new Option(byKey[load.default_metric], ""));
  for (const m of load.metrics) if (m.key !== load.default_metric) metric.add(new Option(m.label, m.key));
  for (const [name, value] of Object.entries(load.defaults)) form[name].placeholder = value;
  document.getElementById("max-load").textContent = load.max_requests.toLocaleString("en-US");
}

init();
