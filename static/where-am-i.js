// 我在哪里: the find page's "where am I" asks the browser for its position (WGS84, as the Geolocation API gives
// it) and looks up the plates nearest it. The button stays hidden where there is no geolocation.
(function () {
  var form = document.getElementById("where-am-i");
  if (!form || !("geolocation" in navigator)) return;
  form.hidden = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    navigator.geolocation.getCurrentPosition(function (position) {
      form.elements.lon.value = position.coords.longitude.toFixed(6);
      form.elements.lat.value = position.coords.latitude.toFixed(6);
      form.submit();
    }, function () {
      form.querySelector("[role=status]").hidden = false;
    }, {enableHighAccuracy: true, timeout: 15000});
  });
})();
