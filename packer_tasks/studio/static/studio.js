// PROMETEU Studio page. It renders what the packer's results and events say; it decides
// nothing about assets itself. Every state-changing request carries the per-run token.
"use strict";

const TOKEN = document.querySelector('meta[name="studio-token"]').content;
const $ = (sel) => document.querySelector(sel);
const state = { view: null, selected: null, changed: new Set(), ops: new Map(), job: null,
  wizardOp: null, refreshTimer: null, detailsTimer: null };

// -- helpers ------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options = {}) {
  const init = { headers: { "accept": "application/json" }, ...options };
  if (init.method && init.method !== "GET") {
    init.headers["x-prometeu-token"] = TOKEN;
    init.headers["content-type"] = "application/json";
  }
  const response = await fetch(path, init);
  let body = null;
  try { body = await response.json(); } catch (e) { body = { error: `HTTP ${response.status}` }; }
  return { status: response.status, body };
}

const post = (path, payload) => api(path, { method: "POST", body: JSON.stringify(payload || {}) });

function diagnostic(d) {
  return h("div", { class: `diag ${d.severity}`, "data-code": d.code },
    h("span", { class: "code" }, `${d.severity}${d.blocking ? " (blocking)" : ""} ${d.code}`), " ",
    d.path ? h("span", { class: "muted" }, `${d.path}: `) : null, d.message,
    d.hint ? h("div", { class: "hint" }, `hint: ${d.hint}`) : null,
    d.fix ? h("div", { class: "hint" }, `safe fix: ${d.fix}`) : null);
}

function badges(row) {
  const b = row.badge, out = [];
  if (b.blocking) out.push(h("span", { class: "badge blocked" }, "blocked"));
  else out.push(h("span", { class: "badge ok" }, "ok"));
  if (b.errors) out.push(h("span", { class: "badge blocked", title: "errors" }, `${b.errors} error${b.errors > 1 ? "s" : ""}`));
  if (b.warnings) out.push(h("span", { class: "badge warn", title: "warnings" }, `${b.warnings} warning${b.warnings > 1 ? "s" : ""}`));
  if (b.infos) out.push(h("span", { class: "badge info", title: "notes" }, `${b.infos} note${b.infos > 1 ? "s" : ""}`));
  if (state.changed.has(row.root)) out.push(h("span", { class: "badge stale" }, "changed on disk"));
  return out;
}

// -- tabs ---------------------------------------------------------------------------------

function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("active", s.id === `tab-${name}`);
  if (name === "inspect") loadInspect();
  if (name === "wizard" && !state.wizardStarted) wizardOpen();
}

// -- assets workspace ---------------------------------------------------------------------

// One workspace read in flight at a time (a big project's read takes seconds): a refresh
// asked for meanwhile runs once, right after it.
async function loadWorkspace() {
  if (state.loading) { state.reloadAfter = true; return; }
  state.loading = true;
  try {
    await fetchWorkspace();
  } finally {
    state.loading = false;
  }
  if (state.reloadAfter) { state.reloadAfter = false; loadWorkspace(); }
}

async function fetchWorkspace() {
  const { status, body } = await api("/api/workspace");
  if (status !== 200) return;
  state.view = body;
  if (!state.runtimeSeen) onRuntime({ state: body.runtime_state, previous: null, why: "" });
  renderWorkspace();
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => { loadWorkspace(); if (state.selected) openDetails(state.selected, true); }, 250);
}

function matches(row) {
  const q = $("#filter").value.trim().toLowerCase(), fam = $("#family-filter").value, bf = $("#build-filter").value;
  if (fam && row.family !== fam) return false;
  if (bf === "blocked" ? !row.badge.blocking : bf && row.build !== bf) return false;
  if (!q) return true;
  return [row.asset_id, row.root, row.name, row.family].some((v) => v !== null && String(v).toLowerCase().includes(q));
}

