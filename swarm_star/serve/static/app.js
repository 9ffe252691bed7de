// Swarm Star web view: plain JS, no build step, works offline.
//
// The tree is loaded once (/tree), then kept live by applying each frame of the
// event stream (/events, resumable by frame number) to a small projection that
// mirrors swarm_star.state.projection. Each node owns one DOM row that is updated
// in place, batched per animation frame, so 1,000+ nodes stay responsive.
// Time travel asks the server for the tree exactly as it was at frame N.
// Text from the swarm is always set with textContent, never parsed as HTML.
"use strict";

const $ = (sel) => document.querySelector(sel);
// Opened as /?token=…: the server answered with an HttpOnly cookie that carries the token
// from now on, so it leaves the address bar (history, screen shares, Referer) at once. The
// page's own fetches still send it as a header; URLs (event stream, report, exports) never do.
const params = new URLSearchParams(location.search);
const TOKEN = params.get("token") || "";
if (params.has("token")) {
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
}
const DONE = new Set(["terminated", "failed"]);
// The status words every view shows (swarm_star.models.node.STATUS_WORDS; a test keeps them equal).
const STATUS_WORDS = {
  pending: "pending",
  running: "running",
  waiting_children: "waiting for parts",
  waiting_user: "waiting for you",
  terminated: "done",
  failed: "failed",
};
const word = (status) => STATUS_WORDS[status] || status;

function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (TOKEN) headers["Authorization"] = "Bearer " + TOKEN;
  if (opts.body && typeof opts.body !== "string") {
    headers["Content-Type"] = "application/json";
    opts = Object.assign({}, opts, { body: JSON.stringify(opts.body) });
  }
  return fetch(path, Object.assign({}, opts, { headers })).then(async (r) => {
    const type = r.headers.get("content-type") || "";
    const data = type.includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw new Error((data && data.error) || r.statusText);
    return data;
  });
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const money = (x) => "$" + (x || 0).toFixed(4);
const short = (s, n) => { s = (s || "").replace(/\s+/g, " ").trim(); return s.length > n ? s.slice(0, n - 1) + "…" : s; };
const zero = () => ({ calls: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0 });
const plus = (a, b) => ({ calls: a.calls + b.calls, prompt_tokens: a.prompt_tokens + b.prompt_tokens,
  completion_tokens: a.completion_tokens + b.completion_tokens, cost: a.cost + b.cost });
