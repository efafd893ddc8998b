// The llmcompiler web page: one conversation at a time, one EventSource per run.
// Everything it shows comes from the JSON API and the run's server-sent events
// (llmcompiler.trace.record.event_to_dict); untrusted text only ever goes in via textContent.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  // llmcompiler/trace/gantt.py's COLOURS, which the trace page uses too
  const COLOURS = {
    planner: "#4C72B0",
    react: "#4C72B0",
    joiner: "#8172B2",
    done: "#55A868",
    failed: "#C44E52",
    skipped: "#A9B4C2",
    running: "#DD8452",
    waiting: "#DDDDDD",
  };
  const DARK_TEXT = new Set(["waiting", "skipped"]);
  const FINAL = new Set(["done", "failed", "skipped"]);

  const $ = (selector) => document.querySelector(selector);
  const token = new URLSearchParams(location.search).get("token") || "";

  // -- small helpers ------------------------------------------------------------------

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function withToken(url) {
    if (!token) return url;
    return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
  }

  async function api(path, { method = "GET", json, body } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    const response = await fetch(path, { method, headers, body });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  function shorten(text, limit) {
    const flat = String(text).replace(/\s+/g, " ").trim();
    return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
  }

  function seconds(value) {
    if (value < 10) return `${value.toFixed(2)} s`;
    if (value < 100) return `${value.toFixed(1)} s`;
    return `${Math.round(value)} s`;
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function formatCost(cost) {
    if (cost === null || cost === undefined) return "unknown (no price for these models)";
    if (cost === 0) return "$0";
    return cost < 0.01 ? `$${cost.toFixed(5)}` : `$${cost.toFixed(4)}`;
  }

  function formatDate(value) {
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // the call as the planner wrote it, without its "N. " prefix
  function callText(task) {
    const written = (task.text || "").replace(/^\s*\d+\s*\.\s*/, "").trim();
    if (written) return written;
    const args = (task.args || []).map((a) => JSON.stringify(a));
    for (const [key, value] of Object.entries(task.kwargs || {})) args.push(`${key}=${JSON.stringify(value)}`);
    return `${task.tool}(${args.join(", ")})`;
  }

  // -- the run panel: plan, tasks, DAG, timeline, usage ---------------------------------

  class RunView {
    constructor() {
      this.tasks = new Map(); // idx -> task state
      this.rows = []; // timeline rows in order of appearance: {kind: "task", idx} or a span
      this.spans = new Map(); // "planner:1" -> {lane, label, start, end}
      this.usage = {}; // role -> {input, output, calls, estimated}
      this.t0 = null;
      this.tLast = null;
      this.tEnd = null;
      this.offset = Infinity; // browser seconds minus event seconds, the smallest seen
      this.joinerRounds = new Set();
      this.frame = 0;
      this.timer = 0;
      this.ticking = false;
      this.retired = false;
      this.reset();
    }

    reset() {
      $("#plan").replaceChildren();
      $("#tasks").replaceChildren();
      $("#dag").replaceChildren();
      $("#timeline").replaceChildren();
      for (const id of ["#dag", "#timeline"]) {
        $(id).setAttribute("width", "0");
        $(id).setAttribute("height", "0");
      }
      $("#elapsed").textContent = "";
      $("#usage").replaceChildren(el("span", { class: "muted", text: "after the run" }));
      setRunState("running");
    }

    now() {
      if (this.tEnd !== null) return this.tEnd;
      if (this.tLast === null) return 0;
      return Math.max(this.tLast, performance.now() / 1000 - this.offset);
    }

    apply(event) {
      const t = typeof event.t === "number" ? event.t : this.tLast ?? 0;
      if (this.t0 === null) this.t0 = t;
      this.tLast = Math.max(this.tLast ?? t, t);
      this.offset = Math.min(this.offset, performance.now() / 1000 - t);
      const handler = this[`on${event.type}`];
      if (handler) handler.call(this, event, t);
      if (this.tEnd === null) this.updatePhase();
      this.schedule();
    }

    // what the answer's placeholder says while the run goes
    updatePhase() {
      const open = (lane) => [...this.spans.values()].some((s) => s.lane === lane && s.end === null);
      const n = this.countRunning();
      const running = n ? `${n} ${n === 1 ? "task" : "tasks"} running` : "";
      let text = running ? `${running}…` : "working…";
      if (open("joiner")) text = "writing the answer…";
      else if (open("planner")) text = running ? `planning · ${running}…` : "planning…";
      else if (open("react")) text = running ? `thinking · ${running}…` : "thinking…";
      setPhase(text);
    }

    // planner and ReAct model calls
    onPlannerStarted(e, t) {
      if (e.round > 1) this.planText(`\n— round ${e.round} —\n`, "divider");
      this.openSpan(`planner:${e.round}`, "planner", `planner · round ${e.round}`, t);
    }
    onPlannerToken(e) {
      this.planText(e.text);
    }
    onPlannerFinished(e, t) {
      this.closeSpan(`planner:${e.round}`, t);
      if (e.error) this.planText(`\n[planner error] ${e.error}\n`, "error");
    }
    onStepStarted(e, t) {
      if (e.step > 1) this.planText("\n");
      this.openSpan(`react:${e.step}`, "react", `ReAct · step ${e.step}`, t);
    }
    onStepToken(e) {
      this.planText(e.text);
    }
    onStepFinished(e, t) {
      this.closeSpan(`react:${e.step}`, t);
      if (e.error) this.planText(`\n[model error] ${e.error}\n`, "error");
    }
    onJoinerStarted(e, t) {
      this.joinerRounds.add(e.round);
      this.openSpan(`joiner:${e.round}`, "joiner", `joiner · round ${e.round}`, t);
      this.planText("\n", "");
      this.planText("Joiner: ", "joiner-head");
    }
    onJoinerToken(e) {
      this.planText(e.text, "joiner");
    }
    onJoinerFinished(e, t) {
      this.closeSpan(`joiner:${e.round}`, t);
      this.planText("\n", "");
    }
    onReplan(e) {
      this.planText(`\n↻ replan: ${e.reason}\n`, "divider");
    }
    onModelCall(e) {
      const u = (this.usage[e.role] ||= { input: 0, output: 0, calls: 0, estimated: false });
      u.input += e.usage?.input_tokens || 0;
      u.output += e.usage?.output_tokens || 0;
      u.calls += e.usage?.calls || 1;
      u.estimated ||= Boolean(e.usage?.estimated);
      renderUsage(this.usage, undefined, true);
    }

    // tasks
    onTaskParsed(e, t) {
      const task = e.task || {};
      const state = {
        idx: task.idx,
        tool: task.tool,
        call: callText(task),
        deps: task.deps || [],
        round: e.round || 1,
        thought: task.thought || "",
        isJoin: task.tool === "join" && !task.error,
        status: "waiting",
        parsed: t,
        started: null,
        ended: null,
        observation: "",
        attempts: 0,
      };
      this.tasks.set(state.idx, state);
      if (state.isJoin) return; // join() is the joiner's cue, not a tool call
      this.rows.push({ kind: "task", idx: state.idx });
      $("#tasks").append(this.taskRow(state));
    }
    onTaskStarted(e, t) {
      const task = this.tasks.get(e.idx);
      if (!task) return;
      if (task.started === null) task.started = t;
      task.attempts = e.attempt || 1;
      this.setStatus(task, "running");
    }
    onTaskRetrying(e) {
      const task = this.tasks.get(e.idx);
      if (task) this.setObservation(task, `retrying (attempt ${e.attempt}): ${e.error}`);
    }
    onTaskFinished(e, t) {
      this.endTask(e.idx, t, "done", e.observation);
    }
    onTaskFailed(e, t) {
      this.endTask(e.idx, t, "failed", e.error);
    }
    onTaskSkipped(e, t) {
      this.endTask(e.idx, t, "skipped", e.reason);
    }
    onRunFinished(e, t) {
      this.tEnd = t;
      for (const task of this.tasks.values()) {
        if (task.isJoin || FINAL.has(task.status)) continue;
        // a task still open when the run ended was cancelled with it
        if (task.status === "running") task.ended = t;
        this.setStatus(task, "skipped");
        this.setObservation(task, e.cancelled ? "cancelled with the run" : "not run");
      }
      for (const span of this.spans.values()) if (span.end === null) span.end = t;
      setRunState(e.status || (e.cancelled ? "cancelled" : e.error ? "failed" : "answered"));
    }

    endTask(idx, t, status, text) {
      const task = this.tasks.get(idx);
      if (!task) return;
      task.ended = t;
      this.setStatus(task, status);
      this.setObservation(task, text || "");
    }

    countRunning() {
      let n = 0;
      for (const task of this.tasks.values()) if (task.status === "running") n += 1;
      return n;
    }

    taskRow(task) {
      const row = el("li", { class: "task", "data-idx": task.idx, "data-status": task.status }, [
        el("span", { class: "idx", text: `$${task.idx}` }),
        el("code", { class: "call", text: task.call, title: task.thought || null }),
        el("span", { class: "pill", "data-status": task.status, text: task.status }),
        el("span", { class: "took" }),
        el("div", { class: "obs" }),
      ]);
      row.querySelector(".obs").addEventListener("click", (ev) => ev.currentTarget.classList.toggle("open"));
      return row;
    }

    row(task) {
      return $("#tasks").querySelector(`.task[data-idx="${CSS.escape(String(task.idx))}"]`);
    }

    setStatus(task, status) {
      task.status = status;
      const row = this.row(task);
      if (!row) return;
      row.dataset.status = status;
      const pill = row.querySelector(".pill");
      pill.dataset.status = status;
      pill.textContent = status;
      if (task.ended !== null && task.started !== null) {
        row.querySelector(".took").textContent = seconds(task.ended - task.started);
      }
    }

    setObservation(task, text) {
      task.observation = text;
      const row = this.row(task);
      if (row) row.querySelector(".obs").textContent = text;
    }

    planText(text, cls) {
      const plan = $("#plan");
      const stick = plan.scrollHeight - plan.scrollTop - plan.clientHeight < 24;
      if (cls) plan.append(el("span", { class: cls, text }));
      else if (plan.lastChild && plan.lastChild.nodeType === Node.TEXT_NODE) plan.lastChild.appendData(text);
      else plan.append(document.createTextNode(text));
      if (stick) plan.scrollTop = plan.scrollHeight;
    }

    openSpan(key, lane, label, t) {
      const span = { kind: "span", lane, label, start: t, end: null };
      this.spans.set(key, span);
      this.rows.push(span);
    }

    closeSpan(key, t) {
      const span = this.spans.get(key);
      if (span) span.end = t;
    }

    // drawing is coalesced into one animation frame; while the run goes, its running bars
    // grow: the clock redraws ten times a second until the run ends
    schedule() {
      if (this.frame || this.retired) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
        if (this.ticking && this.tEnd === null && !this.timer) {
          this.timer = setTimeout(() => {
            this.timer = 0;
            if (this.ticking && this.tEnd === null) this.schedule();
          }, 100);
        }
      });
    }

    startClock() {
      this.ticking = true;
      this.schedule();
    }

    stopClock() {
      this.ticking = false;
      clearTimeout(this.timer);
      this.timer = 0;
      this.schedule();
    }

    // another run takes the panel: nothing of this one may be drawn any more
    retire() {
      this.retired = true;
      this.ticking = false;
      clearTimeout(this.timer);
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }

    draw() {
      drawDag(this);
      drawTimeline(this);
      if (this.t0 !== null) $("#elapsed").textContent = seconds(Math.max(0, this.now() - this.t0));
    }
  }

  // -- DAG: one node per task, columns by dependency depth ---------------------------------

  const NODE_W = 132;
  const NODE_H = 38;
  const COL_GAP = 40;
  const ROW_GAP = 12;
  const PAD = 10;

  function depths(view) {
    const depth = new Map();
    const roundFloor = new Map(); // a later round starts right of everything before it
    let floor = 0;
    let maxDepth = -1;
    let round = null;
    for (const task of view.tasks.values()) {
      if (task.round !== round) {
        if (round !== null) floor = maxDepth + 1;
        round = task.round;
        roundFloor.set(round, floor);
      }
      let d = floor;
      for (const dep of task.deps) if (depth.has(dep)) d = Math.max(d, depth.get(dep) + 1);
      depth.set(task.idx, d);
      maxDepth = Math.max(maxDepth, d);
    }
    return depth;
  }

  // ids some other (non-join) task depends on
  function usedBy(view) {
    const used = new Set();
    for (const task of view.tasks.values()) if (!task.isJoin) for (const dep of task.deps) used.add(dep);
    return used;
  }

  function nodeColour(view, task) {
    if (task.isJoin) return view.joinerRounds.has(task.round) ? COLOURS.joiner : COLOURS.waiting;
    return COLOURS[task.status] || COLOURS.waiting;
  }

  function drawDag(view) {
    const root = $("#dag");
    const depth = depths(view);
    const columns = new Map();
    const place = new Map();
    for (const task of view.tasks.values()) {
      const d = depth.get(task.idx);
      const col = columns.get(d) || [];
      col.push(task);
      columns.set(d, col);
    }
    let tallest = 0;
    for (const [d, col] of columns) {
      tallest = Math.max(tallest, col.length);
      col.forEach((task, i) => {
        place.set(task.idx, { x: PAD + d * (NODE_W + COL_GAP), y: PAD + i * (NODE_H + ROW_GAP) });
      });
    }
    const ncols = columns.size ? Math.max(...columns.keys()) + 1 : 0;
    const width = ncols ? PAD * 2 + ncols * NODE_W + (ncols - 1) * COL_GAP : 0;
    const height = tallest ? PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP : 0;
    // centre shorter columns against the tallest
    for (const col of columns.values()) {
      const shift = ((tallest - col.length) * (NODE_H + ROW_GAP)) / 2;
      for (const task of col) place.get(task.idx).y += shift;
    }
    const defs = svg("defs");
    const marker = svg("marker", {
      id: "arrow",
      viewBox: "0 0 8 8",
      refX: 8,
      refY: 4,
      markerWidth: 7,
      markerHeight: 7,
      orient: "auto-start-reverse",
    });
    marker.append(svg("path", { d: "M0,0 L8,4 L0,8 z", fill: "#8a94a6" }));
    defs.append(marker);
    const edges = svg("g", { class: "edges" });
    const nodes = svg("g", { class: "nodes" });
    const used = usedBy(view);
    for (const task of view.tasks.values()) {
      const to = place.get(task.idx);
      // join() depends on every task of its round; only the ends of its round's chains are drawn
      const deps = task.deps.filter((dep) => place.has(dep) && (!task.isJoin || !used.has(dep)));
      deps.forEach((dep, k) => {
        const from = place.get(dep);
        const x1 = from.x + NODE_W;
        const y1 = from.y + NODE_H / 2;
        const x2 = to.x - 2;
        const y2 = to.y + (NODE_H * (k + 1)) / (deps.length + 1);
        const bend = Math.max(18, (x2 - x1) / 2);
        const done = view.tasks.get(dep)?.status === "done";
        edges.append(
          svg("path", {
            d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
            class: done ? "edge ready" : "edge",
            "marker-end": "url(#arrow)",
          }),
        );
      });
      const colour = nodeColour(view, task);
      const status = task.isJoin ? (view.joinerRounds.has(task.round) ? "joiner" : "waiting") : task.status;
      const group = svg("g", {
        class: "node",
        "data-idx": task.idx,
        "data-status": status,
        transform: `translate(${to.x},${to.y})`,
      });
      group.append(svg("title", {}, `$${task.idx} ${task.call} — ${status}`));
      group.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 7, fill: colour }));
      const ink = DARK_TEXT.has(status) ? "#1d2433" : "#ffffff";
      const title = `$${task.idx}  ${shorten(task.tool, 13)}`;
      group.append(svg("text", { x: 10, y: 16, fill: ink, class: "node-title" }, title));
      const detail = task.isJoin ? "joiner" : shorten(task.call.replace(/^[^(]*\(/, "").replace(/\)$/, ""), 19);
      group.append(svg("text", { x: 10, y: 30, fill: ink, class: "node-detail" }, detail));
      nodes.append(group);
    }
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    root.replaceChildren(defs, edges, nodes);
  }

  // -- the timeline: a Gantt bar per planner call, task and joiner call --------------------

  const LABEL_W = 190;
  const ROW_H = 20;
  const BAR_H = 12;
  const AXIS_H = 22;
  const MIN_BAR = 3;

  function niceStep(span, ticks) {
    const raw = span / ticks;
    const power = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  function drawTimeline(view) {
    const root = $("#timeline");
    if (view.t0 === null) return;
    const available = Math.max(360, root.parentElement.clientWidth - 2);
    const plotW = available - LABEL_W - 12;
    const now = view.now();
    const elapsed = Math.max(now - view.t0, 0.001);
    const domain = view.tEnd === null ? Math.max(1, elapsed * 1.08) : elapsed;
    const x = (t) => LABEL_W + ((t - view.t0) / domain) * plotW;
    const height = AXIS_H + view.rows.length * ROW_H + 6;
    const axis = svg("g", { class: "axis" });
    const step = niceStep(domain, 6);
    for (let s = 0; s <= domain + 1e-9; s += step) {
      const px = LABEL_W + (s / domain) * plotW;
      axis.append(svg("line", { x1: px, x2: px, y1: AXIS_H - 4, y2: height, class: "grid" }));
      axis.append(svg("text", { x: px, y: AXIS_H - 8, "text-anchor": "middle" }, `${+s.toFixed(3)} s`));
    }
    const bars = svg("g", { class: "bars" });
    view.rows.forEach((row, i) => {
      const y = AXIS_H + i * ROW_H;
      const barY = y + (ROW_H - BAR_H) / 2;
      const group = svg("g", { class: "row" });
      if (row.kind === "task") {
        const task = view.tasks.get(row.idx);
        group.setAttribute("data-idx", task.idx);
        group.append(svg("text", { x: 4, y: y + 14, class: "label" }, shorten(`$${task.idx} ${task.call}`, 29)));
        const start = task.started ?? task.ended ?? now;
        if (start > task.parsed) {
          group.append(bar(x(task.parsed), barY, x(start) - x(task.parsed), COLOURS.waiting, "waiting for inputs"));
        }
        if (task.started !== null || task.ended !== null) {
          const end = task.ended ?? now;
          const left = x(task.started ?? end);
          const colour = COLOURS[task.status] || COLOURS.waiting;
          const took = task.started !== null ? ` (${seconds(end - task.started)})` : "";
          group.append(bar(left, barY, x(end) - left, colour, `$${task.idx} ${task.status}${took}`));
        }
      } else {
        group.append(svg("text", { x: 4, y: y + 14, class: "label lane" }, row.label));
        const end = row.end ?? now;
        const title = `${row.label}: ${seconds(end - row.start)}`;
        group.append(bar(x(row.start), barY, x(end) - x(row.start), COLOURS[row.lane], title));
      }
      bars.append(group);
    });
    root.setAttribute("width", String(available));
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", `0 0 ${available} ${height}`);
    root.replaceChildren(axis, bars);
  }

  function bar(left, top, width, colour, title) {
    const rect = svg("rect", { x: left, y: top, width: Math.max(MIN_BAR, width), height: BAR_H, rx: 3, fill: colour });
    rect.append(svg("title", {}, title));
    return rect;
  }

  function drawLegend() {
    const items = [
      ["planner", "planner"],
      ["joiner", "joiner"],
      ["waiting", "waiting"],
      ["running", "running"],
      ["done", "done"],
      ["failed", "failed"],
      ["skipped", "skipped"],
    ];
    $("#legend").replaceChildren(
      ...items.map(([key, text]) => el("span", {}, [el("i", { style: `background:${COLOURS[key]}` }), text])),
    );
  }

  // -- usage ---------------------------------------------------------------------------

  function renderUsage(usage, cost, live = false) {
    const roles = Object.entries(usage || {});
    const box = $("#usage");
    if (!roles.length) {
      box.replaceChildren(el("span", { class: "muted", text: live ? "no model calls yet" : "no model calls" }));
      return;
    }
    const head = el("tr", {}, ["role", "calls", "input", "output"].map((h) => el("th", { text: h })));
    const body = el("tbody");
    const total = { input: 0, output: 0, calls: 0 };
    let estimated = false;
    for (const [role, u] of roles) {
      total.input += u.input || 0;
      total.output += u.output || 0;
      total.calls += u.calls || 0;
      estimated ||= Boolean(u.estimated);
      body.append(
        el("tr", {}, [
          el("th", { text: role }),
          el("td", { text: String(u.calls || 0) }),
          el("td", { text: `${u.estimated ? "≈" : ""}${u.input || 0}` }),
          el("td", { text: `${u.estimated ? "≈" : ""}${u.output || 0}` }),
        ]),
      );
    }
    body.append(
      el("tr", { class: "total" }, [
        el("th", { text: "total" }),
        el("td", { text: String(total.calls) }),
        el("td", { text: String(total.input) }),
        el("td", { text: String(total.output) }),
      ]),
    );
    const table = el("table", {}, [el("thead", {}, [head]), body]);
    const notes = [];
    if (!live) notes.push(el("p", { class: "cost" }, ["cost ", el("b", { text: formatCost(cost) })]));
    else notes.push(el("p", { class: "muted", text: "counting…" }));
    if (estimated) {
      notes.push(el("p", { class: "muted", text: "≈ counted locally (estimated), not reported by the server" }));
    }
    box.replaceChildren(table, ...notes);
  }

  // -- page state ------------------------------------------------------------------------

  const state = {
    config: null,
    session: null,
    files: new Map(),
    view: null,
    source: null,
    runId: null, // the run shown in the panel
    running: null, // the run this page is waiting on, if any
  };

  function setRunState(status) {
    const pill = $("#run-state");
    pill.dataset.status = status;
    pill.textContent = status.replace("_", " ");
  }

  function setPhase(text) {
    if (!state.running) return;
    const pending = document.querySelector(`.turn[data-run="${CSS.escape(state.running)}"] .pending`);
    if (pending) pending.textContent = text;
  }

  function setStatus(text, isError = false) {
    const status = $("#status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  function setRunning(runId) {
    state.running = runId;
    $("#ask").disabled = Boolean(runId);
    $("#cancel").disabled = !runId;
    document.body.classList.toggle("busy", Boolean(runId));
  }

  function rememberSession(id) {
    const url = new URL(location.href);
    if (id) url.searchParams.set("session", id);
    else url.searchParams.delete("session");
    history.replaceState(null, "", url);
  }

  async function ensureSession() {
    if (state.session) return state.session;
    const { id } = await api("api/sessions", { method: "POST" });
    state.session = id;
    rememberSession(id);
    return id;
  }

  // -- conversation ----------------------------------------------------------------------

  function addTurn(question, runId) {
    $("#empty")?.remove();
    const turn = el("article", { class: "turn", "data-run": runId || "" }, [
      el("div", { class: "msg question", text: question }),
      el("div", { class: "msg reply" }, [el("div", { class: "pending", text: "starting…" })]),
    ]);
    $("#messages").append(turn);
    turn.scrollIntoView({ block: "end" });
    return turn;
  }

  function fillTurn(turn, run) {
    const reply = turn.querySelector(".reply");
    if (reply.querySelector(".answer")) return;
    const status = run.status || "failed";
    const text = run.answer || run.error || (status === "cancelled" ? "The run was cancelled." : "No answer.");
    const answer = el("div", { class: `answer${run.answer ? "" : " error"}`, "data-status": status, text });
    const pill = el("span", { class: "pill", "data-status": status, text: status.replace("_", " ") });
    const meta = el("div", { class: "meta" }, [pill]);
    if (run.id) {
      turn.dataset.run = run.id;
      const show = el("button", { type: "button", class: "link", text: "show run" });
      show.addEventListener("click", () => watch(run.id, turn));
      const href = withToken(`runs/${encodeURIComponent(run.id)}/trace`);
      meta.append(show, el("a", { class: "trace", href, target: "_blank", rel: "noopener", text: "trace ↗" }));
    }
    reply.replaceChildren(answer, meta);
    reply.classList.toggle("failed", !run.answer);
  }

  function renderTurns(runs) {
    $("#messages").replaceChildren();
    if (!runs.length) {
      $("#messages").append(el("p", { id: "empty", class: "empty", text: "No questions in this conversation yet." }));
    }
    for (const run of runs) {
      const turn = addTurn(run.question || "", run.id);
      if (run.status && run.status !== "running") fillTurn(turn, run);
    }
  }

  // -- runs: one EventSource each ------------------------------------------------------------

  function watch(runId, turn) {
    if (state.source) state.source.close();
    if (state.view) state.view.retire();
    const view = new RunView();
    state.view = view;
    state.runId = runId;
    const link = $("#run-trace");
    link.hidden = true;
    link.href = withToken(`runs/${encodeURIComponent(runId)}/trace`);
    const source = new EventSource(withToken(`api/runs/${encodeURIComponent(runId)}/events`));
    state.source = source;
    view.startClock();
    const current = () => state.source === source;
    source.onmessage = (message) => {
      if (current()) view.apply(JSON.parse(message.data));
    };
    source.addEventListener("files", (message) => {
      if (current()) mergeFiles(JSON.parse(message.data).files || []);
    });
    source.addEventListener("end", (message) => {
      source.close();
      if (current()) settle(runId, turn, view, JSON.parse(message.data || "{}").status);
    });
    // the browser reconnects by itself (sending Last-Event-ID); CLOSED means it gave up
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && current()) settle(runId, turn, view, null);
    };
  }

  async function settle(runId, turn, view, status) {
    view.stopClock();
    try {
      const run = await api(`api/runs/${encodeURIComponent(runId)}`);
      if (run.status === "running") {
        // the stream gave up (the server went away?) but the run goes on there
        if (state.running === runId) setRunning(null);
        setStatus("lost the run's event stream; reload the page to follow it", true);
        return;
      }
      if (turn) fillTurn(turn, { ...run, id: runId });
      if (state.runId === runId) {
        setRunState(run.status || status || "failed");
        renderUsage(run.usage, run.cost);
        $("#run-trace").hidden = false;
      }
      mergeFiles(run.files || []);
    } catch (error) {
      const failed = { id: runId, status: status || "failed", error: `could not read the run: ${error.message}` };
      if (turn) fillTurn(turn, failed);
      if (state.runId === runId) setRunState(status || "failed");
    }
    if (state.running === runId) {
      setRunning(null);
      setStatus("");
    }
    refreshSessions();
  }

  async function ask() {
    const question = $("#question").value.trim();
    if (!question || state.running) return;
    setStatus("");
    $("#ask").disabled = true;
    const turn = addTurn(question, null);
    let runId;
    try {
      const session = await ensureSession();
      const body = { question };
      if ($("#suite").value) body.suite = $("#suite").value;
      if ($("#model").value) body.model = $("#model").value;
      ({ id: runId } = await api(`api/sessions/${encodeURIComponent(session)}/runs`, { method: "POST", json: body }));
    } catch (error) {
      fillTurn(turn, { status: "failed", error: error.message });
      $("#ask").disabled = false;
      return;
    }
    $("#question").value = "";
    turn.dataset.run = runId;
    setRunning(runId);
    watch(runId, turn);
    refreshSessions();
  }

  async function cancel() {
    const runId = state.running;
    if (!runId) return;
    $("#cancel").disabled = true;
    setStatus("cancelling…");
    try {
      await api(`api/runs/${encodeURIComponent(runId)}/cancel`, { method: "POST" });
    } catch (error) {
      setStatus(`cancel failed: ${error.message}`, true);
      $("#cancel").disabled = state.running !== runId;
    }
  }

  // -- files -------------------------------------------------------------------------------

  function mergeFiles(files) {
    for (const file of files) if (file && file.name) state.files.set(file.name, file.size ?? 0);
    renderFiles();
  }

  function renderFiles() {
    const list = $("#files");
    const names = [...state.files.keys()].sort((a, b) => a.localeCompare(b));
    list.replaceChildren(
      ...names.map((name) => {
        const href = withToken(`api/sessions/${encodeURIComponent(state.session)}/files/${encodeURIComponent(name)}`);
        return el("li", {}, [
          el("a", { class: "download", href, download: name, text: name }),
          el("span", { class: "size", text: formatSize(state.files.get(name)) }),
        ]);
      }),
    );
  }

  async function upload(fileList) {
    const files = [...fileList];
    if (!files.length) return;
    setStatus(`uploading ${files.length === 1 ? files[0].name : `${files.length} files`}…`);
    try {
      const session = await ensureSession();
      const form = new FormData();
      for (const file of files) form.append("file", file, file.name);
      const data = await api(`api/sessions/${encodeURIComponent(session)}/files`, { method: "POST", body: form });
      mergeFiles(data.files || []);
      setStatus(`uploaded ${(data.files || []).map((f) => f.name).join(", ")}`);
      refreshSessions();
    } catch (error) {
      setStatus(`upload failed: ${error.message}`, true);
    }
  }

  // -- sessions ----------------------------------------------------------------------------

  async function refreshSessions() {
    let sessions;
    try {
      sessions = await api("api/sessions");
    } catch (error) {
      setStatus(`could not list conversations: ${error.message}`, true);
      return;
    }
    const list = $("#sessions");
    if (!sessions.length) {
      list.replaceChildren(el("li", { class: "muted", text: "none yet" }));
      return;
    }
    list.replaceChildren(
      ...sessions.map((s) => {
        const button = el("button", { type: "button", class: "session", "data-id": s.id }, [
          el("span", { class: "title", text: s.title || "(untitled)" }),
          el("small", { text: formatDate(s.created) }),
        ]);
        if (s.id === state.session) button.setAttribute("aria-current", "true");
        button.addEventListener("click", () => openSession(s.id));
        return el("li", {}, [button]);
      }),
    );
  }

  async function openSession(id) {
    let data;
    try {
      data = await api(`api/sessions/${encodeURIComponent(id)}`);
    } catch (error) {
      setStatus(`could not open the conversation: ${error.message}`, true);
      rememberSession(null);
      return;
    }
    if (state.source) state.source.close();
    if (state.view) state.view.retire();
    state.source = null;
    state.session = data.id || id;
    rememberSession(state.session);
    setRunning(null);
    setStatus("");
    state.files = new Map();
    mergeFiles(data.files || []);
    const runs = data.runs || [];
    renderTurns(runs);
    const last = runs[runs.length - 1];
    if (last && last.id) {
      const turn = document.querySelector(`.turn[data-run="${CSS.escape(last.id)}"]`);
      if (last.status === "running") setRunning(last.id);
      watch(last.id, turn);
    } else {
      state.view = new RunView();
      setRunState("idle");
    }
    refreshSessions();
  }

  function newSession() {
    if (state.source) state.source.close();
    if (state.view) state.view.retire();
    state.source = null;
    state.session = null;
    state.files = new Map();
    rememberSession(null);
    setRunning(null);
    renderFiles();
    const hint = el("p", { id: "empty", class: "empty", text: "A new conversation: ask a question." });
    $("#messages").replaceChildren(hint);
    state.view = new RunView();
    setRunState("idle");
    refreshSessions();
    $("#question").focus();
  }

  // -- start -------------------------------------------------------------------------------

  function fillSelect(select, names) {
    select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
    select.closest("label").hidden = names.length === 0;
  }

  async function loadConfig() {
    try {
      const config = await api("api/config");
      state.config = config;
      fillSelect($("#suite"), config.suites || []);
      fillSelect($("#model"), config.models || []);
      $("#demo-badge").hidden = !config.demo;
      $("#version").textContent = config.version ? `v${config.version}` : "";
    } catch (error) {
      setStatus(`could not reach the server: ${error.message}`, true);
    }
  }

  function wire() {
    $("#composer").addEventListener("submit", (event) => {
      event.preventDefault();
      ask();
    });
    $("#question").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ask();
      }
    });
    $("#cancel").addEventListener("click", cancel);
    $("#new-session").addEventListener("click", newSession);
    $("#upload").addEventListener("change", (event) => {
      upload(event.target.files);
      event.target.value = "";
    });
    const drop = $("#drop");
    for (const name of ["dragenter", "dragover"]) {
      drop.addEventListener(name, (event) => {
        event.preventDefault();
        drop.classList.add("over");
      });
    }
    for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      upload(event.dataTransfer.files);
    });
    window.addEventListener("resize", () => state.view && state.view.schedule());
  }

  async function start() {
    wire();
    drawLegend();
    state.view = new RunView();
    setRunState("idle");
    setRunning(null);
    await loadConfig();
    const remembered = new URLSearchParams(location.search).get("session");
    if (remembered) await openSession(remembered);
    else await refreshSessions();
    document.body.dataset.ready = "true"; // for scripts and tests: the config and conversations are in
  }

  start();
})();
