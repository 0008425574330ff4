// The web map: plates, service points, police beats and roads from this server's vector tiles,
// drawn by the style at /tiles/style.json.
// No third-party host: MapLibre GL JS is served from static/vendor, the basemap is this server's
// own tiles, and labels are drawn with the glyphs it builds (digits, Latin) and the device's own
// CJK font (Chinese), so the map works on an intranet with nothing else.
const element = document.getElementById("map");
// The library and its worker by the fingerprinted names the page gives (cached for good).
const { Map, NavigationControl, Popup, setWorkerUrl } = await import(element.dataset.library);
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

// A plate opens its scan page; a service point says what it is.
map.on("click", "plates", (event) => {
  const plateId = event.features[0].properties.plate_id;
  window.location.href = element.dataset.plate.replace("PLATE", encodeURIComponent(plateId));
});
map.on("click", "services", (event) => {
  const { name, category } = event.features[0].properties;
  const label = document.querySelector(`#category option[value="${category}"]`)?.textContent || category;
  new Popup().setLngLat(event.lngLat).setText(`${name}（${label}）`).addTo(map);
});
for (const layer of ["plates", "services"]) {
  map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
}

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
    results.replaceChildren(...found.features.map((feature) => {
      const item = document.createElement("li");
      const metres = feature.properties.distance_m;
      item.textContent = `${feature.properties.name} · ${metres < 1000 ? `${Math.round(metres)} m`
        : `${(metres / 1000).toFixed(1)} km`}`;
      return item;
    }));
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