function renderWorkspace() {
  const view = state.view;
  if (!view) return;
  $("#workspace-summary").textContent = `${view.summary} · ${view.doctor_summary}${view.busy ? " · packing…" : ""}`;
  const body = $("#assets tbody");
  body.replaceChildren(...view.assets.filter(matches).map((row) => h("tr", {
      "data-root": row.root, "data-id": row.asset_id ?? "",
      class: [state.selected === (row.asset_id ?? row.root) ? "selected" : "", state.changed.has(row.root) ? "changed" : ""].join(" "),
      tabindex: 0, onclick: () => openDetails(row.asset_id ?? row.root),
      onkeydown: (e) => { if (e.key === "Enter") openDetails(row.asset_id ?? row.root); } },
    h("td", {}, row.asset_id ?? "–"), h("td", {}, row.root), h("td", {}, row.name ?? "?"),
    h("td", {}, row.family ?? "?"), h("td", { class: "build" }, row.build), h("td", { class: "badges" }, badges(row)))));
  const pf = view.project.concat(view.diagnostics);
  $("#project-findings").replaceChildren(...(pf.length ? [h("h3", {}, "Project findings"), ...pf.map(diagnostic)] : []));
}

async function openDetails(ref, quiet) {
  state.selected = ref;
  for (const tr of document.querySelectorAll("#assets tbody tr"))
    tr.classList.toggle("selected", String(tr.dataset.id || tr.dataset.root) === String(ref));
  const pane = $("#details");
  if (!quiet) pane.replaceChildren(h("p", { class: "muted" }, "loading…"));
  const { body } = await api(`/api/asset?ref=${encodeURIComponent(ref)}`);
  if (state.selected !== ref) return;
  pane.replaceChildren(renderDetails(body));
  if (body.asset && body.asset.asset_id !== null && body.asset.included_in_build) loadPreview(body.asset);
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function renderDetails(result) {
  const a = result.asset;
  if (!a) return missingDetails(result);
  const diags = (result.findings && result.findings.length) ? result.findings : result.diagnostics;
  return h("div", { "data-root": a.root },
    h("h2", {}, `${a.name ?? a.root}`, " ", h("span", { class: "muted" }, a.asset_id !== null ? `#${a.asset_id}` : "unregistered")),
    h("p", { class: "muted" }, result.summary),
    result.while_packing ? h("p", { class: "badge info", id: "while-packing" }, "a pack is running: shown from the runtime snapshot, refreshed when it ends") : null,
    state.changed.has(a.root) ? h("p", { class: "badge stale" }, "changed on disk since the last pack") : null,
    actionButtons(a),
    h("h3", {}, "Identity and build"),
    kv([["root", `assets/${a.root}`], ["uuid", a.asset_uuid ?? "?"], ["family", a.family ?? "?"],
        ["build", a.included_in_build ? "included" : a.registered ? "excluded" : "unregistered"],
        ["artifacts", a.artifact_count]]),
    h("h3", {}, `Diagnostics (${diags.length})`),
    h("div", { id: "details-diagnostics" }, diags.length ? diags.map(diagnostic) : h("p", { class: "muted" }, "none")),
    h("h3", {}, "Preview (from build/assets.pa)"), h("div", { id: "preview" }, h("p", { class: "muted" }, a.included_in_build ? "loading…" : "not in the build set")),
    h("h3", {}, "Inputs"),
    h("table", { class: "inputs" }, h("tbody", {}, a.inputs.map((i) => h("tr", {},
      h("td", {}, i.file), h("td", { class: "muted" }, i.roles.join(", ")),
      h("td", {}, i.exists ? `${i.size} bytes` : "missing"))))),
    h("div", { class: "two" },
      h("div", {}, h("h3", {}, "Output"), h("pre", {}, JSON.stringify(a.output, null, 2))),
      h("div", {}, h("h3", {}, "Preload"), h("pre", {}, JSON.stringify(a.preload, null, 2)))),
    h("details", {}, h("summary", {}, "Declaration (asset.json)"), h("pre", {}, JSON.stringify(a.declaration, null, 2))));
}

// A quarantined asset has no root to read: offer to restore it instead.
function missingDetails(result) {
  const ref = String(state.selected);
  const q = (state.view ? state.view.assets : []).find((r) => r.quarantined && (r.root === ref || String(r.asset_id) === ref));
  if (!q) return h("div", {}, h("p", {}, result.summary), result.diagnostics.map(diagnostic));
  return h("div", { "data-root": q.root },
    h("h2", {}, q.name ?? q.root, " ", h("span", { class: "muted" }, "quarantined")),
    h("p", {}, `assets/${q.root} is in quarantine (assets/.prometeu/quarantine/): out of the build, identity kept.`),
    h("div", { class: "toolbar actions" }, h("button", { "data-action": "restore",
      onclick: () => consent("restore", { name: q.root }, `Restore ${q.root}`) }, "Restore…")));
}

async function loadPreview(asset) {
  const { status, body } = await api(`/api/preview?id=${asset.asset_id}`);
  const box = $("#preview");
  if (!box || state.selected !== (asset.asset_id ?? asset.root)) return;
  if (status !== 200) { box.replaceChildren(h("p", { class: "muted" }, body.error || "no preview")); return; }
  if (body.kind === "glyph") box.replaceChildren(glyphPreview(asset, body));
  else if (body.kind === "sound") box.replaceChildren(soundPreview(asset, body));
  else box.replaceChildren(h("p", { class: "muted" }, "no preview for this bank type"));
}

function glyphPreview(asset, info) {
  const scale = 2, step = info.tile_size * scale;
  const grid = h("div", { class: "grid" });
  grid.style.backgroundImage = "linear-gradient(to right, rgba(124,108,242,.55) 1px, transparent 1px), linear-gradient(to bottom, rgba(124,108,242,.55) 1px, transparent 1px)";
  grid.style.backgroundSize = `${step}px ${step}px`;
  const stamp = Date.now();
  return h("div", {},
    h("p", { class: "muted" }, `${info.tile_count} tile(s) of ${info.tile_size}×${info.tile_size} on a ${info.width}×${info.height} sheet; index 0 is transparent`),
    h("div", { class: "checker" }, h("img", { id: "glyph-sheet", alt: "glyph sheet", src: `/api/preview/sheet.png?id=${asset.asset_id}&t=${stamp}` }), grid),
    info.palettes.map((p, n) => h("div", { class: "palette" }, h("span", { class: "muted" }, `palette ${n}`),
      h("div", { class: "swatches" }, p.map((c, i) => h("span", { class: `swatch${i === 0 ? " transparent" : ""}`, title: `${i}: ${c}`, style: i === 0 ? null : `background:${c}` }))))));
}

function soundPreview(asset, info) {
  return h("div", {}, info.samples.map((s) => {
    const bar = h("div", { class: "loopbar" });
    if (s.loop_end !== null) {
      const loop = h("div", { class: "loop" });
      loop.style.left = `${100 * s.loop_start / s.frames}%`;
      loop.style.width = `${100 * (s.loop_end - s.loop_start) / s.frames}%`;
      bar.append(loop);
    }
    return h("div", { class: "sample", "data-sample": s.sample_id },
      h("div", {}, `sample ${s.sample_id}: ${s.frames} frames at ${s.sample_rate} Hz (${s.seconds} s)`,
        s.loop_end !== null ? h("span", { class: "muted" }, ` · loop ${s.loop_start}..${s.loop_end}`) : h("span", { class: "muted" }, " · no loop")),
      bar, h("audio", { controls: true, preload: "none", src: `/api/preview/sample.wav?id=${asset.asset_id}&n=${s.sample_id}` }));
  }));
}

// -- actions with consent -----------------------------------------------------------------

function actionButtons(a) {
  const ref = a.asset_id ?? a.root, out = [];
  if (!a.registered) {
    out.push(h("button", { "data-action": "register", onclick: () => confirmSimple("register", { ref: a.root }, `Register ${a.root}? It gets a new, never-reused asset_id.`) }, "Register"));
  } else if (a.included_in_build) {
    out.push(h("button", { "data-action": "exclude", onclick: () => confirmSimple("exclude", { ref }, `Exclude asset ${ref} (${a.root}) from the build? It keeps its identity.`) }, "Exclude"));
  } else {
    out.push(h("button", { "data-action": "include", onclick: () => confirmSimple("include", { ref }, `Put asset ${ref} (${a.root}) back into the build?`) }, "Include"));
  }
  if (a.registered) {
    out.push(h("button", { "data-action": "relocate", onclick: () => {
      const target = prompt(`Move assets/${a.root} to (a root under assets/):`, a.root);
      if (target && target !== a.root) consent("relocate", { ref, new_root: target }, `Relocate ${a.root}`);
    } }, "Relocate…"));
    out.push(h("button", { "data-action": "remove", class: "danger", onclick: () => consent("remove", { ref, delete_files: false }, `Remove asset ${ref} from the registry`) }, "Remove…"));
    out.push(h("button", { "data-action": "remove-files", class: "danger", onclick: () => consent("remove", { ref, delete_files: true }, `Remove asset ${ref} and delete assets/${a.root}`) }, "Remove and delete files…"));
  }
  out.push(h("button", { "data-action": "quarantine", onclick: () => consent("quarantine", { ref }, `Quarantine ${a.root}`) }, "Quarantine…"));
  return h("div", { class: "toolbar actions" }, out);
}

function resultBody(r) {
  if (!r.status) return h("p", { class: "blocked-msg" }, r.error || r.refused || "the request failed");
  return h("div", {},
    h("p", { class: `status-${r.status}` }, h("strong", {}, r.status), ": ", r.summary || r.error || ""),
    (r.proposed_actions || []).length ? h("ul", { class: "proposed" }, r.proposed_actions.map((x) => h("li", {}, `would ${x.kind} ${x.path ?? ""}${x.target ? " → " + x.target : ""}: ${x.description}`))) : null,
    (r.applied_actions || []).length ? h("ul", { class: "applied" }, r.applied_actions.map((x) => h("li", {}, `done ${x.kind} ${x.path ?? ""}${x.target ? " → " + x.target : ""}: ${x.description}`))) : null,
    (r.blockers || []).map(diagnostic));
}

function dialog(title, body, applyLabel, onApply) {
  const dlg = $("#consent");
  $("#consent-title").textContent = title;
  $("#consent-body").replaceChildren(body);
  const apply = $("#consent-apply");
  apply.hidden = !onApply;
  apply.textContent = applyLabel || "Apply";
  apply.onclick = async () => { apply.disabled = true; await onApply(); apply.disabled = false; };
  $("#consent-cancel").textContent = onApply ? "Cancel" : "Close";
  $("#consent-cancel").onclick = () => dlg.close();
  if (!dlg.open) dlg.showModal();
}

async function showOutcome(title, action, payload) {
  const { body } = await post(`/api/actions/${action}`, payload);
  dialog(title, resultBody(body), null, null);
  scheduleRefresh();
}

// Include/exclude/register have no preview in the service: the dialog states the request.
function confirmSimple(action, payload, question) {
  dialog(question, h("p", { class: "muted" }, "Nothing changes until you confirm."), "Confirm",
    () => showOutcome(question, action, payload));
}

// Sensitive actions: the service's preview first; Apply only when it previewed cleanly.
async function consent(action, payload, title) {
  const { body } = await post(`/api/actions/${action}`, { ...payload, apply: false });
  const can = body.status === "preview";
  dialog(title, resultBody(body), can ? "Apply" : null,
    can ? () => showOutcome(title, action, { ...payload, apply: true }) : null);
}

async function openQuarantine() {
  const { body } = await api("/api/quarantine");
  const rows = (body.entries || []).map((q) => h("tr", {}, h("td", {}, q.name), h("td", {}, q.original_root),
    h("td", {}, h("button", { onclick: () => consent("restore", { name: q.name }, `Restore ${q.name}`) }, "Restore…"))));
  dialog("Quarantine", h("div", {}, h("p", {}, body.summary),
    rows.length ? h("table", {}, h("tbody", {}, rows)) : null), null, null);
}

// -- activity -----------------------------------------------------------------------------

function opCard(id) {
  let op = state.ops.get(id);
  if (!op) {
    const el = h("div", { class: "op quiet", "data-op": id },
      h("header", {}, h("strong", { class: "title" }, "operation"), h("span", { class: "opid" }, id), h("span", { class: "counts muted" }, "")),
      h("div", { class: "bar", hidden: true }, h("div", { class: "fill" })), h("div", { class: "bar-label muted", hidden: true }),
      h("ul", {}));
    op = { el, hits: 0, misses: 0, titled: false, named: false };
    state.ops.set(id, op);
    $("#activity").append(el);
    $("#activity-count").textContent = `(${state.ops.size})`;
  }
  return op;
}

// Cache lookups are counted on their operation's card; anything louder gets its own line.
const QUIET_KINDS = new Set(["cache_hit", "cache_miss"]);
// What names an operation's card: its lifecycle or outcome, the latest one winning.
const TITLE_KINDS = new Set(["build_started", "build_finished", "diagnostics_updated", "preview_ready",
  "action_applied", "action_failed", "asset_changed", "asset_discovered"]);
// Operations a person acted on or should notice: never shown as a quiet read.
const LOUD_KINDS = new Set(["build_started", "build_finished", "preview_ready", "action_applied",
  "action_failed", "asset_changed", "runtime_state_changed"]);

function onActivity(m) {
  const op = opCard(m.operation_id);
  const title = op.el.querySelector(".title");
  if (m.kind === "runtime_state_changed") title.textContent = "Runtime freshness";
  else if (TITLE_KINDS.has(m.kind)) { title.textContent = m.title; op.titled = true; }
  else if (!op.titled && !op.named) { title.textContent = m.title; op.named = true; }
  if (LOUD_KINDS.has(m.kind) || m.level !== "info") op.el.classList.remove("quiet");
  if (QUIET_KINDS.has(m.kind) && m.level === "info") {
    if (m.kind === "cache_hit") op.hits += 1; else op.misses += 1;
    op.el.querySelector(".counts").textContent = `cache: ${op.hits} hit(s), ${op.misses} miss(es)`;
  } else {
    op.el.querySelector("ul").append(h("li", { class: m.level, "data-kind": m.kind, "data-seq": m.sequence },
      h("span", { class: "kind" }, m.kind), m.title, m.detail ? h("span", { class: "muted" }, ` — ${m.detail}`) : null));
  }
  if (m.kind === "asset_changed") {
    for (const r of m.asset_roots) state.changed.add(r);
    scheduleRefresh();
  }
  if (m.kind === "build_finished") state.changed.clear();
  if (["action_applied", "action_failed", "build_finished", "runtime_state_changed"].includes(m.kind)) scheduleRefresh();
}

function onProgress(m) {
  const op = opCard(m.operation_id);
  const bar = op.el.querySelector(".bar"), label = op.el.querySelector(".bar-label");
  bar.hidden = false; label.hidden = false;
  bar.querySelector(".fill").style.width = `${Math.round(100 * m.fraction)}%`;
  label.textContent = `${m.current}/${m.total} ${m.label}`;
  if (m.operation_id === state.wizardOp) wizardProgress(m);
}

const RUNTIME_HELP = {
  stale: "Input files changed behind the Studio's snapshot. The Studio reloads them; the last build no longer matches: re-run the Pack Wizard.",
  diverged: "The registry or an asset.json changed on disk (another tool, git, the CLI). The workspace is reloaded from disk; review the changed assets, then pack again.",
  reconciling: "Reloading the workspace from disk…",
  failed: "The packer could not reload the workspace. Fix the files named in the diagnostics, then reload this page.",
};

function onRuntime(m) {
  state.runtimeSeen = true;
  const pill = $("#runtime");
  pill.className = `pill ${m.state}`;
  pill.textContent = `runtime: ${m.state}`;
  const banner = $("#runtime-banner");
  if (RUNTIME_HELP[m.state]) {
    banner.hidden = false;
    banner.className = m.state;
    banner.replaceChildren(h("strong", {}, `Runtime ${m.state}. `), RUNTIME_HELP[m.state], h("div", { class: "muted" }, m.why));
  } else if (m.state === "healthy" && ["stale", "diverged", "reconciling"].includes(m.previous)) {
    banner.hidden = false;
    banner.className = "recovered";
    banner.replaceChildren(h("strong", {}, "Runtime healthy again. "), "The workspace was reloaded from disk; assets changed on disk are marked until the next pack.");
  } else if (m.state === "healthy") {
    banner.hidden = true;
  }
}

function showNotice(text) {
  const banner = $("#runtime-banner");
  banner.hidden = false;
  banner.className = "failed";
  banner.replaceChildren(h("strong", {}, "Studio: "), text);
}

function connectEvents() {
  const source = new EventSource("/api/events");
  source.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "activity") onActivity(m);
    else if (m.type === "progress") onProgress(m);
    else if (m.type === "runtime") onRuntime(m);
    else if (m.type === "job") { onJob(m); scheduleRefresh(); }
    else if (m.type === "notice") showNotice(m.text);
    else if (m.type === "build_changed") { state.changed.clear(); scheduleRefresh(); }
  };
}

