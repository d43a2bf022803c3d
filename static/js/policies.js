/* CloudVPN Portal: the bandwidth policies' charts (uPlot, vendored). No build step, no text of its
 * own: every word comes translated in the chart's payload (its shape: portal/policies/charts.py).
 *
 * One drawing for both charts: the traffic (inbound, outbound), step lines (the bandwidth in force
 * and the planned one, or today's size and the size with the policy), points for a backtest's
 * changes, and a vertical "now" marker. Times and units are written as traffic.js writes them: in
 * the portal's zone with the name the server gives it, in kbit/s, Mbit/s or Gbit/s by scale.
 *
 * Each chart is templates/policies/_chart.html: a figure [data-policy-chart=ID] with its plot
 * (#ID-plot) and its payload (#ID-data, json_script). The partial loads this script after each
 * chart: the first run sets up and draws what is on the page, a later one draws the charts added
 * since. Charts that htmx swaps in are drawn on htmx:load (htmx runs no script of a fragment).
 */
(function () {
  "use strict";

  // Shared with the policies' charts (chart-common.js, loaded first).
  var common = window.PortalChart;
  var trim = common.trim, fmtBps = common.fmtBps, timeFormatter = common.timeFormatter,
      timeAxisValues = common.timeAxisValues, interpolate = common.interpolate, axisValues = common.axisValues;
  function tooltipPlugin(fmtTime, fmtValue) { return common.tooltipPlugin(fmtTime, fmtValue, "policy-chart", true); }

  if (window.policyCharts) {
    window.policyCharts.drawAll(document);
    return;
  }

  var COLORS = { in: "#0b63ce", out: "#d9480f", in_force: "#067647", planned: "#6941c6", fixed: "#5d6b7a",
                 policy: "#067647", now: "#b42318", marker: "#b54708" };
  var MAX_GRID = 2000;  // hover points between the data's own, on the traffic's bucket grid
  var charts = [];









  /* Every moment something starts, ends or changes, and the hover grid: one x axis for all. */
  function timeline(d) {
    var seen = {}, xs = [];
    function add(t) {
      if (t == null || t < d.start || t > d.end || seen[t]) return;
      seen[t] = true;
      xs.push(t);
    }
    add(d.start);
    add(d.end);
    add(d.now);
    if (d.traffic) d.traffic.t.forEach(add);
    if (d.interval && (d.end - d.start) / d.interval <= MAX_GRID) {
      for (var t = Math.ceil(d.start / d.interval) * d.interval; t < d.end; t += d.interval) add(t);
    }
    d.lines.forEach(function (line) {
      line.steps.forEach(function (s) { add(s[0]); });
      add(line.until);
    });
    d.markers.forEach(function (m) { add(m.at); });
    return xs.sort(function (a, b) { return a - b; });
  }

  /* A step line's bit/s at each x: its last step at or before x, from its first step to its end
   * (null outside: no line there). */
  function lineValues(xs, line) {
    var out = new Array(xs.length), j = -1;
    for (var i = 0; i < xs.length; i++) {
      while (j + 1 < line.steps.length && line.steps[j + 1][0] <= xs[i]) j++;
      var kbps = j < 0 || xs[i] > line.until ? null : line.steps[j][1];
      out[i] = kbps == null ? null : kbps * 1000;
    }
    return out;
  }

  /* The traffic at each x: its own values where it has a point; undefined between them (uPlot
   * joins across undefined, and breaks the line only at a null: a gap in the data). */
  function trafficValues(xs, times, values) {
    var at = {};
    for (var i = 0; i < times.length; i++) at[times[i]] = values[i];
    return xs.map(function (x) { return Object.prototype.hasOwnProperty.call(at, x) ? at[x] : undefined; });
  }


  /* The vertical "now" line, named at its top. */
  function nowMarker(d) {
    return function (u) {
      if (d.now == null || d.now < d.start || d.now > d.end) return;
      var ratio = window.devicePixelRatio || 1;
      var x = Math.round(u.valToPos(d.now, "x", true));
      var top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
      var ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = COLORS.now;
      ctx.fillStyle = COLORS.now;
      ctx.lineWidth = 1.5 * ratio;
      ctx.setLineDash([4 * ratio, 3 * ratio]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.font = "600 " + Math.round(12 * ratio) + "px system-ui, sans-serif";
      var label = d.texts.now, width = ctx.measureText(label).width;
      var right = x + 4 * ratio + width <= u.bbox.left + u.bbox.width;
      ctx.textAlign = right ? "left" : "right";
      ctx.fillText(label, right ? x + 4 * ratio : x - 4 * ratio, top + 12 * ratio);
      ctx.restore();
    };
  }

  function plotWidth(root, plotEl) {
    return Math.max(200, Math.round(plotEl.clientWidth || root.clientWidth));
  }

  function draw(root) {
    if (root.policyChart) return;
    var id = root.dataset.policyChart;
    var dataEl = document.getElementById(id + "-data");
    var plotEl = document.getElementById(id + "-plot");
    if (!dataEl || !plotEl || typeof uPlot === "undefined") return;
    var d = JSON.parse(dataEl.textContent);
    var t = d.texts, tz = d.tz.name, factor = d.unit.factor;
    var fmtTime = timeFormatter(tz, d.tz.abbreviations);
    var xs = timeline(d);
    var data = [xs];
    var series = [{ label: t.time, value: function (u, ts) { return ts == null ? "—" : fmtTime(ts); } }];
    var markerAt = {};
    var bps = function (u, v) { return fmtBps(v); };
    if (d.traffic) {
      data.push(trafficValues(xs, d.traffic.t, d.traffic.in), trafficValues(xs, d.traffic.t, d.traffic.out));
      series.push({ label: t.inbound, stroke: COLORS.in, width: 1.5, value: bps },
                  { label: t.outbound, stroke: COLORS.out, width: 1.5, value: bps });
    }
    d.lines.forEach(function (line) {
      data.push(lineValues(xs, line));
      var s = { label: line.label, stroke: COLORS[line.key] || COLORS.fixed, width: 2, value: bps,
                paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } };
      if (line.dashed) s.dash = [8, 4];
      series.push(s);
    });
    if (d.markers.length) {
      d.markers.forEach(function (m) { markerAt[m.at] = m; });
      data.push(xs.map(function (x) { return markerAt[x] ? markerAt[x].kbps * 1000 : null; }));
      series.push({ label: t.change, stroke: COLORS.marker, width: 2, value: bps, isMarker: true,
                    paths: function () { return null; },
                    points: { show: true, size: 9, width: 2, stroke: COLORS.marker, fill: "#fff" } });
    }
    if (d.now != null) {
      // Its line is drawn by nowMarker; the series gives it its place in the legend.
      data.push(xs.map(function () { return null; }));
      series.push({ label: t.now, stroke: COLORS.now, width: 1.5, dash: [4, 3], tipHidden: true,
                    paths: function () { return null; }, points: { show: false } });
    }
    var fmtValue = function (v, s, ts) {
      var text = fmtBps(v), m = series[s].isMarker ? markerAt[ts] : null;
      return m ? text + " · " + interpolate(t.decided, { time: fmtTime(m.decided_at) }) : text;
    };
    var opts = {
      width: plotWidth(root, plotEl), height: 280,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: false },
      scales: { x: { time: true, range: function () { return [d.start, d.end]; } },
                y: { range: function (u, min, max) { return [0, Math.max(max || 0, 1) * 1.08]; } } },
      axes: [{ values: timeAxisValues(tz) },
             { label: t.rateAxis + " (" + d.unit.name + ")", values: axisValues(factor), size: 70 }],
      series: series,
      hooks: { draw: [nowMarker(d), function () { root.dataset.drawn = "true"; }] },
      plugins: [tooltipPlugin(fmtTime, fmtValue)]
    };
    plotEl.replaceChildren();
    var plot = new uPlot(opts, data, plotEl);
    root.policyChart = plot;
    charts.push({ root: root, plotEl: plotEl, plot: plot });
  }

  function drawAll(scope) {
    if (!scope) return;
    if (scope.matches && scope.matches("[data-policy-chart]")) draw(scope);
    if (scope.querySelectorAll) scope.querySelectorAll("[data-policy-chart]").forEach(draw);
  }

  function resize() {
    charts = charts.filter(function (c) { return c.root.isConnected; });
    charts.forEach(function (c) { c.plot.setSize({ width: plotWidth(c.root, c.plotEl), height: c.plot.height }); });
  }

  window.policyCharts = { drawAll: drawAll, charts: function () { return charts; } };
  var resizeTimer;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resize, 150);
  });
  document.addEventListener("htmx:load", function (event) { drawAll(event.detail && event.detail.elt); });
  drawAll(document);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  }
})();
