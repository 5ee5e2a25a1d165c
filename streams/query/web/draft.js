// The Draft view: paste a news text, POST /draft, review what the rules found, download JSONL.
// The worker computes the draft and changes nothing; every edit here lives in this tab until
// the download. Text from the article is set as text nodes (never innerHTML). Uses `el`,
// `answered`, `actorName` and `issueTitle` from app.js, loaded before this file.
"use strict";

const draftState = { text: "", published: "", drafts: [], unknown: [] };
const DRAFT_POSITIONS = ["support", "oppose", "conditional", "neutral", "ambiguous"];
const KIND_ORDER = ["quote", "date", "actor", "claim"];

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

// POST with the same token path as the GETs (app.js `answered`).
async function apiPost(path, body) {
  const init = { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
  const response = await answered(path, init, 30);
  if (response === null) throw new Error("the worker stayed busy: try again");
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(answer.detail)
      ? answer.detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ")
      : answer.detail || response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return answer;
}

async function runDraft(event) {
  event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const body = { text: document.getElementById("draft-text").value, published: value("draft-published") };
  for (const [name, id] of [["outlet", "draft-outlet"], ["title", "draft-title-input"], ["url", "draft-url"]]) {
    if (value(id)) body[name] = value(id);
  }
  const status = document.getElementById("draft-status");
  const button = document.getElementById("draft-button");
  status.textContent = "drafting…";
  button.disabled = true;
  try {
    const answer = await apiPost("/draft", body);
    draftState.text = body.text;
    draftState.published = body.published;
    draftState.unknown = answer.unknown_people;
    draftState.drafts = answer.drafts.map((item) => ({
      event: item.event, spans: item.spans, dropped: false, droppedClaims: new Set(),
    }));
    const claims = draftState.drafts.reduce((n, d) => n + d.event.stances.length, 0);
    status.textContent = `${draftState.drafts.length} draft event(s), ${claims} suggested claim(s): review each one.`;
    document.getElementById("draft-result").hidden = false;
    renderDraft();
  } catch (error) {
    status.textContent = `error: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

// -- the text with its highlights -----------------------------------------------

function renderHighlights() {
  const text = draftState.text;
  const spans = [];
  draftState.drafts.forEach((draft, index) => {
    if (draft.dropped) return;
    for (const span of draft.spans) {
      if (span.kind === "claim" && draft.droppedClaims.has(span.claim)) continue;
      spans.push({ ...span, event: index });
    }
  });
  // One sweep over the cut points, keeping the spans that cover the current piece.
  const cuts = [...new Set([0, text.length, ...spans.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
  spans.sort((a, b) => a.start - b.start);
  const parts = [];
  let active = [], next = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i], cuts[i + 1]];
    while (next < spans.length && spans[next].start <= from) active.push(spans[next++]);
    active = active.filter((s) => s.end > from);
    const words = text.slice(from, to);
    if (!active.length) {
      parts.push(document.createTextNode(words));
      continue;
    }
    const kinds = KIND_ORDER.filter((kind) => active.some((s) => s.kind === kind));
    const label = [...new Set(active.map((s) => `${s.kind}: ${s.label}`))].join("; ");
    parts.push(el("mark", {
      class: kinds.map((kind) => `hl-${kind}`).join(" "), title: label,
      "data-kinds": kinds.join(" "), "data-events": [...new Set(active.map((s) => s.event))].join(" "),
    }, words));
  }
  document.getElementById("draft-highlighted").replaceChildren(...parts);
}

// -- the events, editable -----------------------------------------------------------

function precisionOf(at) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(at)) return "day";
  if (/^\d{4}-\d{2}$/.test(at)) return "month";
  if (/^\d{4}$/.test(at)) return "year";
  return null;
}

function claimRow(draft, stance, index) {
  const dropped = draft.droppedClaims.has(index);
  const warning = el("span", { class: "claim-warning", role: "alert" });
  const check = () => {
    const wrong = (stance.position === "support" && stance.score <= 0) ||
      (stance.position === "oppose" && stance.score >= 0);
    warning.textContent = wrong ? `${stance.position} needs a score ${stance.position === "support" ? "above" : "below"} 0` : "";
  };
  const position = el("select", { "aria-label": `position of ${stance.actor_id} on ${stance.issue_id}`,
    class: "claim-position", onchange: (e) => {
      stance.position = e.target.value;
      if (stance.position === "support" && stance.score <= 0) stance.score = Math.abs(stance.score) || 0.5;
      if (stance.position === "oppose" && stance.score >= 0) stance.score = -Math.abs(stance.score) || -0.5;
      score.value = String(stance.score);
      check();
      renderJsonl();
    } }, ...DRAFT_POSITIONS.map((p) => el("option", { value: p, selected: p === stance.position }, p)));
  const score = el("input", { type: "number", min: -1, max: 1, step: 0.05, value: stance.score, class: "claim-score",
    "aria-label": `score of ${stance.actor_id} on ${stance.issue_id}`, onchange: (e) => {
      const parsed = Number.parseFloat(e.target.value);
      if (Number.isFinite(parsed)) stance.score = Math.max(-1, Math.min(1, parsed));
      e.target.value = String(stance.score);
      check();
      renderJsonl();
    } });
  check();
  const toggle = el("button", { type: "button", class: "drop-claim", onclick: () => {
    if (dropped) draft.droppedClaims.delete(index); else draft.droppedClaims.add(index);
    renderDraft();
  } }, dropped ? "Keep claim" : "Drop claim");
  return el("tr", { class: dropped ? "dropped" : "", "data-claim": index },
    el("td", {}, actorName(stance.actor_id)), el("td", {}, issueTitle(stance.issue_id)),
    el("td", {}, position), el("td", {}, score), el("td", {}, stance.quote || "–"),
    el("td", {}, toggle, warning));
}

function eventItem(draft, index) {
  const event = draft.event;
  const marker = event.draft || {};
  const dateRule = marker.date ? `${marker.date.words ? `"${marker.date.words}"` : "no date words"}: ${marker.date.rule}` : "";
  const when = el("input", { type: "text", value: event.occurred_at.at, class: "event-date", size: 12,
    "aria-label": `date of draft event ${index + 1}`, onchange: (e) => {
      const precision = precisionOf(e.target.value.trim());
      e.target.setAttribute("aria-invalid", precision ? "false" : "true");
      if (!precision) return;
      event.occurred_at = { at: e.target.value.trim(), precision };
      renderJsonl();
    } });
  const drop = el("button", { type: "button", class: "drop-event", onclick: () => {
    draft.dropped = !draft.dropped;
    renderDraft();
  } }, draft.dropped ? "Keep event" : "Drop event");
  const actors = event.actors.map((a) => `${actorName(a.actor_id)} (${a.role})`).join(", ");
  const parts = [
    el("p", { class: "event-head" }, el("strong", {}, event.type),
      event.status ? ` (${event.status})` : "", " on ", when, ` ${dateRule} `, drop),
    el("p", {}, "actors: ", actors),
    el("p", { class: "summary" }, event.summary),
  ];
  for (const quote of event.quotes) parts.push(el("blockquote", { class: "quote" }, `${actorName(quote.actor_id)}: ${quote.text}`));
  if (event.stances.length) {
    parts.push(el("table", { class: "draft-claims" },
      el("thead", {}, el("tr", {}, ...["actor", "issue", "position", "score", "quote", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...event.stances.map((stance, i) => claimRow(draft, stance, i)))));
  } else {
    parts.push(el("p", { class: "hint" }, "no suggested claim"));
  }
  return el("li", { class: draft.dropped ? "draft-event dropped" : "draft-event", "data-index": index }, ...parts);
}

function renderDraft() {
  renderHighlights();
  document.getElementById("draft-events").replaceChildren(...draftState.drafts.map(eventItem));
  document.getElementById("draft-unknown").replaceChildren(...draftState.unknown.map((person) =>
    el("li", {}, `${person.name} is not in the registry: `, el("code", {}, person.command))));
  renderJsonl();
}

// -- the JSONL to publish (markers kept: `timeline draft accept` removes them) ------------

function edited() {
  return draftState.drafts.filter((draft) => !draft.dropped).map((draft) => {
    const event = structuredClone(draft.event);
    const kept = (_, i) => !draft.droppedClaims.has(i);
    event.stances = event.stances.filter(kept);
    if (event.draft && Array.isArray(event.draft.claims)) event.draft.claims = event.draft.claims.filter(kept);
    return event;
  });
}

function renderJsonl() {
  const lines = edited().map((event) => JSON.stringify(event));
  document.getElementById("draft-jsonl").textContent = lines.length ? lines.join("\n") + "\n" : "";
}

function downloadJsonl() {
  const blob = new Blob([document.getElementById("draft-jsonl").textContent], { type: "application/x-ndjson" });
  const link = el("a", { href: URL.createObjectURL(blob), download: `draft-${draftState.published || today()}.jsonl` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

document.getElementById("draft-published").value = today();
document.getElementById("draft-form").addEventListener("submit", runDraft);
document.getElementById("draft-download").addEventListener("click", downloadJsonl);
