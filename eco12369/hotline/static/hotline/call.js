/* The hotline form: keyboard submit, the operator's own category choice, and the district map. */
(function () {
  "use strict";
  var form = document.getElementById("call-form");
  if (!form) { return; }

  // Ctrl+Enter (or Cmd+Enter) submits from any field: the operator never needs the mouse.
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(document.getElementById("call-submit")); } else { form.submit(); }
    }
  });

  // Once the operator picks a category, the guess from the text no longer replaces it.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_category") {
      var touched = document.getElementById("id_category_touched");
      if (touched) { touched.value = "1"; }
      var guess = document.getElementById("category-guess");
      if (guess) { guess.remove(); }
    }
  });

  var anonymous = document.getElementById("id_anonymous");
  var name = document.getElementById("id_name");
  var phone = document.getElementById("id_phone");
  function syncAnonymous() {
    if (!anonymous) { return; }
    [name, phone].forEach(function (input) { if (input) { input.disabled = anonymous.checked; } });
  }
  if (anonymous) { anonymous.addEventListener("change", syncAnonymous); syncAnonymous(); }

  // The map: the district outlines the routing uses; a click sets the point and the district.
  var box = document.getElementById("map-box");
  var holder = document.getElementById("district-map");
  var chart = null;
  function setPoint(lng, lat, districtName) {
    document.getElementById("id_latitude").value = lat.toFixed(6);
    document.getElementById("id_longitude").value = lng.toFixed(6);
    var select = document.getElementById("id_district");
    if (select && districtName) {
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].text === districtName) { select.selectedIndex = i; }
      }
    }
    document.getElementById("map-point").textContent =
      "已选位置：经度 " + lng.toFixed(5) + "，纬度 " + lat.toFixed(5) + (districtName ? "（" + districtName + "）" : "");
    chart.setOption({ series: [{ type: "scatter", coordinateSystem: "geo", data: [[lng, lat]], symbolSize: 14 }] });
    if (window.htmx) { window.htmx.trigger(form, "mapped"); }
  }
  function initMap() {
    if (chart || !window.echarts || !holder) { return; }
    fetch(holder.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (geojson) {
        window.echarts.registerMap("districts", geojson);
        chart = window.echarts.init(holder);
        chart.setOption({
          tooltip: { trigger: "item", formatter: "{b}" },
          geo: { map: "districts", roam: true, label: { show: true, fontSize: 10 }, selectedMode: false },
          series: []
        });
        chart.getZr().on("click", function (event) {
          var point = chart.convertFromPixel({ geoIndex: 0 }, [event.offsetX, event.offsetY]);
          if (!point) { return; }
          var found = null;
          var model = chart.getModel().getComponent("geo", 0);
          if (model && model.coordinateSystem && model.coordinateSystem.getRegionByCoord) {
            var region = model.coordinateSystem.getRegionByCoord(point);
            found = region ? region.name : null;
          }
          setPoint(point[0], point[1], found);
        });
      });
  }
  if (box) { box.addEventListener("toggle", function () { if (box.open) { initMap(); } }); }
})();
