// The playground page: live diagnostics as you type (POST /api/check), solves with live progress
// (POST /api/solve, then server-sent events), the answer table and downloads. No framework.
"use strict";

const EXAMPLES = {
  "three digits (134)": `digits first, second, third
first is odd
second = first + 2
first + second = third
third is not 7
third has no closed circle
`,
  "a loop": `# twice the sum is 18, the difference is 3, the larger one has a loop
digits u, v
(u + v) * 2 = 18
u - v = 3
u contains a closed circle
v is not even
`,
  "one true claim": `digits a, b, c
exactly one of { a is even; b > c; a + b = 9 }
if a is odd then b has a closed circle
all different a, b, c
a + b + c = 12
c is odd and c > a
`,
  "a product": `a, b: digit
a * b = 24
a < b
a is odd
b has a closed circle
`,
};

const $ = (id) => document.getElementById(id);
const editor = $("editor"), backdrop = $("backdrop");
let uploads = {};                 // file name → base64
let current = null;               // {id, source: EventSource}
let checkTimer = null, checkSeq = 0;

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

// ── the editor's marks ──
function offsetOf(text, line, column) {
  // 1-based line and column → an index into text (columns count characters of that line)
  let index = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf("\n", index);
    if (next < 0) return text.length;
    index = next + 1;
  }
  return Math.min(text.length, index + column - 1);
}

function drawMarks(diagnostics) {
  const text = editor.value;
  const spans = diagnostics.filter((d) => d.line).map((d) => {
    const start = offsetOf(text, d.line, d.column);
    let end = d.end ? offsetOf(text, d.end.line, d.end.column) : start + 1;
    if (end <= start) end = start + 1;
    return {start, end, severity: d.severity};
  }).sort((a, b) => a.start - b.start);
  let html = "", at = 0;
  for (const s of spans) {
    if (s.start < at) continue;                       // overlapping marks: the first wins
    html += escapeHtml(text.slice(at, s.start));
    const marked = text.slice(s.start, s.end) || " ";
    html += `<mark class="${s.severity}">${escapeHtml(marked.replace(/\n/g, " "))}</mark>`;
    at = s.end;
  }
  html += escapeHtml(text.slice(at)) + "\n";
  backdrop.innerHTML = html;
  backdrop.scrollTop = editor.scrollTop;
}

function showDiagnostics(report) {
  const list = $("diagnostics"), status = $("check-status");
  const diags = report.diagnostics || [];
  drawMarks(diags);
  list.innerHTML = "";
  for (const d of diags) {
    const li = document.createElement("li");
    li.className = d.severity;
    const where = d.line ? `${d.line}:${d.column}` : "";
    li.innerHTML = `<span class="where">${where}</span><b>${d.severity}[${d.code}]</b> ${escapeHtml(d.message)}` +
      (d.label ? ` — ${escapeHtml(d.label)}` : "") + (d.help ? `<span class="help">help: ${escapeHtml(d.help)}</span>` : "");
    if (d.line) li.addEventListener("click", () => {
      const i = offsetOf(editor.value, d.line, d.column);
      editor.focus();
      editor.setSelectionRange(i, d.end ? offsetOf(editor.value, d.end.line, d.end.column) : i + 1);
    });
    list.appendChild(li);
  }
  const errors = diags.filter((d) => d.severity === "error").length;
  if (errors) {
    status.textContent = `${errors} error${errors > 1 ? "s" : ""}`;
    status.className = "bad";
  } else {
    const n = report.unknowns.length, count = report.solution_count;
    const estimate = report.solution_estimate, budget = report.counted_within_s;
    const sols = count === undefined || count === null ?
      (estimate ? ` · about ${estimate.toExponential(1)} solutions` :
        budget ? ` · not counted within ${budget} s` : "") :
      count === 1 ? " · exactly one solution" : ` · ${count.toLocaleString()} solutions`;
    status.textContent = `${n} unknown${n !== 1 ? "s" : ""} · ${report.statements.length} statements${sols} · ready to solve`;
    status.className = "good";
  }
  $("solve").disabled = errors > 0 || current !== null;
}

