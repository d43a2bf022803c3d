/* CloudVPN Portal: traffic charts (uPlot, vendored). No build step, no text of its own:
 * every sentence comes translated from the page's JSON config.
 *
 * The connection page draws the chart the page carries inline (#traffic-initial, when the server's
 * cache held it) at once; otherwise, and for every refresh and zoom, it fetches data.json with the
 * chart's width (the server downsamples to about two points per pixel, keeping each pixel's min and
 * max). The width is kept in a cookie, so the next page's inline chart is thinned for it. It draws the rate (inbound, outbound, bandwidth in
 * force as steps) and the utilisation, which it computes exactly as the CSV export does: rate ÷
 * bandwidth in force × 100. Dragging zooms by asking for the narrower range (its URL is pushed, so
 * Back zooms out and the address can be shared). A range ending "now" refreshes every minute.
 *
 * Performance marks: traffic:data (JSON parsed), traffic:drawn (both charts first drawn), and the
 * measure traffic:draw between them (read by benchmarks/traffic.py, with navigation → traffic:drawn).
 *
 * The connection page runs it (after uPlot) at the end of the chart's markup, not deferred: the
 * chart is drawn while the rest of the page is parsed, before its deferred scripts (htmx) run.
 */
(function () {
  "use strict";

  // Shared with the policies' charts (chart-common.js, loaded first).
  var common = window.PortalChart;
  var trim = common.trim, fmtBps = common.fmtBps, timeFormatter = common.timeFormatter,
      timeAxisValues = common.timeAxisValues, interpolate = common.interpolate, axisValues = common.axisValues;
  function tooltipPlugin(fmtTime, fmtValue) { return common.tooltipPlugin(fmtTime, fmtValue, "traffic", false); }

  var COLORS = { in: "#0b63ce", out: "#d9480f", bw: "#067647", busy: "#b42318" };
  var WIDTH_COOKIE = "traffic_width";



  function fmtPct(v) {
    return v == null || isNaN(v) ? "—" : v.toFixed(2) + " %";
  }






  /* The bandwidth (bit/s) in force for each bucket [t, t + interval), from the steps [[at, kbps], ...]:
   * the same rule as the server's bandwidth.at_times (the step at or before t, or the first; when the
   * bandwidth changed inside the bucket, the largest of the bucket). */
  function bandwidthAt(times, steps, interval) {
    var out = new Array(times.length);
    var j = 0;
    for (var i = 0; i < times.length; i++) {
      while (j + 1 < steps.length && steps[j + 1][0] <= times[i]) j++;
      var kbps = steps.length ? steps[j][1] : null;
      for (var n = j + 1; n < steps.length && steps[n][0] < times[i] + interval; n++) {
        if (steps[n][1] != null && (kbps == null || steps[n][1] > kbps)) kbps = steps[n][1];
      }
      out[i] = kbps == null ? null : kbps * 1000;
    }
    return out;
  }

  function utilisation(rates, bws) {
    var out = new Array(rates.length);
    for (var i = 0; i < rates.length; i++) {
      var r = rates[i], b = bws[i];
      out[i] = r == null || b == null || !b ? null : r / b * 100;
    }
    return out;
  }



  /* ---------------------------------------------------------------- connection page */

  function ConnectionChart(root, cfg) {
    this.root = root;
    this.cfg = cfg;
    this.texts = cfg.texts;
    this.state = root.querySelector("#traffic-state");
    this.meta = root.querySelector("#traffic-meta");
    this.rateEl = root.querySelector("#chart-rate");
    this.utilEl = root.querySelector("#chart-util");
    this.csv = root.querySelector("#traffic-csv");
    this.png = root.querySelector("#traffic-png");
    this.query = Object.assign({}, cfg.query);
    this.plots = [];
    this.drawnPlots = 0;
    this.drawnOnce = false;
    this.timer = null;
    var self = this;
    this.png.addEventListener("click", function () { self.downloadPng(); });
    window.addEventListener("popstate", function () {
      self.query = queryFromLocation(cfg.query);
      self.load(false);
    });
    var resizeTimer;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { self.resize(); }, 150);
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && self.live && Date.now() - self.loadedAt > 60000) self.load(true);
    });
  }

  function queryFromLocation(fallback) {
    var params = new URLSearchParams(window.location.search);
    var q = {};
    ["range", "start", "end", "timedim", "indicator"].forEach(function (k) {
      if (params.get(k)) q[k] = params.get(k);
    });
    return Object.keys(q).length ? q : Object.assign({}, fallback);
  }

  ConnectionChart.prototype.width = function () {
    var width = Math.max(200, Math.round(this.rateEl.clientWidth || this.root.clientWidth));
    document.cookie = WIDTH_COOKIE + "=" + width + "; path=/traffic/; max-age=31536000; SameSite=Lax";
    return width;
  };

  /* The chart the page carries: drawn at once. Thinned for another width (no cookie yet, or a
   * window resized since), it is asked again for this one once it is on screen. */
  ConnectionChart.prototype.showInitial = function (d) {
    if (d.error) {
      this.setState("error", null, d.error);
      return;
    }
    performance.mark("traffic:data");
    this.render(d);
    var width = this.width();
    if (width > d.width * 1.1 || width < d.width / 2) this.load(true);
  };

  ConnectionChart.prototype.setState = function (kind, text, trouble) {
    this.state.className = "traffic-state traffic-state-" + kind;
    this.state.replaceChildren();
    this.root.setAttribute("aria-busy", kind === "loading" ? "true" : "false");
    this.root.dataset.state = kind;
    if (kind === "ready") { this.state.hidden = true; return; }
    this.state.hidden = false;
    if (kind === "loading") {
      var spin = document.createElement("span");
      spin.className = "traffic-spinner";
      spin.setAttribute("aria-hidden", "true");
      this.state.appendChild(spin);
    }
    if (trouble) {
      var what = document.createElement("strong");
      what.textContent = trouble.what || trouble.problem;
      this.state.appendChild(what);
      if (trouble.what && trouble.problem) this.state.appendChild(document.createTextNode(" " + trouble.problem));
      if (trouble.advice) this.state.appendChild(document.createTextNode(" " + trouble.advice));
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "button traffic-retry";
      retry.textContent = this.texts.retry;
      var self = this;
      retry.addEventListener("click", function () { self.load(false); });
      this.state.appendChild(document.createTextNode(" "));
      this.state.appendChild(retry);
    } else {
      this.state.appendChild(document.createTextNode(" " + text));
    }
  };

  ConnectionChart.prototype.load = function (quiet) {
    var self = this;
    if (!quiet) this.setState("loading", this.texts.loading);
    var params = new URLSearchParams(this.query);
    params.set("width", String(this.width()));
    performance.mark("traffic:fetch");
    return fetch(this.cfg.dataUrl + "?" + params.toString(), {
      headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; },
        function () { return { ok: false, body: {} }; });
    }).then(function (answer) {
      if (!answer.ok) {
        self.setState("error", null, answer.body.error || { problem: self.texts.networkError });
        return;
      }
      performance.mark("traffic:data");
      self.render(answer.body);
    }, function () {
      self.setState("error", null, { problem: self.texts.networkError });
    });
  };

  ConnectionChart.prototype.render = function (d) {
    this.data = d;
    this.loadedAt = Date.now();
    this.live = d.range.live;
    var x = new Array(d.k.length);
    for (var i = 0; i < d.k.length; i++) x[i] = d.t0 + d.k[i] * d.range.interval;
    var bw = bandwidthAt(x, d.bw, d.range.interval);
    var rates = [x, d.in, d.out, bw];
    var utils = [x, utilisation(d.in, bw), utilisation(d.out, bw), x.map(function () { return 80; })];
    this.csv.href = d.csv_url;
    this.png.disabled = d.empty;
    // An inline chart's figures are in the page already.
    if (d.stats_html) document.getElementById("traffic-stats").outerHTML = d.stats_html;
    var t = this.texts;
    // Drawn from the cache alone (IES failing): when its values were read, never "now".
    var meta = [d.stale ? d.stale.meta
      : interpolate(t.updated, { time: timeFormatter(d.tz.name, d.tz.abbreviations)(Math.floor(Date.now() / 1000)) })];
    this.root.dataset.stale = d.stale ? (d.stale.older_than_usual ? "older" : "true") : "false";
    if (d.downsampled) meta.push(interpolate(t.summarises, { duration: d.bucket_text }));
    this.meta.textContent = meta.join(" · ");
    var title = this.root.querySelector("#traffic-title");
    if (title && t.titles) title.textContent = t.titles[d.range.indicator + ":" + d.range.timedim] || title.textContent;

    if (d.empty) {
      this.destroy();
      this.setState("empty", (d.notes && d.notes.length ? d.notes.join(" ") + " " : "") + t.empty);
      this.markDrawn();
    } else {
      this.setState("ready");
      if (this.plots.length && this.unit === d.unit.name) {
        this.plots[0].setData(rates);
        this.plots[1].setData(utils);
      } else {
        this.destroy();
        this.unit = d.unit.name;
        this.build(d, rates, utils);
      }
    }
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    if (this.live) {
      var self = this;
      this.timer = setInterval(function () {
        if (!document.hidden) self.load(true);
      }, (this.cfg.refreshSeconds || 60) * 1000);
    }
  };

  /* Both charts have drawn (uPlot's draw hook): then the chart is on screen. */
  ConnectionChart.prototype.plotDrawn = function () {
    if (++this.drawnPlots >= 2) this.markDrawn();
  };

  ConnectionChart.prototype.markDrawn = function () {
    if (this.drawnOnce) return;
    this.drawnOnce = true;
    performance.mark("traffic:drawn");
    try { performance.measure("traffic:draw", "traffic:data", "traffic:drawn"); } catch (e) { /* no mark */ }
    this.root.dataset.drawn = "true";
  };

  ConnectionChart.prototype.destroy = function () {
    this.plots.forEach(function (p) { p.destroy(); });
    this.plots = [];
  };

  ConnectionChart.prototype.build = function (d, rates, utils) {
    var self = this, t = this.texts, tz = d.tz.name;
    var width = this.width();
    var sync = uPlot.sync("traffic-" + d.connection);
    var cursor = {
      sync: { key: sync.key, setSeries: false },
      drag: { x: true, y: false, setScale: false },
      points: { size: 6 }
    };
    var tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); };
    var onSelect = function (u) {
      if (u.select.width < 3) return;
      var from = Math.floor(u.posToVal(u.select.left, "x"));
      var to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      self.zoomTo(from, to);
    };
    var ready = function () { self.plotDrawn(); };
    var factor = d.unit.factor;
    var fmtTime = timeFormatter(tz, d.tz.abbreviations);
    // The x scale is the range asked (not the data's span), read afresh on each refresh or zoom.
    var xRange = function () { return [self.data.range.start, self.data.range.end]; };
    var legendTime = function (u, ts) { return ts == null ? "—" : fmtTime(ts); };
    var rateOpts = {
      width: width, height: 300, tzDate: tzDate, cursor: cursor,
      scales: { x: { time: true, range: xRange },
                y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.08]; } } },
      axes: [{ values: timeAxisValues(tz) }, { label: t.rateAxis + " (" + d.unit.name + ")", values: axisValues(factor), size: 70 }],
      series: [
        { label: t.time, value: legendTime },
        { label: t.inbound, stroke: COLORS.in, color: COLORS.in, width: 1.5, value: function (u, v) { return fmtBps(v); } },
        { label: t.outbound, stroke: COLORS.out, color: COLORS.out, width: 1.5, value: function (u, v) { return fmtBps(v); } },
        { label: t.bandwidth, stroke: COLORS.bw, color: COLORS.bw, width: 2, dash: [8, 4], paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: false }, value: function (u, v) { return fmtBps(v); } }
      ],
      hooks: { setSelect: [onSelect], draw: [ready] },
      plugins: [tooltipPlugin(fmtTime, function (v) { return fmtBps(v); })]
    };
    var utilOpts = {
      width: width, height: 200, tzDate: tzDate, cursor: cursor,
      scales: { x: { time: true, range: xRange },
                y: { range: function (u, min, max) { return [0, Math.max(100, max || 0) * 1.02]; } } },
      axes: [{ values: timeAxisValues(tz) }, { label: t.utilAxis, size: 70 }],
      series: [
        { label: t.time, value: legendTime },
        { label: t.utilIn, stroke: COLORS.in, color: COLORS.in, width: 1.5, value: function (u, v) { return fmtPct(v); } },
        { label: t.utilOut, stroke: COLORS.out, color: COLORS.out, width: 1.5, value: function (u, v) { return fmtPct(v); } },
        { label: t.busy, stroke: COLORS.busy, color: COLORS.busy, width: 1, dash: [4, 4], points: { show: false }, tipHidden: true,
          value: function () { return "80 %"; } }
      ],
      hooks: { setSelect: [onSelect], draw: [ready] },
      plugins: [tooltipPlugin(fmtTime, function (v) { return fmtPct(v); })]
    };
    this.drawnPlots = 0;
    this.rateEl.replaceChildren();
    this.utilEl.replaceChildren();
    this.plots = [new uPlot(rateOpts, rates, this.rateEl), new uPlot(utilOpts, utils, this.utilEl)];
  };

  ConnectionChart.prototype.resize = function () {
    var width = this.width();
    this.plots.forEach(function (p) { p.setSize({ width: width, height: p.height }); });
  };

  ConnectionChart.prototype.zoomTo = function (from, to) {
    if (to - from < 120) { to = from + 120; }
    this.query = { range: "custom", start: String(from), end: String(to), indicator: this.query.indicator || "max" };
    var url = window.location.pathname + "?" + new URLSearchParams(this.query).toString();
    window.history.pushState(this.query, "", url);
    var form = document.querySelector(".traffic-range");
    if (form && this.data) {
      form.elements.start.value = localInput(from, this.data.tz.name);
      form.elements.end.value = localInput(to, this.data.tz.name);
      form.elements.timedim.value = "auto";
    }
    document.querySelectorAll(".traffic-presets [aria-current]").forEach(function (a) {
      a.removeAttribute("aria-current");
      a.classList.remove("current");
    });
    this.load(false);
  };

  function localInput(epoch, tz) {
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hour12: false
    }).formatToParts(new Date(epoch * 1000)).forEach(function (p) { parts[p.type] = p.value; });
    var hour = parts.hour === "24" ? "00" : parts.hour;
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + hour + ":" + parts.minute;
  }

  /* The PNG: both charts, a title and the legend, on white. */
  ConnectionChart.prototype.downloadPng = function () {
    if (!this.plots.length) return;
    var ratio = window.devicePixelRatio || 1;
    var canvases = this.plots.map(function (p) { return p.ctx.canvas; });
    var width = Math.max.apply(null, canvases.map(function (c) { return c.width; }));
    var pad = Math.round(12 * ratio), line = Math.round(20 * ratio);
    var height = pad + line * 2 + canvases.reduce(function (s, c) { return s + c.height + line + pad; }, 0);
    var out = document.createElement("canvas");
    out.width = width + pad * 2;
    out.height = height;
    var ctx = out.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = "#1b2430";
    ctx.font = "bold " + Math.round(15 * ratio) + "px system-ui, sans-serif";
    var d = this.data;
    ctx.fillText(interpolate(this.texts.pngTitle, { name: d.connection }), pad, pad + line * 0.8);
    ctx.font = Math.round(12 * ratio) + "px system-ui, sans-serif";
    ctx.fillText(d.range.start_iso + " – " + d.range.end_iso + " (" + d.tz.label + ")", pad, pad + line * 1.8);
    var y = pad + line * 2;
    this.plots.forEach(function (p, n) {
      var x = pad;
      ctx.font = Math.round(12 * ratio) + "px system-ui, sans-serif";
      for (var s = 1; s < p.series.length; s++) {
        ctx.fillStyle = p.series[s].color || p.series[s]._stroke || COLORS.in;
        ctx.fillRect(x, y + line * 0.35, 12 * ratio, 4 * ratio);
        x += 16 * ratio;
        ctx.fillStyle = "#1b2430";
        ctx.fillText(p.series[s].label, x, y + line * 0.7);
        x += ctx.measureText(p.series[s].label).width + 16 * ratio;
      }
      y += line;
      ctx.drawImage(canvases[n], pad, y);
      y += canvases[n].height + pad;
    });
    var link = document.createElement("a");
    link.download = d.png_name;
    link.href = out.toDataURL("image/png");
    document.body.appendChild(link);
    link.click();
    link.remove();
  };

  /* ---------------------------------------------------------------- overview page */

  function drawOverview(list, cfg) {
    var t = cfg.texts;
    list.querySelectorAll("[data-card]").forEach(function (el) {
      var data = cfg.cards[Number(el.dataset.card)];
      if (!data || !data.t.length) return;
      var x = data.t;
      var opts = {
        width: Math.max(200, el.clientWidth), height: 120,
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), cfg.tz); },
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 5 } },
        scales: { y: { range: function (u, min, max) { return [0, Math.max(100, max || 0)]; } } },
        axes: [{ size: 24, font: "10px system-ui" }, { size: 34, font: "10px system-ui",
          values: function (u, s) { return s.map(function (v) { return v + "%"; }); } }],
        series: [{ label: t.time },
          { label: t.utilIn, stroke: COLORS.in, color: COLORS.in, width: 1 },
          { label: t.utilOut, stroke: COLORS.out, color: COLORS.out, width: 1 },
          { label: t.busy, stroke: COLORS.busy, color: COLORS.busy, width: 1, dash: [3, 3], points: { show: false }, tipHidden: true }],
        plugins: [tooltipPlugin(timeFormatter(cfg.tz, cfg.abbreviations), function (v) { return fmtPct(v); })]
      };
      new uPlot(opts, [x, data.in, data.out, x.map(function () { return 80; })], el);
    });
    performance.mark("traffic:drawn");
  }

  function start() {
    var root = document.querySelector("[data-traffic]");
    var cfgEl = document.getElementById("traffic-config");
    if (root && cfgEl) {
      var chart = new ConnectionChart(root, JSON.parse(cfgEl.textContent));
      window.trafficChart = chart;
      var initial = document.getElementById("traffic-initial");
      if (initial) chart.showInitial(JSON.parse(initial.textContent));
      else chart.load(false);
    }
    var list = document.querySelector("[data-traffic-overview]");
    var overviewCfg = document.getElementById("traffic-overview-config");
    if (list && overviewCfg) drawOverview(list, JSON.parse(overviewCfg.textContent));
  }

  /* The connection page runs this below the chart's markup and data: draw at once. Elsewhere
   * (deferred, or in the head) wait for the document. */
  if (document.getElementById("traffic-config") || document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
