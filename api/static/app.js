// The coordinators' page: sign in with a key, upload a workbook, solve, watch, read, download, publish,
// and simulate disruptions on the published plan (summary and histograms).
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
  loadSimulations();
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
    loadSimulations();
  } else {
    out.className = "error";
    out.textContent = `Not published: ${answer.data.detail}` + (answer.data.conflicts ? ` — ${answer.data.conflicts.join("; ")}` : "");
  }
}

// ----- simulations of the published plan -------------------------------------------------------------

let publishedPlan = null;
let currentSimulation = null;
let simulationTimer = null;
const SIMULATION_MEASURES = [
  "treated_weight", "treated_patients", "late_or_untreated", "failed_batches",
  "rescued_patients", "rescue_delay_days_mean", "date_changes", "vein_to_vein_days_mean",
];
// Histograms: [title, measure, pooled over patients (true) or one value per run (false)].
const SIMULATION_PANELS = [
  ["Treated weight per run", "treated_weight", false],
  ["Patients late or untreated per run", "late_or_untreated", false],
  ["Rescue delay per rescued patient (days)", "rescue_delay_days", true],
];
const VARIANT_COLOURS = { policy: "#1f77b4", do_nothing: "#d62728", clairvoyant: "#2ca02c" };

async function loadSimulations() {
  const published = await api("GET", "/v1/published");
  show("simulation-panel", true);
  if (published.status !== 200) {
    publishedPlan = null;
    $("simulation-plan").textContent = "No plan is published yet: publish one to simulate it.";
    $("simulate").disabled = true;
    return;
  }
  publishedPlan = published.data.plan_id;
  $("simulate").disabled = false;
  $("simulation-plan").textContent = `Published plan ${published.data.instance.name} (${publishedPlan}).`;
  const latest = await api("GET", `/v1/plans/${publishedPlan}/simulations?limit=1`);
  if (latest.status === 200 && latest.data.length) watchSimulation(latest.data[0].id);
}

async function startSimulation(event) {
  event.preventDefault();
  if (!publishedPlan) return;
  const body = {
    runs: Number($("simulation-runs").value),
    seed: Number($("simulation-seed").value),
    policy: $("simulation-policy").value,
    rates: {},
  };
  const failure = $("simulation-failure-rate").value.trim();
  if (failure !== "") body.rates.failure_rate = Number(failure);
  const answer = await api("POST", `/v1/plans/${publishedPlan}/simulations`, body);
  if (answer.status !== 202) {
    $("simulation-status").className = "error";
    const problems = (answer.data.problems || []).map((p) => `${p.path}: ${p.message}`).join("; ");
    $("simulation-status").textContent = `Not started: ${answer.data.detail}` + (problems ? ` — ${problems}` : "");
    return;
  }
  watchSimulation(answer.data.id);
}

function watchSimulation(simulationId) {
  currentSimulation = simulationId;
  show("simulation-summary", false);
  $("simulation-plots").replaceChildren();
  if (simulationTimer) clearInterval(simulationTimer);
  simulationTimer = setInterval(pollSimulation, 1000);
  pollSimulation();
}

async function pollSimulation() {
  const answer = await api("GET", `/v1/simulations/${currentSimulation}`);
  if (answer.status !== 200) return;
  const simulation = answer.data;
  const progress = simulation.progress || {};
  $("simulation-status").className = simulation.status === "failed" ? "error" : "";
  $("simulation-status").textContent =
    `Simulation ${simulation.id}: ${simulation.status}, ${text(progress.runs_done ?? 0)} of ${simulation.runs} runs ` +
    `(seed ${simulation.seed}, policy ${simulation.policy})` + (simulation.error ? ` — ${simulation.error}` : "");
  const running = ["queued", "running"].includes(simulation.status);
  show("simulation-cancel", running);
  if (!running && simulation.status !== "cancelling") {
    clearInterval(simulationTimer);
    simulationTimer = null;
    if (simulation.report) showSimulation(simulation.report);
  }
}

async function cancelSimulation() {
  show("simulation-cancel", false);
  await api("DELETE", `/v1/simulations/${currentSimulation}`);
}

function interval(summary) {
  if (!summary || summary.mean === null || summary.mean === undefined) return "–";
  const [low, high] = summary.ci95 || [summary.mean, summary.mean];
  return `${summary.mean.toFixed(2)} [${low.toFixed(2)}, ${high.toFixed(2)}]`;
}

function showSimulation(report) {
  // The stored report's keys are sorted: show the policy first, then its two references.
  const variants = ["policy", "do_nothing", "clairvoyant"].filter((v) => v in report.summary);
  const head = $("simulation-summary").querySelector("thead tr");
  head.replaceChildren();
  for (const label of ["mean [95 % CI]", ...variants]) {
    const cell = document.createElement("th");
    cell.textContent = label;
    head.appendChild(cell);
  }
  const tbody = $("simulation-summary").querySelector("tbody");
  tbody.replaceChildren();
  for (const measure of SIMULATION_MEASURES) {
    const row = tbody.insertRow();
    row.insertCell().textContent = measure;
    for (const variant of variants) row.insertCell().textContent = interval(report.summary[variant][measure]);
  }
  const invalid = report.checks.invalid_plans.length;
  const row = tbody.insertRow();
  row.insertCell().textContent = "final plans valid";
  row.insertCell().textContent = `${report.checks.plans_validated - invalid} of ${report.checks.plans_validated}`;
  show("simulation-summary", true);
  const plots = $("simulation-plots");
  plots.replaceChildren();
  SIMULATION_PANELS.forEach(([title, measure, pooled], index) => {
    const box = document.createElement("div");
    box.id = `simulation-plot-${index}`;
    box.className = "simulation-plot";
    plots.appendChild(box);
    const traces = variants.map((variant) => ({
      type: "histogram",
      name: variant,
      opacity: 0.6,
      marker: { color: VARIANT_COLOURS[variant] },
      x: report.runs.flatMap((run) => {
        const value = (run[variant] || {})[measure];
        if (pooled) return value || [];
        return value === null || value === undefined ? [] : [value];
      }),
    }));
    Plotly.newPlot(box, traces, { title: { text: title }, barmode: "overlay", height: 300 }, { responsive: true });
  });
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
  $("simulation-form").addEventListener("submit", startSimulation);
  $("simulation-cancel").addEventListener("click", cancelSimulation);
  if (key()) {
    const answer = await api("GET", "/v1/plans?limit=20");
    if (answer.status === 200) enter(answer.data); else sessionStorage.removeItem("cart-api-key");
  }
});
