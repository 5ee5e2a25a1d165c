// diplomatic-timeline web page: the stance matrix, actor timelines, live changes, digest preview
// (the Draft view is in draft.js).
// Every text that comes from events is set with textContent (never innerHTML), so a quote
// containing <script> is shown as text and never runs.
"use strict";

const state = { actors: [], issues: [], stances: new Map(), asOf: "" };
const POSITIONS = ["support", "oppose", "conditional", "neutral", "ambiguous"];

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") Object.assign(node.style, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A worker started with TIMELINE_API_TOKEN answers 401: ask for the token once, keep it for
// this tab (sessionStorage), and trade it for a session cookie that the live-changes
// EventSource (which cannot send headers) carries.
let signingIn = null;  // one prompt, however many requests met the 401 at once

function signIn() {
  if (!signingIn) signingIn = askForToken().finally(() => { signingIn = null; });
  return signingIn;
}

async function askForToken() {
  const token = window.prompt("This worker needs its API token (TIMELINE_API_TOKEN):");
  if (!token) throw new Error("no API token given");
  sessionStorage.setItem("timeline-token", token);
  const response = await fetch("/session", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    sessionStorage.removeItem("timeline-token");
    throw new Error(`the token was refused (${response.status})`);
  }
}

function headers() {
  const token = sessionStorage.getItem("timeline-token");
  return token ? { Accept: "application/json", Authorization: `Bearer ${token}` } : { Accept: "application/json" };
}

// The first answer that is neither a 401 (the token is asked for, at most 3 times) nor a 503
// (retried each second, `attempts` times in all); null if the worker stayed unavailable.
async function answered(path, init, attempts) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const response = await fetch(path, { ...init, headers: { ...headers(), ...(init.headers || {}) } });
    if (response.status === 401 && attempt < 3) {
      await signIn();
      continue;
    }
    if (response.status === 503) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    return response;
  }
  return null;
}

async function api(path) {
  const response = await answered(path, {}, 60);
  if (response === null) throw new Error(`the worker is still recovering: ${path}`);
  if (!response.ok) throw new Error(`${response.status} ${path}`);
  return response.json();
}

// Every list the API returns is a page ({items, next}): follow `next` to the last one.
async function apiItems(path) {
  const items = [];
  let cursor = null;
  do {
    const joiner = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${joiner}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return items;
}

const key = (actorId, issueId) => `${actorId}|${issueId}`;
const actorName = (id) => (state.actors.find((a) => a.id === id) || { name: id }).name;
const issueTitle = (id) => (state.issues.find((i) => i.id === id) || { title: id }).title;
const day = (eventTime) => eventTime.at.slice(0, eventTime.precision === "month" ? 7 : 10);
const signed = (score) => (score > 0 ? "+" : "") + score.toFixed(2);

function describe(stance) {
  return `${actorName(stance.actor_id)} on ${issueTitle(stance.issue_id)}: ${stance.position}, ` +
    `score ${signed(stance.score)}, confidence ${stance.confidence.toFixed(2)}, ${day(stance.occurred_at)}`;
}

// -- the matrix ---------------------------------------------------------------

function visibleActors() {
  const kind = document.getElementById("kind-filter").value;
  const country = document.getElementById("country-filter").value;
  return state.actors.filter((a) => (!kind || a.kind === kind) && (!country || a.country === country));
}

function visibleIssues() {
  const issue = document.getElementById("issue-filter").value;
  return state.issues.filter((i) => !issue || i.id === issue);
}

function cell(actor, issue) {
  const stance = state.stances.get(key(actor.id, issue.id));
  if (!stance) {
    return el("button", {
      class: "cell-none", "data-actor": actor.id, "data-issue": issue.id, "data-position": "none",
      "aria-label": `${actor.name} on ${issue.title}: no stance`, onclick: () => showNone(actor, issue),
    }, "–");
  }
  const alpha = 0.3 + 0.7 * stance.confidence;
  return el("button", {
    class: `shaded pos-${stance.position} ${alpha > 0.6 ? "strong" : "pale"}`,
    style: { "--alpha": alpha.toFixed(2) },
    "data-actor": actor.id, "data-issue": issue.id, "data-position": stance.position,
    "aria-label": describe(stance), title: describe(stance), onclick: () => showClaim(stance),
  }, `${stance.position} ${signed(stance.score)}`);
}

function renderMatrix() {
  const issues = visibleIssues();
  const table = document.getElementById("matrix");
  const head = el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "actor"),
    ...issues.map((issue) => el("th", { scope: "col", title: issue.title }, issue.title))));
  const body = el("tbody", {}, ...visibleActors().map((actor) => el("tr", {},
    el("th", { scope: "row" }, el("a", { href: `#actor/${actor.id}` }, actor.name)),
    ...issues.map((issue) => el("td", {}, cell(actor, issue))))));
  table.replaceChildren(head, body);
  document.getElementById("as-of-label").textContent =
    state.asOf ? `Stances as of the end of ${state.asOf}.` : "Current stances.";
}

