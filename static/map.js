// The web map: the city's basemap (divisions, buildings, roads and their names), plates, service
// points and police beats from this server's vector tiles, drawn by the style at /tiles/style.json.
// No third-party host: MapLibre GL JS is served from static/vendor, the basemap is this server's
// own tiles, and labels are drawn with the glyphs it builds (digits, Latin) and the device's own
// CJK font (Chinese), so the map works on an intranet with nothing else.
const element = document.getElementById("map");
// The page's own words are painted first: on a slow phone the map's work would hold them back. Then
// the library, its styles and its worker, by the fingerprinted names the page gives (cached for good).
await new Promise((painted) => requestAnimationFrame(() => setTimeout(painted, 0)));
const libraryStyles = Object.assign(document.createElement("link"), { rel: "stylesheet", href: element.dataset.libraryCss });
const stylesLoaded = new Promise((done) => { libraryStyles.onload = done; libraryStyles.onerror = done; });
document.head.append(libraryStyles);
const [{ Map, NavigationControl, setWorkerUrl }] = await Promise.all([import(element.dataset.library), stylesLoaded]);
setWorkerUrl(new URL(element.dataset.worker, window.location.href).href);
const bounds = element.dataset.bounds ? JSON.parse(element.dataset.bounds) : null;
// Where the services are thickest, close enough that they, the roads' names and the plates show.
const opening = element.dataset.center ? JSON.parse(element.dataset.center) : null;

const map = new Map({
  container: element,
  style: element.dataset.style,
  bounds: opening || !bounds ? undefined : bounds,
  fitBoundsOptions: { padding: 20 },
  center: opening ? opening.slice(0, 2) : bounds ? undefined : [106.27, 38.47],
  zoom: opening ? opening[2] : bounds ? undefined : 12,
  // Chinese is drawn with the phone's own font: no ideograph glyphs to download.
  localIdeographFontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', " +
    "'Hiragino Sans GB', 'Microsoft YaHei', sans-serif",
  attributionControl: false,
  // A cheap phone's GPU draws a screen of 2.6× pixels slowly; labels appear at once, without fading
  // through a dozen extra frames.
  pixelRatio: Math.min(window.devicePixelRatio || 1, 2),
  fadeDuration: 0,
  locale: { "NavigationControl.ZoomIn": element.dataset.zoomIn, "NavigationControl.ZoomOut": element.dataset.zoomOut },
});
map.addControl(new NavigationControl({ showCompass: false }));
window.plateMap = map; // for the browser tests and for anyone debugging in the console
map.once("idle", () => { element.dataset.ready = "1"; });
// "Near me" answers are this page's own, so their layer is not in the shared style.
map.on("load", () => {
  map.addSource("nearby", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({ id: "nearby", type: "circle", source: "nearby",
                 paint: { "circle-color": "#facc15", "circle-radius": 11, "circle-stroke-color": "#111827",
                          "circle-stroke-width": 3 } });
});

// A service point opens its page (the one nearest the finger, over any plate under it); a plate its scan page.
function serviceUrl(id, from) {
  const url = new URL(element.dataset.service.replace("/0", `/${id}`), window.location.href);
  if (from) url.searchParams.set("from", from);
  return url.pathname + url.search;
}
map.on("click", (event) => {
  const near = [[event.point.x - 12, event.point.y - 12], [event.point.x + 12, event.point.y + 12]];
  const [service] = map.queryRenderedFeatures(near, { layers: ["services"] });
  if (service) {
    window.location.href = serviceUrl(service.id);
    return;
  }
  const [plate] = map.queryRenderedFeatures(near, { layers: ["plates"] });
  if (plate) window.location.href = element.dataset.plate.replace("PLATE", encodeURIComponent(plate.properties.plate_id));
});
for (const layer of ["plates", "services"]) {
  map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
}

function categoryName(category) {
  return document.querySelector(`#category option[value="${category}"]`)?.textContent || category;
}

function distanceText(metres) {
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(1)} km`;
}

function metresBetween([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const x = (lon2 - lon1) * rad * Math.cos(((lat1 + lat2) / 2) * rad);
  return Math.hypot(x, (lat2 - lat1) * rad) * 6371008.8;
}

function serviceLink(id, name, detail, from) {
  const item = document.createElement("li");
  const link = Object.assign(document.createElement("a"), { href: serviceUrl(id, from), textContent: name });
  item.append(link, ` · ${detail}`);
  return item;
}

// The services on screen as a list of links, nearest the middle of the map first: what the map shows,
// for a keyboard or a screen reader.
const inView = document.getElementById("in-view");
const inViewSummary = document.getElementById("in-view-summary");
const IN_VIEW_LISTED = 20;
function listServicesInView() {
  const centre = map.getCenter().toArray();
  const seen = new Set();
  const shown = [];
  for (const feature of map.queryRenderedFeatures({ layers: ["services"] })) {
    if (seen.has(feature.id)) continue;
    seen.add(feature.id);
    shown.push({ feature, metres: metresBetween(centre, feature.geometry.coordinates) });
  }
  shown.sort((a, b) => a.metres - b.metres);
  inView.replaceChildren(...shown.slice(0, IN_VIEW_LISTED).map(({ feature, metres }) => serviceLink(
    feature.id, feature.properties.name, `${categoryName(feature.properties.category)} · ${distanceText(metres)}`)));
  inViewSummary.textContent = shown.length ? inViewSummary.dataset.some : inViewSummary.dataset.none;
}
map.on("idle", listServicesInView);

const categorySelect = document.getElementById("category");
categorySelect.addEventListener("change", () => {
  const category = categorySelect.value;
  map.setFilter("services", category ? ["==", ["get", "category"], category] : null);
});

const nearMe = document.getElementById("near-me");
const results = document.getElementById("near-me-results");
nearMe.addEventListener("click", () => {
  const label = nearMe.textContent;
  nearMe.textContent = nearMe.dataset.busy;
  navigator.geolocation.getCurrentPosition(async (position) => {
    nearMe.textContent = label;
    const { longitude, latitude } = position.coords;
    const query = new URLSearchParams({ lon: longitude, lat: latitude, limit: 5 });
    if (categorySelect.value) query.set("category", categorySelect.value);
    const answer = await fetch(`${element.dataset.nearby}?${query}`);
    const found = await answer.json();
    map.getSource("nearby")?.setData(found);
    const from = `${longitude.toFixed(6)},${latitude.toFixed(6)}`;
    results.replaceChildren(...found.features.map((feature) => serviceLink(
      feature.id, feature.properties.name,
      `${categoryName(feature.properties.category)} · ${distanceText(feature.properties.distance_m)}`, from)));
    const points = found.features.map((feature) => feature.geometry.coordinates).concat([[longitude, latitude]]);
    const lons = points.map((p) => p[0]);
    const lats = points.map((p) => p[1]);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
                  { padding: 40, maxZoom: 16, duration: 0 });
  }, () => {
    nearMe.textContent = label;
    results.replaceChildren(Object.assign(document.createElement("li"), { textContent: nearMe.dataset.failed }));
  }, { enableHighAccuracy: true, timeout: 15000 });
});