const tokens = (u) => u.prompt_tokens + u.completion_tokens;
// time run, as swarm_star.render.text.duration writes it: 42 s, 3 min 05 s, 2 h 07 min
function duration(seconds) {
  const s = Math.floor(seconds), pad = (x) => String(x).padStart(2, "0");
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

// ---------------------------------------------------------------- the projection

class Projection {
  constructor(tree) {
    this.nodes = new Map();
    for (const n of tree.nodes) this.nodes.set(n.id, Object.assign({}, n, { usage: Object.assign(zero(), n.usage) }));
    this.frameCount = tree.frame_count;
    this.status = tree.status;
    this.stopReason = tree.stop_reason;
    this.usage = Object.assign(zero(), tree.usage || {});
    this.partial = tree.partial || null;
    this.clock = Object.assign({ run_s: 0, since: null, last: null }, tree.clock || {});
  }

  // Apply one frame; returns the ids of the nodes it changed. A frame already in the
  // loaded snapshot (or seen before a reconnect) is skipped by its number, never by a
  // call key: a call cancelled by a stop and its re-run after resume share a key, and
  // both count (the server's projection and the report sum every call frame).
  apply(frame) {
    const op = frame.op, kind = op.kind, changed = [];
    if (frame.frame < this.frameCount) return changed;
    this.frameCount = frame.frame + 1;
    this.tick(frame.time, kind);
    if (kind === "stop") { this.status = "stopped"; this.stopReason = op.reason; return changed; }
    if (kind === "resume") { this.status = "running"; this.stopReason = null; return changed; }
    if (kind === "save_memory") return changed;
    if (kind === "spawn") {
      if (this.nodes.has(op.node_id)) return changed;
      const parent = op.parent_id ? this.nodes.get(op.parent_id) : null;
      this.nodes.set(op.node_id, { id: op.node_id, parent_id: op.parent_id, children: [], role: op.role,
        action_id: op.action_id, directive: op.directive, status: "pending", report: null, error: null,
        depth: parent ? parent.depth + 1 : 0, usage: zero(), questions: [], calls: [] });
      if (parent) { parent.children.push(op.node_id); changed.push(parent.id); }
      if (this.status === "created") this.status = "running";
      changed.push(op.node_id);
      return changed;
    }
    const node = this.nodes.get(op.node_id);
    if (!node) return changed;
    changed.push(node.id);
    if (kind === "run_action") node.status = "running";
    else if (kind === "llm_call") {
      node.calls.push(op.call_key);
      node.usage = plus(node.usage, op.usage);
      this.usage = plus(this.usage, op.usage);
    } else if (kind === "ask_user") {
      if (!node.questions.some((q) => q.id === op.question_id)) node.questions.push({ id: op.question_id, text: op.question, answer: null });
      node.status = "waiting_user";
    } else if (kind === "user_answer") {
      for (const q of node.questions) if (q.id === op.question_id) q.answer = op.answer;
      node.status = "pending";
    } else if (kind === "await_children") node.status = "waiting_children";
    else if (kind === "terminate") {
      node.status = "terminated"; node.report = op.report; node.partial = op.partial || null;
      if (!node.parent_id) { this.status = "finished"; this.partial = node.partial; this.pause(frame.time); }
    } else if (kind === "fail") {
      node.status = "failed"; node.error = op.error;
      if (!node.parent_id) { this.status = "failed"; this.pause(frame.time); }
    }
    return changed;
  }

  // The run clock, as swarm_star.state.projection.RunClock keeps it: spans of running time
  // from frame times (a stop or the root settling closes one, the next frame opens one).
  tick(time, kind) {
    const c = this.clock;
    if (kind === "stop") this.pause(time);
    else if (c.since === null) c.since = time;
    c.last = time;
  }

  pause(time) {
    const c = this.clock;
    if (c.since !== null) { c.run_s += Math.max(0, time - c.since); c.since = null; }
  }

  elapsed(now) {
    const c = this.clock, end = now === undefined ? c.last : now;
    return c.run_s + (c.since !== null && end !== null ? Math.max(0, end - c.since) : 0);
  }

  root() { for (const n of this.nodes.values()) if (!n.parent_id) return n; return null; }
}

// ---------------------------------------------------------------- the tree view

class TreeView {
  constructor(container, onSelect) {
    this.container = container;
    this.onSelect = onSelect;
    this.rows = new Map();      // id -> {wrap, line, kids, toggle, cost}
    this.manual = new Map();    // id -> true (expanded) / false (collapsed) chosen by the user
    this.dirty = new Set();
    this.pending = false;
    this.selected = null;
  }

  reset(proj) {
    this.proj = proj;
    this.container.textContent = "";
    this.rows.clear();
    this.dirty = new Set();
    // create rows depth-first so siblings keep their spawn order
    const root = proj.root();
    const stack = root ? [root.id] : [];
    while (stack.length) {
      const id = stack.pop();
      const n = proj.nodes.get(id);
      if (!n) continue;
      this.row(id);
      this.dirty.add(id);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
    }
    this.flush();
  }

  touch(ids) {
    for (const id of ids) {
      // a change moves the roll-ups of every ancestor
      for (let n = this.proj.nodes.get(id); n; n = n.parent_id ? this.proj.nodes.get(n.parent_id) : null) this.dirty.add(n.id);
    }
    if (!this.pending) { this.pending = true; requestAnimationFrame(() => this.flush()); }
  }

  row(id) {
    let r = this.rows.get(id);
    if (r) return r;
    const node = this.proj.nodes.get(id);
    const wrap = el("div", "node");
    wrap.dataset.id = id;
    wrap.setAttribute("role", "treeitem");
    const line = el("div", "row-line");
    const toggle = el("span", "toggle");
    const cost = el("span", "cost");
    line.append(toggle, el("span", "dot"), el("span", "nid", id), el("span", "role", node.role),
      el("span", "act", node.action_id.split(".").pop()), el("span", "dir", short(node.directive, 140)), cost);
    const kids = el("div", "kids");
    wrap.append(line, kids);
    line.addEventListener("click", (ev) => {
      if (ev.target === toggle && node.children.length) {
        const collapsed = !wrap.classList.contains("collapsed");
        this.manual.set(id, !collapsed);
        wrap.classList.toggle("collapsed", collapsed);
        toggle.textContent = collapsed ? "▸" : "▾";
        return;
      }
      this.select(id);
    });
    r = { wrap, line, kids, toggle, cost };
    this.rows.set(id, r);
    const parent = node.parent_id ? this.rows.get(node.parent_id) || this.row(node.parent_id) : null;
    (parent ? parent.kids : this.container).appendChild(wrap);
    return r;
  }

  // roll-ups of a subtree: usage, node count, all done, failures in it
  rollup(id, memo) {
    if (memo.has(id)) return memo.get(id);
    const n = this.proj.nodes.get(id);
    let usage = n.usage, count = 1, done = DONE.has(n.status), failed = n.status === "failed" ? 1 : 0;
    for (const c of n.children) {
      const s = this.rollup(c, memo);
      usage = plus(usage, s.usage); count += s.count; done = done && s.done; failed += s.failed;
    }
    const out = { usage, count, done, failed };
    memo.set(id, out);
    return out;
  }

  flush() {
    this.pending = false;
    const memo = new Map();
    const ids = [...this.dirty].sort((a, b) => a.split(".").length - b.split(".").length);
    this.dirty.clear();
    for (const id of ids) {
      const n = this.proj.nodes.get(id);
      if (!n) continue;
      const r = this.row(id);
      const s = this.rollup(id, memo);
      r.wrap.className = "node s-" + n.status + (r.wrap.classList.contains("collapsed") ? " collapsed" : "") + (this.selected === id ? " selected" : "");
      // a finished subtree folds to one row, unless a failure is in it: failures stay in sight
      const collapse = this.manual.has(id) ? !this.manual.get(id) : (s.done && !s.failed && n.children.length > 0 && n.parent_id !== null);
      r.wrap.classList.toggle("collapsed", collapse);
      r.toggle.textContent = n.children.length ? (collapse ? "▸" : "▾") : "";
      const extra = (collapse ? ` · ${s.count} nodes` : (n.children.length ? ` · ${s.count}` : "")) + (s.failed && n.children.length ? ` · ${s.failed} failed` : "");
      r.cost.textContent = `${money(s.usage.cost)} · ${s.usage.calls} calls${extra}`;
      r.line.title = `${n.id} ${word(n.status)}\n${n.directive}`;
    }
  }

  select(id) {
    if (this.selected && this.rows.get(this.selected)) this.rows.get(this.selected).wrap.classList.remove("selected");
    this.selected = id;
    const r = this.rows.get(id);
    if (r) r.wrap.classList.add("selected");
    this.onSelect(id);
  }
}

// ---------------------------------------------------------------- the page

const state = { id: null, proj: null, live: null, past: null, es: null, timer: null };
const tree = new TreeView($("#tree"), (id) => showNode(id));

function route() {
  const m = location.hash.match(/^#\/swarm\/([A-Za-z0-9.-]+)/);
  closeStream();
  if (m) openSwarm(m[1]); else showHome();
}

async function refreshList() {
  const rows = await api("/api/swarms");
  const sel = $("#swarm-select");
  sel.textContent = "";
  sel.append(el("option", null, rows.length ? "— swarms —" : "no swarms yet"));
  sel.options[0].value = "";
  const body = $("#swarm-list tbody");
  body.textContent = "";
  for (const r of rows.slice().reverse()) {
    const shown = r.partial ? `${r.status} (partial: ${r.partial})` : r.status;
    const opt = el("option", null, `${r.swarm_id} · ${shown} · ${short(r.directive, 40)}`);
    opt.value = r.swarm_id;
    if (r.swarm_id === state.id) opt.selected = true;
    sel.append(opt);
    const tr = el("tr");
    tr.append(el("td", null, r.swarm_id), el("td", null, shown), el("td", null, r.nodes), el("td", null, money(r.cost)), el("td", null, short(r.directive, 80)));
    tr.addEventListener("click", () => { location.hash = "#/swarm/" + r.swarm_id; });
    body.append(tr);
  }
}

function showHome() {
  state.id = null;
  $("#home").hidden = false; $("#swarm").hidden = true;
  $("#stop").hidden = $("#resume").hidden = true;
  $("#status").textContent = ""; $("#totals").textContent = "";
  refreshList().catch(() => {});
}

async function openSwarm(id) {
  state.id = id; state.past = null;
  $("#home").hidden = true; $("#swarm").hidden = false;
  $("#panel").replaceChildren(el("p", "hint", "Select a node to see its directive, report and model calls."));
  $("#report").hidden = true;
  refreshList().catch(() => {});
  const [summary, snapshot] = await Promise.all([api(`/api/swarms/${id}`), api(`/api/swarms/${id}/tree`)]);
  if (state.id !== id) return;
  $("#directive").textContent = summary.directive;
  state.proj = new Projection(snapshot);
  tree.reset(state.proj);
  $("#tree").classList.remove("past");
  updateChrome(summary.running_here);
  refreshQuestions();
  openStream(id, snapshot.frame_count);
  clearInterval(state.timer);
  state.timer = setInterval(() => updateTotals(), 1000);
}

function openStream(id, from) {
  closeStream();
  const es = new EventSource(`/api/swarms/${id}/events?from=${from}`);
  state.es = es;
  es.onopen = () => $("#conn").classList.add("on");
  es.onerror = () => $("#conn").classList.remove("on");
  es.addEventListener("frame", (msg) => {
    if (state.id !== id) return;
    const frame = JSON.parse(msg.data);
    const changed = state.proj.apply(frame);
    if (!state.past) tree.touch(changed);
    const kind = frame.op.kind;
    if (kind === "ask_user" || kind === "user_answer" || kind === "stop") refreshQuestions();
    if (tree.selected && changed.includes(tree.selected) && !state.past) scheduleNodeRefresh(tree.selected);
    scheduleChrome(kind === "stop" || kind === "resume" || (kind === "terminate" && frame.op.node_id === "0"));
  });
}

function closeStream() {
  if (state.es) { state.es.close(); state.es = null; }
  $("#conn").classList.remove("on");
}

let chromeQueued = false;
function scheduleChrome(ask) {
  if (ask) { updateChrome(); return; }  // running or not may have changed: ask the server
  if (chromeQueued) return;
  chromeQueued = true;
  requestAnimationFrame(() => { chromeQueued = false; updateChrome(running); });
}

let running = false;
let lastStatus = null;
async function updateChrome(runningHere) {
  const p = state.proj;
  if (!p) return;
  if (runningHere === undefined) {
    try { runningHere = (await api(`/api/swarms/${state.id}`)).running_here; } catch (e) { runningHere = running; }
  }
  if (runningHere !== running || p.status !== lastStatus) refreshList().catch(() => {});
  running = runningHere;
  lastStatus = p.status;
  const status = p.status;
  const shown = state.past ? state.past.proj : p;
  const why = shown.partial ? ` (partial: ${shown.partial})` : (!state.past && p.stopReason ? ` (${p.stopReason})` : "");
  $("#status").textContent = (state.past ? `${shown.status} at frame ${state.past.frame}` : status) + why;
  $("#status").className = "badge " + shown.status + (shown.partial ? " partial" : "");
  $("#report").hidden = state.past !== null || !reportable(p);
  $("#stop").hidden = !running;
  $("#resume").hidden = running || status === "finished" || status === "failed" || status === "created";
  const slider = $("#slider");
  const atEnd = Number(slider.value) >= Number(slider.max);
  slider.max = String(Math.max(p.frameCount - 1, 0));
  if (!state.past && atEnd) slider.value = slider.max;
  $("#frame-label").textContent = state.past ? `frame ${state.past.frame} of ${p.frameCount - 1}` : `frame ${p.frameCount - 1} (live)`;
  updateTotals();
  if (!state.past && reportable(p)) showReport();
  steerChrome();  // steer.js: fork, retry, in flight, the timeline
}

function updateTotals() {
  const p = state.past ? state.past.proj : state.proj;
  if (!p) return;
  // time run, from the frames (RunClock): counts on only while a process here runs the swarm
  const elapsed = p.elapsed(!state.past && running && p.status === "running" ? Date.now() / 1000 : undefined);
  $("#totals").textContent = `${p.nodes.size} nodes · ${p.usage.calls} calls · ${tokens(p.usage)} tokens · ${money(p.usage.cost)} · ${duration(elapsed)}`;
}

let reportShown = null;
function showReport() {
  const id = state.id;
  $("#report").hidden = false;
  for (const fmt of ["md", "html", "pdf"]) {
    const a = $("#export-" + fmt);
    a.href = `/api/swarms/${id}/report?format=${fmt}&download=1`;
  }
  if (reportShown !== id + ":" + state.proj.frameCount) {
    reportShown = id + ":" + state.proj.frameCount;
    $("#report-frame").src = `/api/swarms/${id}/report?format=html`;
  }
}

// Questions and approvals waiting for the user. An approval is a question that names one
// exact tool call or step; it gets Approve / Deny buttons instead of a text box. Its words
// are model-made, so they are set as text only (a <pre>), never parsed as markup.
async function refreshQuestions() {
  const id = state.id;
  const [list, approvals] = await Promise.all([
    api(`/api/swarms/${id}/questions`).catch(() => []),
    api(`/api/swarms/${id}/approvals`).catch(() => []),
  ]);
  if (state.id !== id) return;
  const box = $("#question-list");
  box.textContent = "";
  $("#questions").hidden = list.length === 0;
  const asks = new Set(approvals.map((a) => a.id));
  for (const a of approvals) box.append(approvalCard(id, a));
  for (const q of list) {
    if (asks.has(q.id)) continue;
    const div = el("div", "question");
    div.dataset.question = q.id;
    const text = el("textarea");
    text.rows = 2;
    text.placeholder = "Your answer";
    const btn = el("button", null, "Answer");
    btn.type = "button";
    const err = el("span", "error");
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        await api(`/api/swarms/${id}/questions/${encodeURIComponent(q.id)}/answer`, { method: "POST", body: { text: text.value } });
        div.replaceChildren(el("p", "hint", "Answer sent: " + short(text.value, 120)));
      } catch (e) { err.textContent = e.message; btn.disabled = false; }
    });
    div.append(el("div", null, `${q.node} asks: ${q.text}`), text, btn, err);
    box.append(div);
  }
}

