// "Find a charger": GET /api/v1/locations near a typed "lat,lon" or the browser's position;
// the answer is already nearest first (the database sorts by great-circle distance).
import {get} from "./api.js";

const PLUGS = {
  IEC_62196_T2: "Type 2", IEC_62196_T2_COMBO: "CCS", CHADEMO: "CHAdeMO", DOMESTIC_F: "Schuko",
};
const AVAILABILITY = {
  AVAILABLE: "Available", CHARGING: "In use", RESERVED: "Reserved", INOPERATIVE: "Out of service",
  OUTOFORDER: "Out of order", UNKNOWN: "Status unknown",
};

export function el(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
  element.append(...children);
  return element;
}

// "52.52, 13.405" or "52.52 13.405" in decimal degrees; null when it is not a position.
export function parsePosition(text) {
  const found = /^\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!found) return null;
  const lat = Number(found[1]);
  const lon = Number(found[2]);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return {lat, lon};
}

export async function search(position, filters) {
  const answer = await get("/api/v1/locations", {
    near: `${position.lat},${position.lon}`,
    radius_km: filters.radius,
    connector: filters.connector,
    min_kw: filters.minKw,
    available: filters.available ? "true" : "",
  });
  return answer.items;
}

// A connector of an online station gets "Start charging" (charge.js asks for the token and
// offers to reserve it instead).
// The price lines go along: the charge view shows what reserving costs (those "while reserved").
function startButton(site, station, evse, connector, onStart) {
  const label = `${site.name}, ${station.charge_point_id}, EVSE ${evse.evse_id}`;
  const priceLines = connector.price ? connector.price.lines : [];
  const button = el("button", {
    type: "button", class: "start", "aria-label": `Start charging at ${label}`,
    "data-station-id": station.id, "data-evse-id": String(evse.evse_id),
  }, "Start charging");
  button.addEventListener("click", () => onStart({stationId: station.id, evseId: evse.evse_id, label, priceLines}));
  return button;
}

function connectorItem(connector, start) {
  const plug = PLUGS[connector.standard] || connector.standard;
  const power = `${Number(connector.max_power_kw)} kW ${connector.power_type.startsWith("DC") ? "DC" : "AC"}`;
  const state = connector.availability;
  const price = connector.price
    ? el("div", {class: "price"}, ...connector.price.lines.map((line) => el("p", {}, line)))
    : el("div", {class: "price"}, el("p", {}, "No price published"));
  return el(
    "li", {class: "plug"},
    el("span", {class: "kind"}, `${plug} · ${power}`), " ",
    el("span", {class: `availability ${state.toLowerCase()}`}, AVAILABILITY[state] || state),
    price,
    ...(start ? [start] : []),
  );
}

export function renderSites(list, sites, onStart) {
  if (sites.length === 0) {
    list.replaceChildren(el("li", {class: "empty"}, "No chargers within this radius."));
    return;
  }
  list.replaceChildren(...sites.map((site) => {
    const address = site.address;
    const plugs = site.stations.flatMap((station) => station.evses.flatMap((evse) => evse.connectors.map(
      (connector) => connectorItem(
        connector, onStart && station.online ? startButton(site, station, evse, connector, onStart) : null,
      ),
    )));
    return el(
      "li", {id: `site-${site.id}`, class: "site", tabindex: "-1", "data-site-id": site.id},
      el("h3", {}, site.name),
      el("p", {class: "distance"}, `${site.distance_km} km`),
      el("p", {class: "address"}, `${address.street}, ${address.postal_code} ${address.city}`),
      el("ul", {class: "plugs"}, ...plugs),
    );
  }));
}
