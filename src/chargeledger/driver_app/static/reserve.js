// "Reserve" in the charging view (issue 16): POST /api/v1/stations/{id}/evses/{n}/reservations
// holds the EVSE for the chosen token (the station gets OCPP ReserveNow) with an
// Idempotency-Key made once per form, so a double tap reserves once. The reservation time is
// charged with the session that uses it, at the tariff's "while reserved" price; one never
// used is not charged. "Cancel reservation" sends POST /api/v1/reservations/{id}/cancel.
import {post} from "./api.js";

const $ = (id) => document.getElementById(id);
let reserveKey = null;
let held = null;  // the active reservation shown, as the API returned it

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
}

function showHeld(reservation) {
  held = reservation;
  $("reserve-form").hidden = reservation !== null;
  $("reserved").hidden = reservation === null;
  if (reservation !== null) {
    $("reserved-text").textContent =
      `Reserved for you until ${clock(reservation.expires_at)} (reservation ${reservation.number}).`;
  }
}

// A fresh form for the EVSE the charging view opened with: what reserving costs there.
export function openReserve(where) {
  reserveKey = newKey();
  showHeld(null);
  $("reserve-button").disabled = false;
  const lines = (where.priceLines || []).filter((line) => line.includes("reserved"));
  $("reserve-price").textContent = lines.length
    ? `While reserved: ${lines.join("; ")}. Charged with your session; an unused reservation is free.`
    : "Reserving is free here.";
}

// Charging started (or the view closed): the reservation is no longer shown.
export function closeReserve() {
  $("reserve-form").hidden = true;
  $("reserved").hidden = true;
  held = null;
}

export async function reserve(target, ui) {
  $("reserve-button").disabled = true;
  ui.say("Asking the station to reserve…");
  try {
    const made = await post(
      `/api/v1/stations/${target.stationId}/evses/${target.evseId}/reservations`,
      {token_id: $("charge-token").value, minutes: Number($("reserve-minutes").value)},
      {"Idempotency-Key": reserveKey},
    );
    showHeld(made);
    ui.say("Reserved. Start charging when you arrive.");
    $("start-button").focus();
  } catch (error) {
    reserveKey = newKey();  // a refused reservation may be asked again as a new one
    $("reserve-button").disabled = false;
    throw error;
  }
}

export async function cancelReservation(ui) {
  if (held === null) return;
  $("cancel-reservation").disabled = true;
  try {
    await post(`/api/v1/reservations/${held.id}/cancel`, {});
    reserveKey = newKey();
    showHeld(null);
    $("reserve-button").disabled = false;
    ui.say("Reservation cancelled.");
  } finally {
    $("cancel-reservation").disabled = false;
  }
}
