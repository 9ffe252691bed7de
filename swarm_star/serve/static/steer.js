// Swarm Star web view, second script (after app.js, whose names it uses: $, el, api, short,
// state, running, updateChrome, refreshQuestions): steering a swarm through its time.
//
// - "Fork here" at the frame slider: a new swarm whose history is frames 0..N (POST /fork);
//   the page opens it, stopped, to be answered differently and resumed.
// - The timeline: a Gantt chart of node activations and model calls (GET /timeline).
// - In flight: the calls and steps a run of this server has started and not yet recorded,
//   with their elapsed time and the streamed pieces of their replies (GET /inflight).
// - "Retry failed": re-run the failed nodes (POST /retry).
// - A report for every swarm that is not running (finished, failed or stopped): reportable().
// Text from the swarm is set with textContent or as an attribute, never parsed as HTML.
"use strict";

// The report and its exports: for any settled or stopped swarm, not only a finished one.
function reportable(p) {
  return Boolean(p) && (p.status === "finished" || p.status === "failed" || p.status === "stopped");
}

const steer = { timer: null, shownFor: null, timelineAt: 0, timelineLoaded: 0, timelineOpen: false };

// Called at the end of updateChrome: the buttons and live sections that depend on the state.
function steerChrome() {
  const p = state.proj;
  if (!p) return;
  if (steer.shownFor !== state.id) {  // another swarm: its own timeline and in-flight list
    steer.shownFor = state.id;
    $("#fork-error").textContent = "";
    $("#inflight").hidden = true;
    if (steer.timelineOpen) loadTimeline(); else $("#timeline-summary").textContent = "";
  }
  const failed = [...p.nodes.values()].some((n) => n.status === "failed");
  $("#retry").hidden = running || state.past !== null || !failed;
  $("#fork").disabled = p.frameCount < 1;
  if (running && steer.timer === null) {  // once per run: updateChrome is called on every frame
    steer.timer = setInterval(pollLive, 1000);
    pollLive();
  } else if (!running) {
    clearInterval(steer.timer);
    steer.timer = null;
    $("#inflight").hidden = true;
    if (steer.timelineOpen && steer.timelineAt !== p.frameCount) loadTimeline();
  }
}

async function pollLive() {
  const id = state.id;
  if (!id) return;
  let data;
  try { data = await api(`/api/swarms/${id}/inflight`); } catch (e) { return; }
  if (state.id !== id) return;
  renderInFlight(data);
  // a running swarm's timeline: redrawn at most every 3 s (each load reads the whole history)
  const due = Date.now() - steer.timelineLoaded > 3000;
  if (steer.timelineOpen && due && state.proj && steer.timelineAt !== state.proj.frameCount) loadTimeline();
}

function renderInFlight(data) {
  const body = $("#inflight-list tbody");
  body.textContent = "";
  const calls = data.calls || [];
  for (const c of calls) {
    const tr = el("tr");
    tr.dataset.node = c.node_id;
    tr.append(el("td", null, c.node_id), el("td", null, `${c.kind === "call" ? "" : c.kind + ": "}${c.purpose}`),
      el("td", null, c.model || ""), el("td", null, `${c.elapsed_s.toFixed(1)} s`),
      el("td", null, c.received ? `${c.received} pieces` : ""));
    body.append(tr);
  }
  $("#inflight").hidden = !data.running_here || calls.length === 0;
}

// ---------------------------------------------------------------- fork

$("#fork").addEventListener("click", async () => {
  const p = state.proj;
  if (!p) return;
  const frame = state.past ? state.past.frame : p.frameCount - 1;
  $("#fork-error").textContent = "";
  try {
    const made = await api(`/api/swarms/${state.id}/fork`, { method: "POST", body: { frame } });
    location.hash = "#/swarm/" + made.swarm_id;
  } catch (e) { $("#fork-error").textContent = e.message; }
});

// ---------------------------------------------------------------- retry

$("#retry").addEventListener("click", async () => {
  try { await api(`/api/swarms/${state.id}/retry`, { method: "POST", body: {} }); } catch (e) { alert(e.message); }
  updateChrome();
});

// ---------------------------------------------------------------- the timeline

$("#timeline-toggle").addEventListener("click", () => {
  steer.timelineOpen = !steer.timelineOpen;
  $("#timeline").hidden = !steer.timelineOpen;
  $("#timeline-toggle").textContent = steer.timelineOpen ? "Hide" : "Show";
  if (steer.timelineOpen) loadTimeline();
});

async function loadTimeline() {
  const id = state.id;
  const at = state.proj ? state.proj.frameCount : 0;
  let data;
  try { data = await api(`/api/swarms/${id}/timeline`); } catch (e) { $("#timeline-summary").textContent = e.message; return; }
  if (state.id !== id) return;
  steer.timelineAt = at;
  steer.timelineLoaded = Date.now();
  renderTimeline(data);
}

// One row per node (its activations), then one row per call it made; a bar spans its
// start..end on a scale from the first frame (0) to the last (data.seconds).
function renderTimeline(data) {
  const box = $("#timeline");
  box.textContent = "";
  const total = data.seconds > 0 ? data.seconds : 1;
  const axis = el("div", "tl-row tl-axis");
  const scale = el("div", "tl-track tl-scale");
  scale.append(el("span", null, "0 s"), el("span", null, `${data.seconds.toFixed(1)} s`));
  axis.append(el("span", "tl-label"), scale);
  box.append(axis);
  const order = [];
  const byNode = new Map();
  for (const b of data.bars) {
    if (!byNode.has(b.node_id)) { byNode.set(b.node_id, []); order.push(b.node_id); }
    byNode.get(b.node_id).push(b);
  }
  for (const id of order) {
    const bars = byNode.get(id);
    const own = bars.filter((b) => b.kind === "node");
    if (own.length) box.append(timelineRow("tl-node", `${id} ${own[0].label}`, own, total));
    for (const b of bars.filter((x) => x.kind !== "node")) {
      box.append(timelineRow("tl-call", `${b.label}${b.model ? " · " + b.model : ""}`, [b], total));
    }
  }
  const nodes = data.bars.filter((b) => b.kind === "node").length;
  const calls = data.bars.length - nodes;
  const slow = data.bars.filter((b) => b.slow).length;
  $("#timeline-summary").textContent = `${data.seconds.toFixed(1)} s · ${nodes} activations (at most ${data.peak_nodes} at once) · ` +
    `${calls} calls (at most ${data.peak_calls} at once) · ${slow} slow`;
}

function timelineRow(kind, label, bars, total) {
  const row = el("div", "tl-row " + kind);
  const track = el("div", "tl-track");
  for (const b of bars) {
    const bar = el("div", `bar k-${b.kind} o-${b.outcome.replace(/\W+/g, "_")}${b.slow ? " slow" : ""}${b.open ? " open" : ""}`);
    bar.style.left = `${(100 * b.start / total).toFixed(3)}%`;
    bar.style.width = `${Math.max(0.2, 100 * (b.end - b.start) / total).toFixed(3)}%`;
    bar.title = `${b.node_id} ${b.label}${b.model ? " · " + b.model : ""}: ${(b.end - b.start).toFixed(2)} s, ${b.outcome} (frame ${b.frame})${b.slow ? " · slow" : ""}`;
    bar.dataset.node = b.node_id;
    track.append(bar);
  }
  row.append(el("span", "tl-label", short(label, 60)), track);
  return row;
}
