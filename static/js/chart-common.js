/* CloudVPN Portal: what the traffic charts (traffic.js) and the policies' charts (policies.js) both
 * need: bandwidths by scale (kbit/s, Mbit/s, Gbit/s) and times in the portal's zone with the name
 * the server gives it, as the rest of the portal writes them. Loaded before either. */
(function () {
  "use strict";

  var STEPS = [[1e9, "Gbit/s"], [1e6, "Mbit/s"], [1e3, "kbit/s"]];

  function trim(value, digits) {
    if (value === 0) return "0";
    var text = Number(value.toPrecision(digits || 3)).toString();
    return text;
  }

  function fmtBps(v) {
    if (v == null || isNaN(v)) return "—";
    for (var i = 0; i < STEPS.length; i++) {
      if (Math.abs(v) >= STEPS[i][0]) return trim(v / STEPS[i][0]) + " " + STEPS[i][1];
    }
    return trim(v) + " bit/s";
  }

  /* Times as the rest of the portal writes them: 2017-05-10 09:00, in the portal's zone, with it. */
  function zonedParts(tz, withZone) {
    var fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZoneName: withZone ? "short" : undefined
    });
    return function (epoch) {
      var p = {};
      fmt.formatToParts(new Date(epoch * 1000)).forEach(function (x) { p[x.type] = x.value; });
      return p;
    };
  }

  /* "+08:00": the zone's UTC offset at that moment, from the wall-clock time the zone shows. */
  function utcOffset(p, epoch) {
    var wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) / 1000;
    var minutes = Math.round((wall - Math.floor(epoch / 60) * 60) / 60);
    var sign = minutes < 0 ? "-" : "+", abs = Math.abs(minutes);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  /* The zone's name as the server writes it (Django's "T": "CST"), looked up by offset in the
   * names the page was given; the browser's own name ("GMT+8") only for an offset not among them. */
  function timeFormatter(tz, names) {
    var parts = zonedParts(tz, true);
    return function (epoch) {
      var p = parts(epoch);
      var zoneName = (names && names[utcOffset(p, epoch)]) || p.timeZoneName;
      return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + " " + zoneName;
    };
  }

  /* Axis ticks: 24-hour times, with the date under the first tick and under each midnight. */
  function timeAxisValues(tz) {
    var parts = zonedParts(tz, false);
    return function (u, splits, axisIdx, space, incr) {
      return splits.map(function (ts, i) {
        if (ts == null) return "";
        var p = parts(ts), hm = p.hour + ":" + p.minute, md = p.month + "-" + p.day;
        if (incr >= 86400) return i === 0 ? md + "\n" + p.year : md;
        return i === 0 || hm === "00:00" ? hm + "\n" + md : hm;
      });
    };
  }

  function interpolate(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function axisValues(factor) {
    return function (u, splits) { return splits.map(function (v) { return v == null ? "" : trim(v / factor, 4); }); };
  }

  /* A crosshair tooltip: time, then each visible series with its value and unit. ``prefix`` names
   * its classes (prefix-tip, prefix-tip-time, prefix-swatch, prefix-tip-value); ``skipEmpty``: a
   * series with no value there is left out rather than shown as "—". */
  function tooltipPlugin(fmtTime, fmtValue, prefix, skipEmpty) {
    var tip;
    function place(u) {
      var idx = u.cursor.idx;
      if (idx == null || u.cursor.left < 0) { tip.hidden = true; return; }
      tip.replaceChildren();
      var head = document.createElement("div");
      head.className = prefix + "-tip-time";
      head.textContent = fmtTime(u.data[0][idx]);
      tip.appendChild(head);
      for (var s = 1; s < u.series.length; s++) {
        var series = u.series[s], v = u.data[s][idx];
        if (!series.show || series.tipHidden || (skipEmpty && v == null)) continue;
        var row = document.createElement("div");
        var swatch = document.createElement("span");
        swatch.className = prefix + "-swatch";
        swatch.style.background = series.color || series._stroke || "#888";
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(series.label + ": "));
        var value = document.createElement("strong");
        value.className = prefix + "-tip-value";
        value.textContent = fmtValue(v, s, u.data[0][idx]);
        row.appendChild(value);
        tip.appendChild(row);
      }
      tip.hidden = false;
      var left = u.cursor.left, top = u.cursor.top;
      var width = tip.offsetWidth, overWidth = u.over.clientWidth;
      tip.style.left = (left + 14 + width > overWidth ? left - width - 14 : left + 14) + "px";
      tip.style.top = Math.max(0, Math.min(top, u.over.clientHeight - tip.offsetHeight)) + "px";
    }
    return {
      hooks: {
        init: function (u) {
          tip = document.createElement("div");
          tip.className = prefix + "-tip";
          tip.setAttribute("role", "tooltip");
          tip.hidden = true;
          u.over.appendChild(tip);
          u.over.addEventListener("mouseleave", function () { tip.hidden = true; });
        },
        setCursor: place
      }
    };
  }

  window.PortalChart = {
    trim: trim, fmtBps: fmtBps, zonedParts: zonedParts, utcOffset: utcOffset, timeFormatter: timeFormatter,
    timeAxisValues: timeAxisValues, interpolate: interpolate, axisValues: axisValues, tooltipPlugin: tooltipPlugin
  };
})();