// -- pack wizard --------------------------------------------------------------------------

function wizardStep(step) {
  const order = ["summary", "validation", "packing", "result"];
  for (const li of document.querySelectorAll("#wizard-steps li")) {
    const i = order.indexOf(li.dataset.step), cur = order.indexOf(step);
    li.classList.toggle("current", i === cur);
    li.classList.toggle("done", i < cur);
  }
  $("#wizard").dataset.phase = step;
}

function wizardPanel(...children) { $("#wizard").replaceChildren(h("div", { class: "panel" }, ...children)); }

// A pack started before this page was (re)loaded is picked up where it is.
async function wizardOpen() {
  state.wizardStarted = true;
  const { body } = await api("/api/wizard/job");
  if (body.running) packingPhase(body.operation_id);
  else wizardSummary();
}

async function wizardSummary() {
  state.wizardStarted = true;
  wizardStep("summary");
  wizardPanel(h("p", { class: "muted" }, "loading the build set…"));
  const { body } = await api("/api/wizard/summary");
  wizardPanel(h("h2", {}, "Summary"), h("p", {}, body.summary),
    h("table", { id: "wizard-summary" }, h("thead", {}, h("tr", {}, ["id", "name", "family", "artifacts (min..max)"].map((c) => h("th", {}, c)))),
      h("tbody", {}, body.assets.map((a) => h("tr", {}, h("td", {}, a.asset_id), h("td", {}, a.name), h("td", {}, a.family), h("td", {}, `${a.min_artifact_count}..${a.max_artifact_count}`))))),
    (body.blockers || []).map(diagnostic),
    h("div", { class: "toolbar" }, h("button", { id: "wizard-next", class: "primary", onclick: wizardValidation }, "Next: validate")));
}

