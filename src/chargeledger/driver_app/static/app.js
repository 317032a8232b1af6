// The driver app's shell: login, the views (find, map, my sessions, charging, wallet & payment,
// report a problem), logout, and the service worker that keeps the shell for offline use. Data
// comes from the public REST API (api.js); nothing is rendered by the server.
import {ApiError, Expired, forget, login, restore} from "./api.js";
import {drawMap} from "./map.js";
import {parsePosition, renderSites, search} from "./locate.js";
import {loadSessions} from "./sessions.js";
import {leave, openStart, watch, wire} from "./charge.js";
import {leaveWallet, loadWallet, wireWallet} from "./wallet.js";
import {openProblem, wireProblem} from "./problem.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["login", "locate", "map", "sessions", "charge", "wallet", "problem"];
let lastSearch = null;  // {center, radius, sites}: what the map draws

function say(text, bad) {
  $("status").textContent = text;
  $("status").className = bad ? "error" : "";
}

function show(view) {
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  $("tabs").hidden = view === "login";
  for (const tab of document.querySelectorAll("#tabs [data-view]")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
}

function toLogin(message) {
  forget();
  show("login");
  say(message || "", Boolean(message));
  $("username").focus();
}

function failed(error) {
  if (error instanceof Expired) toLogin("Your session has expired. Please log in again.");
  else if (error instanceof ApiError) say(`${error.message} (${error.code})`, true);
  else say(navigator.onLine ? String(error.message || error) : "You are offline.", true);
}

function selectSite(id) {
  show("locate");
  const item = $(`site-${id}`);
  if (item) {
    item.scrollIntoView({block: "center"});
    item.focus();
  }
}

function drawLastSearch() {
  if (lastSearch === null) {
    $("map").textContent = "Search for chargers first.";
    return;
  }
  drawMap($("map"), lastSearch.center, lastSearch.radius, lastSearch.sites, selectSite);
}

async function openView(view) {
  show(view);
  try {
    if (view === "map") drawLastSearch();
    if (view === "sessions") {
      say("Loading your sessions…");
      await loadSessions(
        $("sessions"), failed, (id) => watch(id, ui).catch(failed), (s) => openProblem(s, ui),
      );
      say("");
    }
    if (view === "wallet") {
      say("Loading your wallet…");
      await loadWallet(ui);
      say("");
    }
  } catch (error) {
    failed(error);
  }
}

// What charge.js needs of the shell.
const ui = {show, say, failed, openView};
wire(ui);
wireWallet(ui);
wireProblem(ui);

function startAt(where) {
  openStart(where, ui).catch(failed);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("Logging in…");
  try {
    await login($("username").value, $("password").value);
    $("password").value = "";
    say("");
    show("locate");
    $("near").focus();
  } catch (error) {
    $("password").value = "";
    if (error instanceof ApiError && error.status === 401) say("Wrong e-mail or password.", true);
    else failed(error);
  }
});

$("logout").addEventListener("click", () => {
  leave();
  leaveWallet();
  lastSearch = null;
  $("sites").replaceChildren();
  $("sessions").replaceChildren();
  toLogin("You are logged out.");
});

for (const tab of document.querySelectorAll("#tabs [data-view]")) {
  tab.addEventListener("click", () => openView(tab.dataset.view));
}

$("locate-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const center = parsePosition($("near").value);
  if (center === null) {
    say("Type a position as latitude, longitude, e.g. 52.52, 13.405.", true);
    $("near").focus();
    return;
  }
  const radius = Number($("radius").value) || 10;
  say("Searching…");
  try {
    const sites = await search(center, {
      radius, connector: $("connector").value, minKw: $("min-kw").value, available: $("available").checked,
    });
    lastSearch = {center, radius, sites};
    renderSites($("sites"), sites, startAt);
    say(`${sites.length} ${sites.length === 1 ? "site" : "sites"} within ${radius} km.`);
  } catch (error) {
    failed(error);
  }
});

$("here").addEventListener("click", () => {
  if (!("geolocation" in navigator)) {
    say("This browser cannot tell your position; type it instead.", true);
    return;
  }
  say("Finding your position…");
  navigator.geolocation.getCurrentPosition(
    (found) => {
      const {latitude, longitude} = found.coords;
      $("near").value = `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`;
      $("locate-form").requestSubmit();
    },
    () => say("Your position is not available; type it instead.", true),
    {enableHighAccuracy: false, timeout: 10_000, maximumAge: 60_000},
  );
});

if (restore()) show("locate");
else toLogin();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", {scope: "/app/"}).catch(() => {
    /* the app works without it, only not offline */
  });
}
