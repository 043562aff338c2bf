/* Charts of the public disclosure page, drawn with the vendored ECharts from the JSON the page embeds. */
(function () {
  "use strict";
  var source = document.getElementById("disclosure-data");
  if (!source || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#2e7d5b", "#3f72af", "#e0a030", "#c8553d", "#7b5ea7", "#4d9aa8", "#8a8f98"];
  var font = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif";
  var charts = [];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    option.color = option.color || palette;
    option.textStyle = { fontFamily: font };
    option.animation = false;
    chart.setOption(option);
    charts.push(chart);
  }

  function narrow() { return window.innerWidth < 760; }

  function districtBars(id, names, series, max) {
    // Horizontal bars: district names stay readable on a phone. The first district is on top.
    var el = document.getElementById(id);
    if (el) { el.style.height = Math.max(220, 70 + names.length * 16 * series.length + names.length * 12) + "px"; }
    draw(id, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 36, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: max, minInterval: 1 },
      yAxis: { type: "category", data: names, inverse: true, axisTick: { show: false } },
      series: series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, barMaxWidth: 14,
                 label: { show: true, position: "right", fontSize: 11, formatter: s.formatter || "{c}" } };
      })
    });
  }

  function pie(id, rows) {
    var shown = rows.filter(function (r) { return r.value > 0; });
    var empty = shown.length === 0;
    draw(id, {
      tooltip: { trigger: "item", formatter: "{b}：{c}件（{d}%）" },
      legend: {
        bottom: 0, type: "plain", itemGap: 12,
        formatter: function (name) {
          var row = rows.filter(function (r) { return r.name === name; })[0];
          return row ? name + " " + row.value : name;
        }
      },
      title: empty ? { text: "本月无数据", left: "center", top: "middle", textStyle: { color: "#6b7788", fontSize: 14, fontWeight: "normal" } } : undefined,
      series: [{
        type: "pie", radius: narrow() ? ["30%", "54%"] : ["38%", "64%"], center: ["50%", narrow() ? "40%" : "45%"],
        data: shown, avoidLabelOverlap: true,
        label: narrow() ? { show: false } : { formatter: "{b}\n{c}件", fontSize: 12 },
        itemStyle: { borderColor: "#fff", borderWidth: 2 }
      }]
    });
  }

  var d = data.districts;
  if (d && d.names.length) {
    districtBars("chart-districts", d.names, [
      { name: "接收", data: d.received },
      { name: "办结", data: d.closed }
    ]);
    districtBars("chart-rates", d.names, [
      { name: "按期确认率", data: d.confirm_rate, formatter: "{c}%" },
      { name: "按期办结率", data: d.close_rate, formatter: "{c}%" }
    ], 100);
  }
  pie("chart-category", data.category);
  pie("chart-outcome", data.outcome);

  var timer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 120);
  });
})();