function approvalCard(id, a) {
  const div = el("div", "question approval");
  div.dataset.approval = a.id;
  const yes = el("button", "approve", "Approve");
  const no = el("button", "deny", "Deny");
  yes.type = no.type = "button";
  const err = el("span", "error");
  const send = async (approve) => {
    yes.disabled = no.disabled = true;
    try {
      await api(`/api/swarms/${id}/approvals/${encodeURIComponent(a.id)}`, { method: "POST", body: { approve } });
      div.replaceChildren(el("p", "hint", (approve ? "Approved: " : "Denied: ") + short(a.text, 160)));
    } catch (e) { err.textContent = e.message; yes.disabled = no.disabled = false; }
  };
  yes.addEventListener("click", () => send(true));
  no.addEventListener("click", () => send(false));
  div.append(el("div", null, `${a.node} wants approval for:`), el("pre", "call-text", a.text), yes, no, err);
  return div;
}

let nodeTimer = null;
function scheduleNodeRefresh(id) {
  clearTimeout(nodeTimer);
  nodeTimer = setTimeout(() => showNode(id), 400);
}

async function showNode(id) {
  const panel = $("#panel");
  const src = state.past ? state.past.proj : state.proj;
  const local = src && src.nodes.get(id);
  let full = null;
  try { full = await api(`/api/swarms/${state.id}/nodes/${id}`); } catch (e) { full = null; }
  const n = state.past ? local : (full || local);
  if (!n) {
    panel.replaceChildren(el("p", "hint", state.past ? `Node ${id} does not exist yet at frame ${state.past.frame}.` : `No node ${id}.`));
    return;
  }
  const out = [el("h3", null, `${n.id} · ${n.role} · ${n.action_id}`), el("div", "badge-line", `status: ${word(n.status)}` + (n.partial ? ` (partial: ${n.partial})` : ""))];
  out.push(el("h4", null, "Directive"), el("pre", null, n.directive));
  if (n.report) out.push(el("h4", null, "Report"), el("pre", null, n.report));
  if (n.error) out.push(el("h4", "err", "Error"), el("pre", "err", n.error));
  if (n.questions && n.questions.length) {
    out.push(el("h4", null, "Questions"));
    for (const q of n.questions) out.push(el("pre", null, `Q: ${q.text}\nA: ${q.answer === null ? "(waiting)" : q.answer}`));
  }
  // the heading counts the records listed below; requests sent (retries, a call cancelled by a
  // stop and sent again) are the node's usage.calls, the number the totals add up
  const used = n.usage || zero();
  const listed = full && full.calls_detail ? full.calls_detail.filter((c) => !state.past || c.frame <= state.past.frame) : null;
  const sent = listed && used.calls !== listed.length ? ` · ${used.calls} requests sent` : "";
  out.push(el("h4", null, `Model calls (${listed ? listed.length : used.calls}${sent} · ${money(used.cost)})`));
  if (listed) {
    for (const c of listed) {
      const d = el("details", "call");
      d.append(el("summary", null, `#${c.frame} ${c.purpose} · ${c.model} · ${c.usage.prompt_tokens}+${c.usage.completion_tokens} tokens · ${c.latency_s}s · ${c.attempts} attempt(s) · ${money(c.usage.cost)}`));
      if (c.route) d.append(el("div", "msg-role", `routed: ${c.route}`));
      for (const m of c.request) { d.append(el("div", "msg-role", m.role), el("pre", null, m.content)); }
      d.append(el("div", "msg-role", "reply"), el("pre", null, c.response));
      out.push(d);
    }
  } else out.push(el("p", "hint", "(calls not loaded)"));
  panel.replaceChildren(...out);
}