async function loadStances() {
  const query = state.asOf ? `?as_of=${encodeURIComponent(state.asOf)}` : "";
  const stances = await apiItems(`/stances${query}`);
  state.stances = new Map(stances.map((s) => [key(s.actor_id, s.issue_id), s]));
  renderMatrix();
}

function fillSelect(id, values) {
  const select = document.getElementById(id);
  for (const [value, label] of values) select.append(el("option", { value }, label));
}

// -- details ------------------------------------------------------------------

function showNone(actor, issue) {
  document.getElementById("details").replaceChildren(el("h2", {}, "Details"),
    el("p", {}, `${actor.name} has no stance on ${issue.title}` + (state.asOf ? ` as of ${state.asOf}.` : ".")));
}

async function showClaim(stance, retractedBy) {
  const details = document.getElementById("details");
  const parts = [el("h2", {}, "Details"),
    el("p", {}, el("strong", {}, actorName(stance.actor_id)), ` on ${issueTitle(stance.issue_id)}`),
    el("p", {}, `${stance.position}, score ${signed(stance.score)}, confidence ${stance.confidence.toFixed(2)}`),
    el("p", {}, `happened ${day(stance.occurred_at)} (${stance.occurred_at.precision} precision)`)];
  if (retractedBy) parts.push(el("p", { class: "retracted" }, `retracted by ${retractedBy}`));
  if (stance.quote) parts.push(el("blockquote", { class: "quote" }, stance.quote));
  if (stance.basis) parts.push(el("p", { class: "basis" }, el("em", {}, "basis: "), stance.basis));
  parts.push(el("p", {}, `event ${stance.event_id}`));
  details.replaceChildren(...parts);
  try {
    const record = await api(`/events/${encodeURIComponent(stance.event_id)}`);
    const event = record.event || {};
    details.append(el("p", { class: "summary" }, event.summary || ""));
    const source = event.source;
    if (source) {
      const label = `${source.outlet}${source.title ? `: ${source.title}` : ""}`;
      const url = typeof source.url === "string" && /^https?:\/\//.test(source.url) ? source.url : null;
      details.append(el("p", {}, "source: ", url ? el("a", { href: url, rel: "noopener noreferrer" }, label) : label));
    }
  } catch (error) {
    details.append(el("p", {}, `event not found: ${error.message}`));
  }
}

// -- actor page -----------------------------------------------------------------

