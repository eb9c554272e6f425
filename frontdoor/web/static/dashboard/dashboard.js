// The managers' dashboard (SPEC §9): polls /dashboard/api/overview and draws the queue, the
// agents, today's KPIs and the day's charts (inline SVG); looks up one conversation on demand.
// Every value from the server is set as text, never as HTML: customer names are anyone's words.
"use strict";

const POLL_MS = 2000;
const TICK_MS = 1000;
const STALE_MS = 5000; // no good answer for this long: the live dot turns red
const SVG = "http://www.w3.org/2000/svg";
const CHART = { width: 480, height: 160, left: 30, right: 8, top: 10, bottom: 22 };

const state = {
  overview: null,
  receivedAt: 0, // performance.now() when the overview arrived
  lastGood: 0,
  clockFormat: null,
};

const $ = (id) => document.getElementById(id);

function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== "") node.textContent = text;
  return node;
}

function cell(row, content, className = "") {
  const td = element("td", className);
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
  return td;
}

// --- formatting ------------------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

const percent = (value) => (value === null || value === undefined ? "-" : `${Math.round(value)}%`);
const fixed = (value, digits) => (value === null || value === undefined ? "-" : value.toFixed(digits));

function localTime(iso, withSeconds = false) {
  if (!iso) return "-";
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (withSeconds) options.second = "2-digit";
  if (state.overview) options.timeZone = state.overview.timezone;
  return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso));
}

function elapsedSeconds() {
  return (performance.now() - state.receivedAt) / 1000;
}

// --- polling ---------------------------------------------------------------------------------

async function poll() {
  try {
    const response = await fetch("/dashboard/api/overview", { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.reload(); // the cookie is gone or stale: the page asks for the token
      return;
    }
    if (!response.ok) throw new Error(`overview: HTTP ${response.status}`);
    state.overview = await response.json();
    state.receivedAt = performance.now();
    state.lastGood = Date.now();
    render();
  } catch (error) {
    console.warn(error);
  } finally {
    tick();
    setTimeout(poll, POLL_MS);
  }
}

function tick() {
  const live = $("live");
  const fresh = state.lastGood && Date.now() - state.lastGood < STALE_MS;
  live.className = `live ${fresh ? "on" : "off"}`;
  live.title = fresh ? "live" : "no answer from the bot";
  if (!state.overview) return;
  const now = new Date(Date.parse(state.overview.now) + elapsedSeconds() * 1000);
  $("clock").textContent = `${localTime(now.toISOString(), true)} ${state.overview.timezone}`;
  for (const td of document.querySelectorAll("#queue td[data-waiting]")) {
    td.textContent = duration(Number(td.dataset.waiting) + elapsedSeconds());
  }
}

function render() {
  const data = state.overview;
  $("period").textContent = `since ${localTime(data.today.start)}`;
  renderKpis(data.today.rows);
  renderQueue(data.queue, data.queue_total);
  renderAgents(data.agents);
  renderTeams(data.today.rows.filter((row) => row.scope === "team"));
  renderAgentKpis(data.today.rows.filter((row) => row.scope === "agent"));
  renderCharts(data.day);
}

// --- KPI tiles and tables --------------------------------------------------------------------

function renderKpis(rows) {
  const all = rows.find((row) => row.scope === "overall");
  const shown = {
    wait_p50: duration(all.wait_p50_s),
    wait_p90: duration(all.wait_p90_s),
    frt_p50: duration(all.first_response_p50_s),
    aht: duration(all.aht_s),
    fcr: percent(all.fcr_pct),
    csat: fixed(all.csat_mean, 1),
    utilization: percent(all.utilization_pct),
    fairness: fixed(all.fairness_gini, 2),
  };
  for (const [kpi, text] of Object.entries(shown)) {
    document.querySelector(`#kpis [data-kpi="${kpi}"]`).textContent = text;
  }
  const ratings = all.csat_count === 1 ? "1 rating" : `${all.csat_count} ratings`;
  $("csat-note").textContent =
    all.csat_count ? `${percent(all.csat_good_pct)} gave 4–5 · ${ratings}` : "no ratings yet";
}

function renderTeams(rows) {
  const body = document.querySelector("#teams tbody");
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = element("tr");
      cell(tr, row.name);
      for (const value of [
        row.created, row.closed, duration(row.wait_p50_s), duration(row.wait_p90_s),
        duration(row.first_response_p50_s), duration(row.aht_s), percent(row.fcr_pct),
        fixed(row.csat_mean, 1), row.transfers, percent(row.assisted_pct),
        duration(row.aht_assisted_s), duration(row.aht_unassisted_s),
        percent(row.utilization_pct), fixed(row.fairness_gini, 2),
      ]) cell(tr, String(value));
      return tr;
    }),
  );
}

