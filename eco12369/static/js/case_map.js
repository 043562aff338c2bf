// The case page's map (issue 15): the district outlines that ship with the project (no online tiles) and
// the reported location on them. Drawn on load and again when htmx swaps the case in after an action.
(function () {
  "use strict";
  var outlines = null;

  function draw(holder) {
    if (!window.echarts || holder.getAttribute("data-drawn")) { return; }
    var lng = parseFloat(holder.getAttribute("data-lng"));
    var lat = parseFloat(holder.getAttribute("data-lat"));
    if (isNaN(lng) || isNaN(lat)) { return; }
    var load = outlines || fetch(holder.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); });
    outlines = load;
    load.then(function (geojson) {
      if (!window.echarts.getMap("districts")) { window.echarts.registerMap("districts", geojson); }
      var chart = window.echarts.init(holder);
      chart.on("finished", function () { holder.setAttribute("data-drawn", "1"); });
      chart.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}" },
        geo: {
          map: "districts",
          roam: true,
          center: [lng, lat],
          zoom: 4,
          label: { show: true, fontSize: 11, color: "#475569" },
          itemStyle: { areaColor: "#f1f5f9", borderColor: "#94a3b8" },
          emphasis: { itemStyle: { areaColor: "#e2e8f0" } },
          selectedMode: false
        },
        series: [{
          type: "scatter",
          coordinateSystem: "geo",
          name: holder.getAttribute("data-label") || "",
          data: [{ name: holder.getAttribute("data-label") || "", value: [lng, lat] }],
          symbol: "pin",
          symbolSize: 34,
          itemStyle: { color: "#dc2626" }
        }]
      });
    });
  }

  function drawAll() {
    var holders = document.querySelectorAll(".case-map[data-geojson]");
    for (var i = 0; i < holders.length; i++) { draw(holders[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", drawAll);
}());
