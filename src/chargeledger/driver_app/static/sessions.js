// "My sessions": GET /api/v1/sessions (a driver's list holds only their account's sessions,
// enforced by the service), each session's cost from GET /api/v1/sessions/{id}/cost, and the
// issued invoices, receipts and credit notes of GET /api/v1/invoices (again only the driver's
// own) that name the session on a line, each downloadable as its PDF.
import {Expired, download, get} from "./api.js";
import {el} from "./locate.js";

const KINDS = {invoice: "Invoice", receipt: "Receipt", credit_note: "Credit note"};
const STATUS = {active: "charging", completed: "completed", quarantined: "under review"};

async function costOf(session) {
  try {
    return await get(`/api/v1/sessions/${session.id}/cost`);
  } catch (error) {
    if (error instanceof Expired) throw error;
    return null;  // e.g. a session without a tariff: shown without a cost
  }
}

function costText(cost) {
  if (cost === null) return "Cost not available";
  if (cost.status === "under_review") return "Under review: " + cost.message;
  const total = Number(cost.total_cost.incl_vat).toFixed(2);
  return `${total} ${cost.currency} incl. VAT${cost.live ? " so far" : ""}`;
}

function documentsBySession(documents) {
  const found = new Map();
  for (const document of documents) {
    if (!document.number || !(document.kind in KINDS)) continue;  // drafts have no PDF yet
    for (const line of [...document.lines, ...document.annex]) {
      if (!line.session_id) continue;
      const list = found.get(line.session_id) || [];
      if (!list.includes(document)) list.push(document);
      found.set(line.session_id, list);
    }
  }
  return found;
}

function documentButton(document, onError) {
  const button = el("button", {type: "button", class: "document"}, `${KINDS[document.kind]} ${document.number} (PDF)`);
  button.addEventListener("click", () => download(`/api/v1/invoices/${document.id}/pdf`).catch(onError));
  return button;
}

// The issued receipts, invoices and credit notes that name one session, as buttons.
export async function documentButtons(sessionId, onError) {
  const documents = await get("/api/v1/invoices", {limit: 100});
  return (documentsBySession(documents.items).get(sessionId) || []).map((d) => documentButton(d, onError));
}

function watchButton(session, onWatch) {
  const button = el("button", {type: "button", class: "watch"}, "Watch live cost");
  button.addEventListener("click", () => onWatch(session.id));
  return button;
}

// "Report a problem" (problem.js) on a session that is over: a running one has no charge yet.
function reportButton(session, started, onReport) {
  const button = el("button", {type: "button", class: "report", "aria-label": `Report a problem with the session of ${started}`}, "Report a problem");
  button.addEventListener("click", () => onReport(session));
  return button;
}

export async function loadSessions(list, onError, onWatch, onReport) {
  const [page, documents] = await Promise.all([
    get("/api/v1/sessions", {limit: 50}),
    get("/api/v1/invoices", {limit: 100}),
  ]);
  const sessions = page.items.sort((a, b) => b.started_at.localeCompare(a.started_at));
  const costs = await Promise.all(sessions.map(costOf));
  const bySession = documentsBySession(documents.items);
  if (sessions.length === 0) {
    list.replaceChildren(el("li", {class: "empty"}, "No sessions yet."));
    return;
  }
  list.replaceChildren(...sessions.map((session, index) => {
    const started = new Date(session.started_at).toLocaleString();
    const kwh = session.energy_wh === null ? "—" : (Number(session.energy_wh) / 1000).toFixed(3);
    return el(
      "li", {class: "session", "data-session-id": session.id},
      el("h3", {}, started),
      el("p", {class: "energy"}, `${kwh} kWh · ${STATUS[session.status] || session.status}`),
      el("p", {class: "cost"}, costText(costs[index])),
      el("div", {class: "documents"}, ...(bySession.get(session.id) || []).map((d) => documentButton(d, onError))),
      ...(session.status === "active" && onWatch ? [watchButton(session, onWatch)] : []),
      ...(session.status !== "active" && onReport ? [reportButton(session, started, onReport)] : []),
    );
  }));
}