async function check() {
  const seq = ++checkSeq;
  try {
    const response = await fetch("/api/check", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({text: editor.value, files: uploads}),
    });
    const report = await response.json();
    if (seq !== checkSeq) return;                       // an older answer than the text
    if (!response.ok) {
      $("check-status").textContent = report.detail || `check failed (${response.status})`;
      $("check-status").className = "bad";
      return;
    }
    showDiagnostics(report);
  } catch (e) {
    if (seq === checkSeq) { $("check-status").textContent = `cannot reach the server: ${e}`; $("check-status").className = "bad"; }
  }
}

async function format() {
  // riddle fmt on the server: spaces only, the same riddle; a text that does not parse stays as it is
  const response = await fetch("/api/format", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({text: editor.value}),
  });
  const answer = await response.json();
  if (!response.ok) {
    $("check-status").textContent = `not formatted: ${answer.detail}`;
    $("check-status").className = "bad";
    return;
  }
  if (answer.text !== editor.value) {
    editor.value = answer.text;
    scheduleCheck();
  }
}

function scheduleCheck() {
  drawMarks([]);                                        // old marks would sit at the wrong places
  $("check-status").textContent = "checking…";
  $("check-status").className = "";
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 250);
}

// ── solving ──
// a sampling method takes no steps: its field is greyed and not sent (the server's options say which)
function followMethod() {
  const sampling = $("method").selectedOptions[0]?.hasAttribute("data-samples") ?? false;
  $("steps").disabled = sampling;
  // auto samples wherever the riddle allows it (its answer says when it chose to optimise instead)
  $("count-word").textContent = sampling || $("method").value === "auto" ? "samples" : "restarts";
  $("steps-field").classList.toggle("unused", sampling);
}

function settings() {
  const out = {method: $("method").value};
  if ($("models").value !== "default") out.models = $("models").value;   // else the riddle's own line decides
  for (const key of ["restarts", "steps", "seed"]) {
    if ($(key).disabled) continue;
    const v = $(key).value.trim();
    if (v !== "") out[key] = Number(v);
  }
  return out;
}

function setRunning(running) {
  $("solve").disabled = running;
  $("cancel").disabled = !running;
}

async function solve() {
  $("solve-error").hidden = true;
  $("result").hidden = true;
  $("empty").hidden = true;
  $("progress-box").hidden = false;
  $("preview-box").hidden = true;
  $("progress").value = 0;
  $("progress-text").textContent = "sending…";
  setRunning(true);
  let response;
  try {
    response = await fetch("/api/solve", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({text: editor.value, settings: settings(), files: uploads}),
    });
  } catch (e) { return failed(`cannot reach the server: ${e}`); }
  const body = await response.json();
  if (!response.ok) return failed(body.detail || `the server said ${response.status}`);
  const source = new EventSource(body.events);
  current = {id: body.id, source};
  source.addEventListener("queued", (e) => {
    const d = JSON.parse(e.data);
    $("progress-text").textContent = d.position ? `waiting: ${d.position} solve${d.position > 1 ? "s" : ""} ahead` : "starting…";
  });
  source.addEventListener("started", () => { $("progress-text").textContent = "starting: loading the networks…"; });
  source.addEventListener("progress", (e) => {
    const d = JSON.parse(e.data);
    $("progress").value = d.step / d.total;
    $("progress-text").textContent = d.alpha === null
      ? `${d.step} of ${d.total} accepted · ${d.drawn.toLocaleString()} drawn`
      : `step ${d.step} of ${d.total} · α ${d.alpha}` + (d.round > 1 ? ` · round ${d.round}` : "") +
        (d.restart !== null ? ` · restart ${d.restart + 1}` : "");
    if (d.image) { $("preview").src = d.image; $("preview-box").hidden = false; }
  });
  source.addEventListener("result", (e) => { finish(); showResult(JSON.parse(e.data)); });
  source.addEventListener("error", (e) => {
    if (!e.data) {                                     // the connection itself failed
      if (source.readyState === EventSource.CLOSED) { finish(); failed("the connection to the server was lost"); }
      return;
    }
    finish();
    const d = JSON.parse(e.data);
    if (d.diagnostics) showDiagnostics({diagnostics: d.diagnostics, unknowns: [], statements: []});
    failed(d.message);
  });
  source.addEventListener("cancelled", () => { finish(); failed("cancelled"); });
}