// time travel
let travelTimer = null;
$("#slider").addEventListener("input", () => {
  const p = state.proj;
  if (!p) return;
  const n = Number($("#slider").value);
  clearTimeout(travelTimer);
  if (n >= p.frameCount - 1) { backToLive(); return; }
  $("#frame-label").textContent = `frame ${n} of ${p.frameCount - 1}`;
  travelTimer = setTimeout(async () => {
    const snap = await api(`/api/swarms/${state.id}/tree?frame=${n}`);
    const proj = new Projection(snap);
    state.past = { frame: n, proj };
    tree.reset(proj);
    $("#tree").classList.add("past");
    if (tree.selected) tree.select(tree.selected);
    $("#live").hidden = false;
    updateChrome(running);
  }, 120);
});

function backToLive() {
  state.past = null;
  $("#live").hidden = true;
  $("#tree").classList.remove("past");
  tree.reset(state.proj);
  if (tree.selected) tree.select(tree.selected);
  $("#slider").value = $("#slider").max;
  updateChrome(running);
}
$("#live").addEventListener("click", backToLive);

$("#stop").addEventListener("click", async () => { await api(`/api/swarms/${state.id}/stop`, { method: "POST" }).catch((e) => alert(e.message)); updateChrome(); });
$("#resume").addEventListener("click", async () => { await api(`/api/swarms/${state.id}/resume`, { method: "POST", body: {} }).catch((e) => alert(e.message)); updateChrome(); });
$("#swarm-select").addEventListener("change", (ev) => { location.hash = ev.target.value ? "#/swarm/" + ev.target.value : "#/"; });

$("#create").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { directive: f.get("directive"), models: {}, limits: {} };
  if (f.get("base_url")) body.models.base_url = f.get("base_url");
  if (f.get("model")) body.models.default_model = f.get("model");
  if (f.get("max_calls")) body.limits.max_calls = Number(f.get("max_calls"));
  if (f.get("max_cost")) body.limits.max_cost = Number(f.get("max_cost"));
  $("#create-error").textContent = "";
  try {
    const res = await api("/api/swarms", { method: "POST", body });
    location.hash = "#/swarm/" + res.swarm_id;
  } catch (e) { $("#create-error").textContent = e.message; }
});

window.addEventListener("hashchange", route);
route();