async function wizardValidation() {
  wizardStep("validation");
  wizardPanel(h("p", { class: "muted" }, "validating (decoding every input)…"));
  const { body } = await api("/api/wizard/validation");
  const green = body.green === true;
  wizardPanel(h("h2", {}, "Validation"),
    h("p", { class: green ? "ok-msg" : "blocked-msg", id: "validation-verdict" }, green ? body.summary : `Blocked: ${body.summary}. Fix these problems, then validate again; the wizard cannot continue while anything blocks.`),
    body.assets.map((row) => h("div", { class: "blocked-asset", "data-root": row.root },
      h("h3", {}, `${row.asset_id ?? "–"} ${row.root} (${row.name ?? "?"})`), row.diagnostics.map(diagnostic))),
    h("div", { class: "toolbar" },
      h("button", { onclick: wizardSummary }, "Back"),
      h("button", { onclick: wizardValidation }, "Validate again"),
      h("button", { id: "wizard-next", class: "primary", disabled: !green, onclick: wizardPack }, "Next: pack")));
}

async function wizardPack() {
  const { status, body } = await post("/api/wizard/pack", {});
  if (status !== 202) { wizardPanel(h("p", { class: "blocked-msg" }, body.error)); return; }
  packingPhase(body.operation_id);
}

function packingPhase(operationId) {
  state.wizardOp = operationId;
  wizardStep("packing");
  wizardPanel(h("h2", {}, "Packing"), h("p", { class: "muted" }, "You can keep browsing assets and reading Activity while it runs."),
    h("div", { class: "bar", id: "wizard-bar" }, h("div", { class: "fill" })), h("p", { id: "wizard-progress", class: "muted" }, "starting…"));
  const existing = state.ops.get(operationId);
  if (existing) { const fill = existing.el.querySelector(".bar .fill"); if (fill) $("#wizard-bar .fill").style.width = fill.style.width; }
  pollJob();
}

