// "Start charging", the "Charging" view and "Stop" (issue 16); "Reserve" is reserve.js. A start sends
// POST /api/v1/stations/{id}/evses/{n}/start with one of the driver's own active tokens and an
// Idempotency-Key made once per start form, so a double tap (or a retry after a lost answer)
// starts one session. The station answers Accepted before it has started: the session exists
// once its StartTransaction arrives, so the app looks for it among the driver's running
// sessions. Its live cost comes from GET /api/v1/sessions/{id}/live (server-sent events read
// with fetch() and the bearer token, api.js "stream"), computed by the same price() as the
// session's cost; the stream ends when the session does, and the final cost and the session's
// receipt or invoice (once issued, as My sessions shows them) follow.
import {Expired, get, post, stream} from "./api.js";
import {documentButtons} from "./sessions.js";
import {cancelReservation, closeReserve, openReserve, reserve} from "./reserve.js";

const $ = (id) => document.getElementById(id);
const LOOK_MS = 1000;
const LOOKS = 120;  // about two minutes for the car to be plugged in and the station to start
const RECEIPT_LOOKS = 10;
let target = null;  // {stationId, evseId, label}
let startKey = null;
let watching = null;  // {sessionId, abort}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

function money(amount, currency) {
  return amount === null ? "—" : `${Number(amount).toFixed(2)} ${currency} incl. VAT`;
}

function duration(seconds) {
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const mm = String(minutes % 60).padStart(2, "0");
  return hours > 0 ? `${hours} h ${mm} min` : `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}

function showLive(cost) {
  $("live-cost").textContent = cost.status === "under_review"
    ? "Under review" : money(cost.cost_incl_vat, cost.currency);
  $("live-energy").textContent = `${Number(cost.energy_kwh).toFixed(3)} kWh`;
  $("live-duration").textContent = duration(cost.duration_s);
}

// The start form for one EVSE: the driver's own active tokens to choose from.
export async function openStart(where, ui) {
  stopWatching();
  target = where;
  startKey = newKey();
  $("charge-where").textContent = where.label;
  $("start-form").hidden = false;
  $("start-button").disabled = false;
  $("charging").hidden = true;
  openReserve(where);
  ui.show("charge");
  const tokens = (await get("/api/v1/tokens", {status: "active"})).items;
  $("charge-token").replaceChildren(...tokens.map((token) => {
    const option = document.createElement("option");
    option.value = token.id;
    option.textContent = token.label ? `${token.label} (${token.uid})` : token.uid;
    return option;
  }));
  if (tokens.length === 0) {
    ui.say("You have no active token to charge with.", true);
    $("start-button").disabled = true;
    $("reserve-button").disabled = true;
    return;
  }
  $("charge-token").focus();
}

async function runningSession(where) {
  for (let look = 0; look < LOOKS; look += 1) {
    const page = await get("/api/v1/sessions", {station_id: where.stationId, status: "active"});
    const found = page.items.find((session) => session.evse_id === where.evseId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, LOOK_MS));
  }
  return null;
}

async function start(ui) {
  $("start-button").disabled = true;
  ui.say("Asking the station to start…");
  try {
    await post(
      `/api/v1/stations/${target.stationId}/evses/${target.evseId}/start`,
      {token_id: $("charge-token").value},
      {"Idempotency-Key": startKey},
    );
  } catch (error) {
    startKey = newKey();  // a refused start may be tried again as a new one
    $("start-button").disabled = false;
    throw error;
  }
  ui.say("The station is starting. Plug in your car if you have not.");
  const session = await runningSession(target);
  if (session === null) {
    ui.say("The station has not started a session. Try again.", true);
    startKey = newKey();
    $("start-button").disabled = false;
    return;
  }
  await watch(session.id, ui);
}

function stopWatching() {
  if (watching !== null) watching.abort.abort();
  watching = null;
}

// Follow a running session until it ends: the stream's last event is its final cost.
export async function watch(sessionId, ui) {
  stopWatching();
  const abort = new AbortController();
  watching = {sessionId, abort};
  ui.show("charge");
  $("start-form").hidden = true;
  closeReserve();
  $("charging").hidden = false;
  $("charge-done").hidden = true;
  $("stop-button").hidden = false;
  $("stop-button").disabled = false;
  $("live-cost").textContent = "—";
  ui.say("Charging.");
  let last = null;
  try {
    await stream(`/api/v1/sessions/${sessionId}/live`, (cost) => {
      last = cost;
      showLive(cost);
    }, abort.signal);
  } catch (error) {
    if (abort.signal.aborted) return;
    throw error;
  }
  if (last !== null && last.ended) await finished(sessionId, last, ui);
}

async function finished(sessionId, cost, ui) {
  watching = null;
  $("stop-button").hidden = true;
  $("charge-done").hidden = false;
  $("charge-final").textContent = cost.status === "under_review"
    ? "Charging ended. The session is under review: its price follows once it is checked."
    : `Charging ended: ${money(cost.cost_incl_vat, cost.currency)} for ${Number(cost.energy_kwh).toFixed(3)} kWh.`;
  ui.say("Charging ended.");
  $("charge-sessions").focus();
  // A receipt (paid at the session: wallet, card) is issued just after the session is booked,
  // which may follow the stop by a moment; an invoice comes with the month's run instead.
  for (let look = 0; look < RECEIPT_LOOKS; look += 1) {
    const buttons = await documentButtons(sessionId, ui.failed);
    $("charge-documents").replaceChildren(...buttons);
    if (buttons.length > 0 || watching !== null) return;
    await new Promise((resolve) => setTimeout(resolve, LOOK_MS));
  }
}

async function stop(ui) {
  if (watching === null) return;
  $("stop-button").disabled = true;
  ui.say("Asking the station to stop…");
  try {
    await post(`/api/v1/sessions/${watching.sessionId}/stop`, {});
    ui.say("The station is stopping.");
  } catch (error) {
    $("stop-button").disabled = false;
    throw error;
  }
}

export function leave() {
  stopWatching();
}

export function wire(ui) {
  const guarded = (work) => async (event) => {
    if (event) event.preventDefault();
    try {
      await work(ui);
    } catch (error) {
      if (error instanceof Expired) stopWatching();
      ui.failed(error);
    }
  };
  $("start-form").addEventListener("submit", guarded(start));
  $("reserve-form").addEventListener("submit", guarded((shell) => reserve(target, shell)));
  $("cancel-reservation").addEventListener("click", guarded(cancelReservation));
  $("stop-button").addEventListener("click", guarded(stop));
  $("charge-sessions").addEventListener("click", () => ui.openView("sessions"));
}
