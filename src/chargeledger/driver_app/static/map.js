// The map view: an SVG drawn from the search's own answer, no tiles (a tile server is for a
// later slice). The position is the middle; each site is placed by an equirectangular
// projection around it (x east, y north, km = degrees × 6371.0088 km × π/180, the longitude
// scaled by cos(latitude)), which is exact enough within the API's 100 km radius.
const SVG = "http://www.w3.org/2000/svg";
const SIZE = 320;
const MIDDLE = SIZE / 2;
const REACH = 140;  // pixels from the middle to the search radius
const KM_PER_DEGREE = 6371.0088 * Math.PI / 180;

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

export function project(center, latitude, longitude, pxPerKm) {
  let dLon = longitude - center.lon;
  if (dLon > 180) dLon -= 360;  // the short way round the antimeridian
  if (dLon < -180) dLon += 360;
  const east = dLon * Math.cos(center.lat * Math.PI / 180) * KM_PER_DEGREE;
  const north = (latitude - center.lat) * KM_PER_DEGREE;
  const round = (v) => Math.round(v * 10) / 10;
  return {x: round(MIDDLE + east * pxPerKm), y: round(MIDDLE - north * pxPerKm)};
}

// The longest 1, 2 or 5 × 10^n km that fits in half the radius: the scale bar's length.
export function scaleKm(radiusKm) {
  const half = radiusKm / 2;
  let step = Math.pow(10, Math.floor(Math.log10(half)));
  for (const factor of [5, 2]) {
    if (step * factor <= half) return step * factor;
  }
  return step;
}

export function drawMap(container, center, radiusKm, sites, onSelect) {
  const pxPerKm = REACH / radiusKm;
  const svg = node("svg", {
    viewBox: `0 0 ${SIZE} ${SIZE}`, role: "group", "aria-label": `Map of ${sites.length} sites within ${radiusKm} km`,
    "data-px-per-km": pxPerKm,
  });
  svg.append(node("circle", {cx: MIDDLE, cy: MIDDLE, r: REACH, class: "reach"}));
  const me = node("g", {id: "map-me"});
  me.append(node("title", {}, "Your position"));
  me.append(node("circle", {cx: MIDDLE, cy: MIDDLE, r: 6, class: "me"}));
  svg.append(me);
  sites.forEach((site, index) => {
    const {x, y} = project(center, Number(site.latitude), Number(site.longitude), pxPerKm);
    const label = `${index + 1}. ${site.name}, ${site.distance_km} km`;
    const marker = node("a", {
      href: `#site-${site.id}`, class: "marker", "aria-label": label,
      "data-site-id": site.id, "data-x": x, "data-y": y,
    });
    marker.append(node("title", {}, label));
    marker.append(node("circle", {cx: x, cy: y, r: 11}));
    marker.append(node("text", {x, y: y + 4, "text-anchor": "middle"}, String(index + 1)));
    marker.addEventListener("click", (event) => {
      event.preventDefault();
      onSelect(site.id);
    });
    svg.append(marker);
  });
  const km = scaleKm(radiusKm);
  const length = Math.round(km * pxPerKm * 10) / 10;
  const scale = node("g", {id: "map-scale", "data-km": km, "data-px": length});
  scale.append(node("line", {x1: 10, y1: SIZE - 12, x2: 10 + length, y2: SIZE - 12}));
  scale.append(node("text", {x: 10, y: SIZE - 18}, `${km} km`));
  svg.append(scale);
  container.replaceChildren(svg);
}
