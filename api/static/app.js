// The coordinators' page: sign in with a key, upload a workbook, solve, watch, read, download, publish.
// It speaks only the public JSON API, with the key in the X-API-Key header (kept in this tab's sessionStorage).
"use strict";

const $ = (id) => document.getElementById(id);
let currentInstance = null;
let currentPlan = null;
let pollTimer = null;

function key() { return sessionStorage.getItem("cart-api-key"); }

async function api(method, path, body, isForm) {
  const headers = { "X-API-Key": key() || "" };
  let payload;
  if (isForm) { payload = body; } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("application/json") ? await response.json() : await response.blob();
  return { status: response.status, data };
}

function show(id, visible) { $(id).hidden = !visible; }

function text(value) { return value === null || value === undefined ? "–" : String(value); }

function measures(values) {
  if (!values) return "–";
  return Object.entries(values).map(([k, v]) => `${k} ${v}`).join(", ");
}

// ----- sign in --------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  sessionStorage.setItem("cart-api-key", $("api-key").value.trim());
  const answer = await api("GET", "/v1/plans?limit=20");
  if (answer.status !== 200) {
    sessionStorage.removeItem("cart-api-key");
    $("sign-in-error").textContent = answer.status === 403
      ? "This key is not a coordinator's key." : "This key is not valid.";
    return;
  }
  $("sign-in-error").textContent = "";
  enter(answer.data);
}

function enter(plans) {
  show("sign-in-panel", false);
  show("upload-panel", true);
  show("plans-panel", true);
  show("sign-out", true);
  $("who").textContent = "signed in";
  renderPlans(plans);
}

function signOut() {
  sessionStorage.removeItem("cart-api-key");
  location.reload();
}

// ----- upload and check -------------------------------------------------------------------------

// One paragraph of text in a container: file names and server texts are never read as HTML.
function say(containerId, cls, id, message) {
  const paragraph = document.createElement("p");
  paragraph.className = cls;
  if (id) paragraph.id = id;
  paragraph.textContent = message;
  $(containerId).replaceChildren(paragraph);
}

async function checkWorkbook(event) {
  event.preventDefault();
  const file = $("workbook").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  const answer = await api("POST", "/v1/workbooks", form, true);
  const tbody = $("upload-errors").querySelector("tbody");
  tbody.innerHTML = "";
  if (answer.status === 200) {
    currentInstance = answer.data.instance;
    const s = answer.data.summary;
    say("upload-result", "ok", "upload-ok", `${file.name}: ${s.patients} patients, ` +
      `${s.in_progress} in progress, ${s.suites} suites, ${s.operators} operators — ready to solve.`);
    show("upload-errors", false);
    show("solve-form", true);
    return;
  }
  currentInstance = null;
  show("solve-form", false);
  const problems = answer.data.problems || [];
  say("upload-result", "error", "upload-failed", `${file.name}: ${problems.length} problem(s); nothing was submitted.`);
  for (const p of problems) {
    const row = tbody.insertRow();
    for (const value of [p.sheet, p.row, p.column, p.message]) row.insertCell().textContent = text(value);
  }
  show("upload-errors", problems.length > 0);
}

// ----- solve and watch ----------------------------------------------------------------------------

async function startSolve(event) {
  event.preventDefault();
  const limit = Number($("time-limit").value) || 30;
  const answer = await api("POST", `/v1/plans?time_limit=${limit}`, currentInstance);
  if (answer.status !== 202) {
    say("upload-result", "error", "", `The plan was refused: ${answer.data.detail}`);
    return;
  }
  watch(answer.data.id);
}

function watch(planId) {
  currentPlan = planId;
  show("progress-panel", true);
  show("result-panel", false);
  $("cancel").disabled = false;
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = setInterval(poll, 700);
  poll();
}

