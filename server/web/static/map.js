// GPS answers on a Leaflet map. Tiles only when the server names a tile source (MAP_TILE_URL):
// a tile request tells the tile provider where a client was, so none is made by default.
(function () {
  "use strict";
  if (!window.L) { return; }
  var script = document.getElementById("map-script");
  var tiles = script ? script.getAttribute("data-tiles") : "";
  document.querySelectorAll(".map[data-lat]").forEach(function (el) {
    var lat = parseFloat(el.getAttribute("data-lat"));
    var lon = parseFloat(el.getAttribute("data-lon"));
    var accuracy = parseFloat(el.getAttribute("data-accuracy"));
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: !!tiles }).setView([lat, lon], 16);
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
    if (accuracy > 0) { L.circle([lat, lon], { radius: accuracy, weight: 1 }).addTo(map); }
    L.circleMarker([lat, lon], { radius: 8, weight: 2, fillOpacity: 0.9 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    el.classList.add("map-ready");
  });
  document.querySelectorAll(".map-all[data-points]").forEach(function (el) {
    var points = JSON.parse(el.getAttribute("data-points"));
    var map = L.map(el, { attributionControl: !!tiles });
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
    var bounds = [];
    points.forEach(function (p) {
      var link = document.createElement("a");  // built as DOM, never as HTML text
      link.href = p.url;
      link.textContent = p.name;
      L.circleMarker([p.lat, p.lon], { radius: 7, weight: 2, fillOpacity: 0.8 })
        .bindPopup(link).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
    L.control.scale({ imperial: false }).addTo(map);
    el.classList.add("map-ready");
  });
})();