function wizardProgress(m) {
  const fill = $("#wizard-bar .fill");
  if (!fill) return;
  fill.style.width = `${Math.round(100 * m.fraction)}%`;
  $("#wizard-progress").textContent = `${m.current}/${m.total} ${m.label}`;
}

async function pollJob() {
  const { body } = await api("/api/wizard/job");
  if (body.operation_id === state.wizardOp && !body.running) onJob(body);
}

function onJob(m) {
  if (m.operation_id !== state.wizardOp || m.running) return;
  if ($("#wizard").dataset.phase === "result") return;
  wizardStep("result");
  const r = m.result;
  if (!r) { wizardPanel(h("h2", {}, "Result"), h("p", { class: "blocked-msg" }, `The pack stopped: ${m.error}`)); return; }
  wizardPanel(h("h2", {}, "Result"),
    h("p", { id: "result-status", class: r.status === "success" ? "ok-msg" : "blocked-msg" }, `${r.status}: ${r.summary}`),
    kv([["status", r.status], ["failure stage", r.failure_stage ?? "—"], ["execution began", r.execution_began ? "yes" : "no"],
        ["assets.pa", r.assets_pa ?? "—"], ["companions", (r.companions || []).join(", ") || "—"],
        ["packed assets", r.packed_assets], ["up to date", r.up_to_date], ["cache hits", r.cache_hits], ["cache misses", r.cache_misses],
        ["elapsed", `${r.elapsed_ms} ms`], ["published", r.published ? "yes" : "no (build/ already held this build)"]]),
    (r.diagnostics || []).map(diagnostic),
    h("div", { class: "toolbar" },
      r.assets_pa ? h("a", { href: "#inspect", id: "inspect-link", onclick: (e) => { e.preventDefault(); showTab("inspect"); } }, "Inspect the new assets.pa") : null,
      h("button", { onclick: wizardSummary }, "Start over")));
}

