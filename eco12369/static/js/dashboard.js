// The home dashboard's charts and map (issue 15). The figures come from the page (json_script
// "dashboard-data", computed on the server from the rollups); every bar, slice, region and point opens the
// list behind it. Each drawn chart marks its holder with data-drawn="1" and data-points (how many data
// items it shows), which the browser test reads.
(function () {
  "use strict";
  var PALETTE = ["#1761bd", "#e08a00", "#b02a26", "#0f6e47", "#7c3aed", "#5c6879"];

  function go(href) { if (href) { window.location.href = href; } }

  function mark(holder, chart, points) {
    chart.on("finished", function () {
      holder.setAttribute("data-drawn", "1");
      holder.setAttribute("data-points", String(points()));
    });
  }

  function trend(data) {
    var holder = document.getElementById("chart-trend");
    if (!holder) { return; }
    var chart = window.echarts.init(holder);
    mark(holder, chart, function () { return data.trend.length; });
    chart.setOption({
      animation: false,
      color: PALETTE,
      grid: { left: 40, right: 12, top: 16, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.trend.map(function (m) { return m.short; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{
        type: "bar", name: "接收", cursor: "pointer",
        data: data.trend.map(function (m) { return { value: m.value, name: m.label, href: m.href }; })
      }]
    });
    chart.on("click", function (p) { go(p.data && p.data.href); });
    return chart;
  }

  function categories(data) {
    var holder = document.getElementById("chart-category");
    if (!holder) { return; }
    var items = data.categories.filter(function (c) { return c.value > 0; });
    var chart = window.echarts.init(holder);
    mark(holder, chart, function () { return items.length; });
    chart.setOption({
      animation: false,
      color: PALETTE,
      tooltip: { trigger: "item", formatter: "{b}：{c}件（{d}%）" },
      series: [{
        type: "pie", radius: ["38%", "68%"], cursor: "pointer",
        label: { formatter: "{b} {c}" },
        data: items.map(function (c) { return { name: c.label, value: c.value, href: c.href }; })
      }],
      graphic: items.length ? [] : [{ type: "text", left: "center", top: "middle", style: { text: "本月暂无举报件", fill: "#5c6879" } }]
    });
    chart.on("click", function (p) { go(p.data && p.data.href); });
    return chart;
  }

  function districts(data) {
    var holder = document.getElementById("chart-districts");
    if (!holder) { return; }
    var keys = Object.keys(data.measures);
    var chart = window.echarts.init(holder);
    mark(holder, chart, function () { return data.districts.length; });
    chart.setOption({
      animation: false,
      color: PALETTE,
      legend: { top: 0 },
      grid: { left: 40, right: 12, top: 34, bottom: 48 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", axisLabel: { interval: 0, rotate: 30 }, data: data.districts.map(function (d) { return d.name; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: keys.map(function (key) {
        return {
          type: "bar", name: data.measures[key], cursor: "pointer",
          data: data.districts.map(function (d) { return { value: d.values[key], href: d.links[key] }; })
        };
      })
    });
    chart.on("click", function (p) { go(p.data && p.data.href); });
    return chart;
  }

  // A district's head sees their district: the map opens on its outline (its bounding box in the view).
  function focusView(geojson, name) {
    var all = [Infinity, Infinity, -Infinity, -Infinity];
    var own = [Infinity, Infinity, -Infinity, -Infinity];
    geojson.features.forEach(function (feature) {
      var polygons = feature.geometry.type === "Polygon" ? [feature.geometry.coordinates] : feature.geometry.coordinates;
      polygons.forEach(function (rings) {
        rings[0].forEach(function (p) {
          [all].concat(feature.properties.name === name ? [own] : []).forEach(function (box) {
            box[0] = Math.min(box[0], p[0]); box[1] = Math.min(box[1], p[1]);
            box[2] = Math.max(box[2], p[0]); box[3] = Math.max(box[3], p[1]);
          });
        });
      });
    });
    if (!isFinite(own[0])) { return null; }
    var zoom = Math.min((all[2] - all[0]) / (own[2] - own[0]), (all[3] - all[1]) / (own[3] - own[1])) * 0.8;
    return { center: [(own[0] + own[2]) / 2, (own[1] + own[3]) / 2], zoom: Math.max(1, zoom) };
  }

  function mapOption(data, measure) {
    var values = data.districts.map(function (d) { return d.values[measure]; });
    var max = Math.max.apply(null, values.concat([1]));
    var biggest = Math.max.apply(null, data.points.map(function (p) { return p.value[2]; }).concat([1]));
    var colours = measure === "intake" ? ["#e6effb", "#124f9c"] : (measure === "due_soon" ? ["#fff2d9", "#c77700"] : ["#fde8e7", "#b02a26"]);
    return {
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (p.seriesType === "scatter") { return p.name + "：" + p.value[2] + "件（本月，约2公里内）"; }
          return p.name + "：" + (p.value === undefined || isNaN(p.value) ? 0 : p.value) + "件（" + data.measures[measure] + "）";
        }
      },
      visualMap: {
        type: "continuous", min: 0, max: max, seriesIndex: 0, calculable: false,
        left: 10, bottom: 10, text: [String(max), "0"], inRange: { color: colours },
        textStyle: { color: "#3d4a5c" }
      },
      geo: {
        map: "districts", roam: true, layoutCenter: ["50%", "50%"], layoutSize: "95%",
        label: { show: true, fontSize: 11, color: "#1d2633" },
        itemStyle: { borderColor: "#5c6879", areaColor: "#f0f3f7" },
        emphasis: { label: { show: true }, itemStyle: { areaColor: "#cfd6df" } },
        selectedMode: false
      },
      series: [
        {
          type: "map", geoIndex: 0, name: data.measures[measure],
          data: data.districts.map(function (d) { return { name: d.name, value: d.values[measure], href: d.links[measure] }; })
        },
        {
          type: "scatter", coordinateSystem: "geo", name: "本月举报件", cursor: "pointer", zlevel: 1,
          symbolSize: function (v) { return 8 + 22 * Math.sqrt(v[2] / biggest); },
          itemStyle: { color: "rgba(23, 97, 189, 0.75)", borderColor: "#fff", borderWidth: 1 },
          label: { show: true, formatter: function (p) { return p.value[2] > 1 ? String(p.value[2]) : ""; }, color: "#fff", fontSize: 10 },
          data: data.points
        }
      ]
    };
  }

  function map(data) {
    var holder = document.getElementById("dash-map");
    if (!holder) { return; }
    var measure = data.measure;
    fetch(data.geojson, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (geojson) {
        if (!window.echarts.getMap("districts")) { window.echarts.registerMap("districts", geojson); }
        var chart = window.echarts.init(holder);
        mark(holder, chart, function () { return data.districts.length + data.points.length; });
        chart.setOption(mapOption(data, measure));
        var view = data.focus ? focusView(geojson, data.focus) : null;
        if (view) { chart.setOption({ geo: view }); }
        var byName = {};
        data.districts.forEach(function (d) { byName[d.name] = d; });
        chart.on("click", function (p) {
          if (p.seriesType === "scatter") { go(p.data && p.data.href); return; }
          var d = byName[p.name];
          if (d) { go(d.links[measure]); }
        });
        var buttons = document.querySelectorAll(".dash-measures [data-measure]");
        Array.prototype.forEach.call(buttons, function (button) {
          button.addEventListener("click", function (event) {
            event.preventDefault();
            measure = button.getAttribute("data-measure");
            holder.setAttribute("data-measure", measure);
            chart.setOption(mapOption(data, measure), { replaceMerge: ["series"] });
            Array.prototype.forEach.call(buttons, function (b) {
              var on = b === button;
              b.classList.toggle("btn-primary", on);
              if (on) { b.setAttribute("aria-current", "true"); } else { b.removeAttribute("aria-current"); }
            });
            if (window.history && window.history.replaceState) {
              window.history.replaceState(null, "", "?measure=" + measure + "#map");
            }
          });
        });
        holder.setAttribute("data-measure", measure);
        window.addEventListener("resize", function () { chart.resize(); });
      });
  }

  function start() {
    var script = document.getElementById("dashboard-data");
    if (!script || !window.echarts) { return; }
    var data = JSON.parse(script.textContent);
    var charts = [trend(data), categories(data), districts(data)];
    map(data);
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { if (c) { c.resize(); } });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
