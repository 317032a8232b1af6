// "Report a problem" on a session of My sessions (issue 16; the dispute cases of issue 15):
// a reason the API accepts (all but "chargeback", which is the card holder's bank's) and what
// is wrong, sent as POST /api/v1/disputes with the session's id. The answer is the case, shown
// with its number (DSP-…) and state. The API keeps one open case per subject: a second report
// on the same session is refused (dispute_already_open) and shown in the status line with its
// code, as every refusal is. A report already on its way blocks a second one in the page.
import {post} from "./api.js";

const $ = (id) => document.getElementById(id);
const STATES = {open: "open", under_review: "under review", resolved: "resolved"};

let sessionId = null;
let busy = false;

export function openProblem(session, ui) {
  sessionId = session.id;
  const started = new Date(session.started_at).toLocaleString();
  $("problem-session").textContent = `The session of ${started}.`;
  $("problem-form").reset();
  $("problem-case").hidden = true;
  ui.say("");
  ui.show("problem");
  $("problem-reason").focus();
}

async function send(ui) {
  const description = $("problem-description").value.trim();
  if (description === "") {
    ui.say("Please tell us what is wrong.", true);
    $("problem-description").focus();
    return;
  }
  ui.say("Sending your report…");
  const found = await post("/api/v1/disputes", {
    session_id: sessionId, reason: $("problem-reason").value, description,
  });
  $("problem-number").textContent = `Case ${found.number}`;
  $("problem-state").textContent = `State: ${STATES[found.state] || found.state}. `
    + `We answer by ${new Date(found.respond_by).toLocaleDateString()}.`;
  $("problem-case").hidden = false;
  ui.say(`Your report is case ${found.number}.`);
}

export function wireProblem(ui) {
  $("problem-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    try {
      await send(ui);
    } catch (error) {
      ui.failed(error);
    } finally {
      busy = false;
    }
  });
  $("problem-back").addEventListener("click", () => ui.openView("sessions"));
}