// -- inspect ------------------------------------------------------------------------------

async function loadInspect() {
  const box = $("#inspect");
  box.replaceChildren(h("p", { class: "muted" }, "reading build/assets.pa…"));
  const { body } = await api("/api/inspect");
  box.replaceChildren(h("h2", {}, "build/assets.pa"), h("p", { id: "inspect-summary" }, body.summary),
    body.header_len !== null ? kv([["file size", `${body.file_size} bytes`], ["header_len", body.header_len], ["payload_offset", body.payload_offset]]) : null,
    h("table", { id: "inspect-table" }, h("thead", {}, h("tr", {}, ["id", "name", "bank", "offset", "size", "decoded", "codec"].map((c) => h("th", {}, c)))),
      h("tbody", {}, body.asset_table.map((e) => h("tr", {}, [e.asset_id, e.asset_name, e.bank_type, e.offset, e.size, e.decoded_size, e.codec].map((v) => h("td", {}, v)))))),
    h("p", {}, "preload: ", body.preload.map((p) => `${p.asset_id} → slot ${p.slot}`).join(", ") || "none"),
    (body.diagnostics || []).map(diagnostic));
}

// -- start --------------------------------------------------------------------------------

for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
for (const id of ["#filter", "#family-filter", "#build-filter"]) $(id).addEventListener("input", renderWorkspace);
$("#doctor-fix").addEventListener("click", () => consent("doctor_fix", {}, "Doctor's safe fixes"));
$("#restore-open").addEventListener("click", openQuarantine);
connectEvents();
loadWorkspace();