async function poll() {
  const answer = await api("GET", `/v1/plans/${currentPlan}`);
  if (answer.status !== 200) return;
  const plan = answer.data;
  const progress = plan.progress || {};
  $("plan-id").textContent = `${plan.name} (${plan.id})`;
  $("plan-status").textContent = plan.status;
  $("plan-level").textContent = text(progress.level);
  $("plan-objective").textContent = typeof progress.objective === "object" ? measures(progress.objective) : text(progress.objective);
  $("plan-bound").textContent = typeof progress.bound === "object" ? measures(progress.bound) : text(progress.bound);
  $("plan-elapsed").textContent = plan.elapsed_seconds === null ? "–" : `${plan.elapsed_seconds.toFixed(1)} s`;
  if (["done", "cancelled", "failed"].includes(plan.status)) {
    clearInterval(pollTimer);
    pollTimer = null;
    $("cancel").disabled = true;
    if (plan.result) showResult(plan);
    refreshPlans();
  }
}

async function cancelSolve() {
  $("cancel").disabled = true;
  await api("DELETE", `/v1/plans/${currentPlan}`);
}

// ----- the result ---------------------------------------------------------------------------------

async function showResult(plan) {
  show("result-panel", true);
  $("publish-result").textContent = "";
  $("result-summary").textContent = `${plan.result.status}: ${measures(plan.result.objective)} ` +
    `(proven bound: ${measures(plan.result.bound)}), solved in ${plan.result.solve_seconds} s.`;
  const kpis = await api("GET", `/v1/plans/${plan.id}/kpis`);
  const tbody = $("kpis").querySelector("tbody");
  tbody.innerHTML = "";
  if (kpis.status === 200) {
    for (const [label, value] of kpis.data.table) {
      const row = tbody.insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = value;
    }
  }
  const gantt = await api("GET", `/v1/plans/${plan.id}/gantt`);
  if (gantt.status === 200) {
    Plotly.newPlot("gantt", gantt.data.data, gantt.data.layout, { responsive: true });
  }
}

async function download() {
  const answer = await api("GET", `/v1/plans/${currentPlan}/workbook`);
  if (answer.status !== 200) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(answer.data);
  link.download = `plan-${currentPlan}.xlsx`;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

async function publish() {
  // Publishing is signed: the reason (a fixed one if none is typed) and its meaning go into the audit trail.
  const reason = $("publish-reason").value.trim() || "published from the web page";
  const answer = await api("POST", `/v1/plans/${currentPlan}/publish`, { reason, meaning: "approved for production" });
  const out = $("publish-result");
  if (answer.status === 200) {
    out.className = "ok";
    out.textContent = `Published (version ${answer.data.version}).`;
  } else {
    out.className = "error";
    out.textContent = `Not published: ${answer.data.detail}` + (answer.data.conflicts ? ` — ${answer.data.conflicts.join("; ")}` : "");
  }
}

// ----- recent plans -------------------------------------------------------------------------------

function renderPlans(plans) {
  const tbody = $("plans").querySelector("tbody");
  tbody.innerHTML = "";
  for (const plan of plans) {
    const row = tbody.insertRow();
    row.insertCell().textContent = plan.name;
    row.insertCell().textContent = plan.status;
    row.insertCell().textContent = plan.created_at.replace("T", " ").slice(0, 19);
    row.insertCell().textContent = plan.result ? `${plan.result.status}: ${measures(plan.result.objective)}` : "–";
    const open = document.createElement("button");
    open.textContent = "Open";
    open.addEventListener("click", () => watch(plan.id));
    row.insertCell().appendChild(open);
  }
}

async function refreshPlans() {
  const answer = await api("GET", "/v1/plans?limit=20");
  if (answer.status === 200) renderPlans(answer.data);
}

document.addEventListener("DOMContentLoaded", async () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("upload-form").addEventListener("submit", checkWorkbook);
  $("solve-form").addEventListener("submit", startSolve);
  $("cancel").addEventListener("click", cancelSolve);
  $("download").addEventListener("click", download);
  $("publish").addEventListener("click", publish);
  if (key()) {
    const answer = await api("GET", "/v1/plans?limit=20");
    if (answer.status === 200) enter(answer.data); else sessionStorage.removeItem("cart-api-key");
  }
});