async function showActor(actorId) {
  const [actor, history] = await Promise.all([api(`/actors/${encodeURIComponent(actorId)}`),
    apiItems(`/actors/${encodeURIComponent(actorId)}/history`)]);
  document.getElementById("actor-title").textContent = actor.name;
  document.getElementById("actor-meta").textContent =
    `${actor.kind}${actor.country ? `, ${actor.country}` : ""} · ${history.length} claim(s)`;
  const times = history.map((entry) => Date.parse(entry.stance.occurred_at.at));
  const low = Math.min(...times), high = Math.max(...times), span = Math.max(high - low, 86400000);
  const byIssue = new Map();
  for (const entry of history) {
    if (!byIssue.has(entry.stance.issue_id)) byIssue.set(entry.stance.issue_id, []);
    byIssue.get(entry.stance.issue_id).push(entry);
  }
  const svgNS = "http://www.w3.org/2000/svg";
  const timelines = [...byIssue].map(([issueId, entries]) => {
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 1000 52");
    svg.setAttribute("role", "list");
    const axis = document.createElementNS(svgNS, "line");
    Object.entries({ x1: 10, x2: 990, y1: 20, y2: 20, stroke: "#98a2b3" }).forEach(([k, v]) => axis.setAttribute(k, v));
    svg.append(axis);
    for (const [x, anchor, moment] of [[10, "start", low], [990, "end", high]]) {
      const label = document.createElementNS(svgNS, "text");
      Object.entries({ x, y: 50, "text-anchor": anchor, "font-size": 12, fill: "#475467" })
        .forEach(([k, v]) => label.setAttribute(k, v));
      label.textContent = new Date(moment).toISOString().slice(0, 10);
      svg.append(label);
    }
    for (const entry of entries) {
      const x = 10 + 980 * ((Date.parse(entry.stance.occurred_at.at) - low) / span);
      const mark = document.createElementNS(svgNS, "circle");
      const colour = `rgb(var(--${entry.stance.position}))`;
      mark.style.fill = entry.retracted_by ? "#fff" : colour;
      mark.style.stroke = colour;
      Object.entries({ cx: x.toFixed(1), cy: 20, r: 9, tabindex: 0, role: "listitem", "stroke-width": 3,
        "aria-label": describe(entry.stance) + (entry.retracted_by ? " (retracted)" : ""),
        "data-event": entry.stance.event_id, class: entry.retracted_by ? "mark retracted" : "mark" })
        .forEach(([k, v]) => mark.setAttribute(k, v));
      const open = () => showClaim(entry.stance, entry.retracted_by);
      mark.addEventListener("click", open);
      mark.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") open(); });
      svg.append(mark);
    }
    return el("div", { class: "timeline" }, el("h3", {}, issueTitle(issueId)), svg);
  });
  document.getElementById("actor-timelines").replaceChildren(...timelines);
  const rows = history.map((entry) => el("tr", { class: entry.retracted_by ? "retracted" : "" },
    el("td", {}, day(entry.stance.occurred_at)), el("td", {}, issueTitle(entry.stance.issue_id)),
    el("td", {}, `${entry.stance.position} ${signed(entry.stance.score)}`),
    el("td", {}, entry.roles.map((r) => r.title + (r.organisation ? `, ${r.organisation}` : "")).join("; ") || "–"),
    el("td", {}, el("button", { type: "button", onclick: () => showClaim(entry.stance, entry.retracted_by) },
      entry.stance.event_id)),
    el("td", {}, entry.retracted_by ? `retracted by ${entry.retracted_by}` : "")));
  document.getElementById("actor-claims").replaceChildren(
    el("thead", {}, el("tr", {}, ...["date", "issue", "stance", "role then", "event", ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows));
}

// -- digest ---------------------------------------------------------------------

async function showDigest() {
  const meta = document.getElementById("digest-meta");
  try {
    const digest = await api("/digests/latest");
    meta.textContent = `${digest.subscription_id}: ${digest.window_start} to ${digest.window_end}`;
    document.getElementById("digest-frame").srcdoc = digest.html;  // sandboxed: no scripts run
  } catch (error) {
    meta.textContent = "No digest has been published yet.";
  }
}

// -- live changes -----------------------------------------------------------------

function startFeed() {
  const status = document.getElementById("connection");
  const source = new EventSource("/changes/stream");
  source.onopen = () => { status.textContent = "live"; };
  source.onerror = () => { status.textContent = "reconnecting…"; };  // EventSource resumes with Last-Event-ID
  source.addEventListener("stance-change", (message) => {
    const change = JSON.parse(message.data);
    const now = change.current ? `${change.current.position} ${signed(change.current.score)}` : "none";
    const item = el("li", { "data-change": change.change_id },
      `${change.kind}: ${actorName(change.actor_id)} on ${issueTitle(change.issue_id)} → ${now}`);
    const feed = document.getElementById("feed");
    feed.prepend(item);
    if (!state.asOf) {
      const k = key(change.actor_id, change.issue_id);
      if (change.current) state.stances.set(k, change.current); else state.stances.delete(k);
      const button = document.querySelector(
        `button[data-actor="${CSS.escape(change.actor_id)}"][data-issue="${CSS.escape(change.issue_id)}"]`);
      if (button) {
        const actor = state.actors.find((a) => a.id === change.actor_id);
        const issue = state.issues.find((i) => i.id === change.issue_id);
        if (actor && issue) {
          const fresh = cell(actor, issue);
          fresh.classList.add("changed");
          button.replaceWith(fresh);
        }
      }
    }
  });
}

// -- routing ------------------------------------------------------------------------

async function route() {
  const hash = location.hash.slice(1);
  const views = { matrix: "matrix-view", actor: "actor-view", digest: "digest-view", draft: "draft-view" };
  const name = hash.startsWith("actor/") ? "actor" : ["digest", "draft"].includes(hash) ? hash : "matrix";
  for (const [view, id] of Object.entries(views)) document.getElementById(id).hidden = view !== name;
  if (name === "actor") await showActor(decodeURIComponent(hash.slice(6)));
  if (name === "digest") await showDigest();
}

async function main() {
  [state.actors, state.issues] = await Promise.all([apiItems("/actors"), apiItems("/issues")]);
  const kindOrder = { person: 0, state: 1, bloc: 2, organisation: 3 };
  state.actors.sort((a, b) => (kindOrder[a.kind] - kindOrder[b.kind]) || a.name.localeCompare(b.name));
  fillSelect("kind-filter", [...new Set(state.actors.map((a) => a.kind))].sort().map((k) => [k, k]));
  fillSelect("country-filter", [...new Set(state.actors.map((a) => a.country).filter(Boolean))].sort().map((c) => [c, c]));
  fillSelect("issue-filter", state.issues.map((i) => [i.id, i.title]));
  for (const id of ["kind-filter", "country-filter", "issue-filter"]) {
    document.getElementById(id).addEventListener("change", renderMatrix);
  }
  document.getElementById("as-of").addEventListener("change", (event) => {
    state.asOf = event.target.value;
    loadStances();
  });
  document.getElementById("now").addEventListener("click", () => {
    document.getElementById("as-of").value = "";
    state.asOf = "";
    loadStances();
  });
  window.addEventListener("hashchange", route);
  await loadStances();
  startFeed();
  await route();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.getElementById("connection").textContent = `error: ${error.message}`;
});