function finish() {
  if (current) current.source.close();
  current = null;
  setRunning(false);
}

function failed(message) {
  finish();
  $("progress-box").hidden = true;
  $("solve-error").textContent = message;
  $("solve-error").hidden = false;
}

function pct(x) { return `${Math.round(100 * x)} %`; }

function showResult(data) {
  const r = data.result;
  $("progress-box").hidden = true;
  $("result").hidden = false;
  const names = r.unknowns;
  if (r.answer === null) {
    $("answer").textContent = "none";
    $("verdict").textContent = r.symbolic.solution_count === 0 ? "the statements contradict each other" : "";
    $("verdict").className = "bad";
  } else {
    $("answer").textContent = names.map((n, i) => `${n}=${r.answer[i]}`).join(" ");
    $("verdict").textContent = r.answer_correct ? "✓ a solution, as the judge reads it" : "✗ not a solution";
    $("verdict").className = r.answer_correct ? "ok" : "bad";
  }
  const ci = r.success_interval_95;
  $("summary").textContent = r.answer === null ? "" :
    `success ${pct(r.success_rate)} ${r.per_row} of ${r.restarts} ${r.unit} (95 % CI ${pct(ci[0])}–${pct(ci[1])}) · ` +
    `${r.seconds.toFixed(1)} s · ${r.method}, ${r.logic ? r.logic.mode + " logic" : ""}`;
  if (data.image) {
    $("answer-image").src = data.image;
    $("answer-image").hidden = false;
    $("answer-caption").textContent = `${r.unit} that reached the answer (a row each; columns ${names.join(", ")})`;
  } else {
    $("answer-image").hidden = true;
    $("answer-caption").textContent = "";
  }
  $("unit-header").textContent = r.unit;
  const body = $("answer-table").querySelector("tbody");
  body.innerHTML = "";
  for (const row of (r.answers || []).slice(0, 10)) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td><code>${row.answer.join(" ")}</code></td><td>${row.restarts}</td><td>${pct(row.share)}</td>` +
      `<td>${row.mean_elbo.toFixed(1)}</td><td>${row.correct ? "✓ solution" : "✗ " + escapeHtml(row.broken.slice(0, 2).join("; "))}</td>`;
    body.appendChild(tr);
  }
  const links = data.downloads;
  $("downloads").innerHTML = `<a href="${links.json}" download>result.json</a><a href="${links.npz}" download>samples.npz</a>` +
    (links.png ? `<a href="${links.png}" download="answer.png">answer.png</a>` : "");
  $("report").textContent = data.text;
}

async function cancel() {
  if (!current) return;
  $("progress-text").textContent = "cancelling…";
  await fetch(`/api/solve/${current.id}`, {method: "DELETE"});
}

// ── uploads ──
async function readUploads() {
  uploads = {};
  for (const file of $("uploads").files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    uploads[file.name] = btoa(binary);
  }
  $("upload-names").textContent = Object.keys(uploads).map((n) => `"${n}"`).join(", ");
  scheduleCheck();
}

// ── wiring ──
function init() {
  const select = $("examples");
  for (const name of Object.keys(EXAMPLES)) select.add(new Option(name, name));
  select.addEventListener("change", () => { editor.value = EXAMPLES[select.value]; scheduleCheck(); });
  editor.value = EXAMPLES[select.value];
  editor.addEventListener("input", scheduleCheck);
  editor.addEventListener("scroll", () => { backdrop.scrollTop = editor.scrollTop; });
  $("uploads").addEventListener("change", readUploads);
  $("solve").addEventListener("click", solve);
  $("format").addEventListener("click", format);
  $("cancel").addEventListener("click", cancel);
  $("method").addEventListener("change", followMethod);
  followMethod();
  editor.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !$("solve").disabled) { e.preventDefault(); solve(); }
  });
  check();
}

init();