function renderAgentKpis(rows) {
  const body = document.querySelector("#agent-kpis tbody");
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = element("tr");
      cell(tr, row.name);
      for (const value of [
        row.offers, row.accepts, row.timeouts, row.handled, duration(row.aht_s),
        duration(row.first_response_p50_s), fixed(row.csat_mean, 1), percent(row.fcr_pct),
        percent(row.assisted_pct), duration(row.aht_assisted_s), duration(row.aht_unassisted_s),
        percent(row.utilization_pct),
      ]) cell(tr, String(value));
      return tr;
    }),
  );
}

// --- queue and agents ------------------------------------------------------------------------

function priorityBadge(entry) {
  const span = element("span");
  const level = entry.priority >= 5 ? "p-high" : entry.priority >= 2 ? "p-mid" : "";
  span.append(element("span", `badge ${level}`, `P${entry.priority}`));
  if (entry.vip) span.append(" ", element("span", "badge vip", "VIP"));
  return span;
}

function whereText(entry) {
  if (entry.state === "held") return `held until ${localTime(entry.held_until)}`;
  if (entry.state === "offered" && entry.offered_to) {
    const who = entry.offered_to.username ? `@${entry.offered_to.username}` : entry.offered_to.name;
    return `offered to ${who} until ${localTime(entry.offer_deadline, true)}`;
  }
  return "queued";
}

function renderQueue(queue, total) {
  $("queue-count").textContent = String(total);
  $("queue-empty").hidden = total > 0;
  const body = document.querySelector("#queue tbody");
  body.replaceChildren(
    ...queue.map((entry) => {
      const tr = element("tr");
      tr.dataset.conversation = String(entry.id);
      cell(tr, `#${entry.id}`);
      cell(tr, entry.customer);
      cell(tr, entry.team_name);
      cell(tr, entry.intent || "-");
      cell(tr, priorityBadge(entry));
      cell(tr, whereText(entry), `state-${entry.state}`);
      const waiting = cell(tr, duration(entry.waiting_seconds), "waiting");
      if (entry.state !== "held") waiting.dataset.waiting = String(entry.waiting_seconds);
      return tr;
    }),
  );
}

function loadBar(agent) {
  const box = element("span", "load");
  const bar = element("span", "bar");
  const fill = element("span", `fill${agent.load >= agent.capacity ? " full" : ""}`);
  fill.style.width = `${Math.min(100, (100 * agent.load) / Math.max(1, agent.capacity))}%`;
  fill.style.display = "block";
  bar.append(fill);
  box.append(bar, `${agent.load}/${agent.capacity}`);
  return box;
}

function renderAgents(agents) {
  const body = document.querySelector("#agents tbody");
  body.replaceChildren(
    ...agents.map((agent) => {
      const tr = element("tr");
      tr.dataset.agent = String(agent.id);
      const who = element("span", "", agent.name);
      if (agent.username) who.append(element("span", "handle", `@${agent.username}`));
      cell(tr, who);
      cell(tr, agent.teams.join(", "));
      const status = element("span");
      status.append(element("span", `status ${agent.status}`, agent.status));
      status.append(" ", element("span", "muted", agent.on_shift ? "on shift" : "off shift"));
      if (!agent.reachable) status.append(" ", element("span", "unreachable", "cannot be messaged"));
      cell(tr, status);
      cell(tr, loadBar(agent));
      cell(tr, String(agent.pending_offers));
      const hours = agent.shift ? agent.shift.today.join(", ") || "off today" : "-";
      cell(tr, hours);
      return tr;
    }),
  );
}

// --- charts ----------------------------------------------------------------------------------

function svgNode(tag, attributes, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

// An empty chart with its axis and hour labels; `x(i)` is the left edge of hour i's slot.
function chartFrame(hours, top) {
  const svg = svgNode("svg", {
    viewBox: `0 0 ${CHART.width} ${CHART.height}`,
    role: "img",
  });
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = plotWidth / Math.max(1, hours.length);
  const x = (i) => CHART.left + i * slot;
  const y = (value) => CHART.top + plotHeight - (plotHeight * value) / top;
  const base = CHART.top + plotHeight;
  svg.append(svgNode("line", { class: "axis", x1: CHART.left, x2: CHART.width - CHART.right, y1: base, y2: base }));
  svg.append(svgNode("text", { x: CHART.left - 4, y: CHART.top + 8, "text-anchor": "end" }, String(top)));
  svg.append(svgNode("text", { x: CHART.left - 4, y: base, "text-anchor": "end" }, "0"));
  hours.forEach((hour, i) => {
    if (i % 3 === 0) {
      svg.append(svgNode("text", { x: x(i) + slot / 2, y: CHART.height - 6, "text-anchor": "middle" }, hour.label));
    }
  });
  const now = Date.parse(state.overview.now);
  const hour = hours.findLastIndex((h) => Date.parse(h.start) <= now);
  if (hour >= 0) {
    const into = Math.min(1, (now - Date.parse(hours[hour].start)) / 3600000);
    const nowX = x(hour) + slot * into;
    svg.append(svgNode("line", { class: "now", x1: nowX, x2: nowX, y1: CHART.top, y2: base }));
  }
  return { svg, x, y, slot, base };
}

function niceTop(values) {
  const most = Math.max(0, ...values);
  if (most <= 1) return 1;
  const step = 10 ** Math.floor(Math.log10(most));
  return Math.ceil(most / step) * step;
}

function barChart(hours) {
  const counts = hours.map((hour) => hour.created);
  const chart = chartFrame(hours, niceTop(counts));
  hours.forEach((hour, i) => {
    if (!hour.created) return;
    const top = chart.y(hour.created);
    const bar = svgNode("rect", {
      class: "bar",
      x: chart.x(i) + chart.slot * 0.15,
      y: top,
      width: chart.slot * 0.7,
      height: chart.base - top,
    });
    bar.append(svgNode("title", {}, `${hour.label}: ${hour.created} created`));
    chart.svg.append(bar);
  });
  return chart.svg;
}

function lineChart(hours) {
  const minutes = hours.map((hour) => (hour.wait_p50_s === null ? null : hour.wait_p50_s / 60));
  const chart = chartFrame(hours, niceTop(minutes.filter((m) => m !== null)));
  let path = "";
  let drawing = false;
  minutes.forEach((value, i) => {
    if (value === null) {
      drawing = false; // an hour without claims: a gap, not a drop to zero
      return;
    }
    const px = chart.x(i) + chart.slot / 2;
    const py = chart.y(value);
    path += `${drawing ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)} `;
    drawing = true;
    const dot = svgNode("circle", { class: "dot", cx: px, cy: py, r: 2.5 });
    dot.append(svgNode("title", {}, `${hours[i].label}: wait p50 ${duration(hours[i].wait_p50_s)}`));
    chart.svg.append(dot);
  });
  if (path) chart.svg.append(svgNode("path", { class: "line", d: path.trim() }));
  return chart.svg;
}

function renderCharts(hours) {
  $("chart-created").replaceChildren(barChart(hours));
  $("chart-wait").replaceChildren(lineChart(hours));
}

// --- one conversation ------------------------------------------------------------------------

async function showConversation(event) {
  event.preventDefault();
  const out = $("conversation");
  const id = $("conversation-id").value.trim().replace(/^#/, "");
  out.replaceChildren(element("p", "muted", "Loading…"));
  let body;
  try {
    const response = await fetch(`/dashboard/api/conversations/${encodeURIComponent(id)}`, {
      credentials: "same-origin",
    });
    body = await response.json();
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  } catch (error) {
    out.replaceChildren(element("p", "error", error.message));
    return;
  }
  out.replaceChildren(...conversationView(body));
}

function conversationView(c) {
  const agent = c.agent ? ` · ${c.agent.name}` : "";
  const summary = element(
    "p",
    "",
    `#${c.id} · ${c.customer.name} · ${c.team_name} · ${c.intent || "no intent"} · P${c.priority}${agent}`,
  );
  const status = element("p", "muted", `${c.state}: ${c.status}`);
  const times = element(
    "p",
    "muted",
    Object.entries(c.times)
      .filter(([, at]) => at)
      .map(([name, at]) => `${name.replace(/_at$/, "").replace("_", " ")} ${localTime(at, true)}`)
      .join(" · "),
  );
  const trail = element("ol", "trail");
  for (const step of c.trail) {
    const li = element("li");
    li.append(element("span", "when", localTime(step.at, true)));
    // Most reasons name their step already ("time: Support open"), as /why shows them.
    if (!step.reason.startsWith(`${step.kind}:`)) li.append(element("span", "who", step.kind));
    li.append(step.reason);
    trail.append(li);
  }
  const transcript = element("ol", "transcript");
  for (const line of c.transcript) {
    const li = element("li");
    const text = line.text || `[${line.kind}]`;
    li.append(element("span", "when", localTime(line.at, true)), element("span", `who ${line.sender}`, line.sender), text);
    transcript.append(li);
  }
  return [
    summary, status, times,
    element("h3", "", "Routing trail"), c.trail.length ? trail : element("p", "muted", "No routing yet."),
    element("h3", "", "Transcript"), c.transcript.length ? transcript : element("p", "muted", "No messages."),
  ];
}

// --- start -----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("conversation-form").addEventListener("submit", showConversation);
  setInterval(tick, TICK_MS);
  poll();
});
