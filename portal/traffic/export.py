"""A chart as the browser gets it (JSON) and as a person downloads it (CSV): the same points.

The JSON is built to be small (a month by the minute must stay under 100 KB): times as whole
buckets after the range's start, rates as whole bit/s, the bandwidth as its steps, and no
utilisation at all, because the browser computes it exactly as :func:`rows` does (rate ÷ bandwidth
in force × 100, from the same whole numbers), so the CSV holds exactly what the chart shows.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
from django.utils.translation import gettext as _

from portal.traffic import ranges
from portal.traffic.selectors import Chart
from portal.traffic.stats import format_duration, utilisation


def _ints(values: np.ndarray) -> list[int | None]:
    return [None if v != v else int(v) for v in np.rint(values).tolist()]


def payload(chart: Chart) -> dict:
    tr = chart.trange
    k = ((chart.shown_times - tr.start) // tr.interval).astype(np.int64).tolist()
    return {
        "connection": chart.service.cloud_vpn_name,
        "range": {
            "start": tr.start, "end": tr.end, "start_iso": ranges.iso_local(tr.start),
            "end_iso": ranges.iso_local(tr.end), "preset": tr.preset, "live": tr.live,
            "timedim": tr.timedim, "timedim_auto": tr.timedim_auto, "indicator": tr.indicator,
            "interval": tr.interval, "query": tr.query(exact=True),
        },
        "tz": {"name": ranges.zone().key, "label": ranges.zone_label(tr.end),
               "abbreviations": ranges.zone_abbreviations(tr.end, int(time.time()))},
        "unit": {"name": chart.unit, "factor": chart.unit_factor},
        "t0": tr.start,
        "k": k,
        "in": _ints(chart.shown_in),
        "out": _ints(chart.shown_out),
        "bw": [[s.at, s.kbps] for s in chart.steps],
        "points": chart.figures.samples,
        "shown": len(k),
        "width": chart.width,  # what it was thinned for: the page's inlined chart may be for another width
        "downsampled": chart.downsampled,
        "bucket_s": chart.bucket_seconds,
        "bucket_text": format_duration(chart.bucket_seconds),
        "empty": chart.empty,
        "gone": chart.service.gone_at is not None,
        "notes": chart.notes,
    }


def header() -> list[str]:
    zone = ranges.zone().key
    return [
        _("time (ISO 8601, %(zone)s)") % {"zone": zone},
        _("inbound rate (bit/s)"),
        _("outbound rate (bit/s)"),
        _("bandwidth in force (bit/s)"),
        _("inbound utilisation (%)"),
        _("outbound utilisation (%)"),
    ]


def rows(chart: Chart) -> Iterator[list[str]]:
    """One row per point drawn; empty cells where the chart has a gap."""
    tz = ranges.zone()
    rate_in = np.rint(chart.shown_in)
    rate_out = np.rint(chart.shown_out)
    bw = chart.shown_bandwidth
    u_in, u_out = utilisation(rate_in, bw), utilisation(rate_out, bw)

    def cell(v: float, digits: int = 0) -> str:
        if v != v:
            return ""
        return str(int(v)) if digits == 0 else f"{v:.{digits}f}"

    for i, t in enumerate(chart.shown_times.tolist()):
        yield [datetime.fromtimestamp(t, tz).isoformat(), cell(rate_in[i]), cell(rate_out[i]), cell(bw[i]),
               cell(u_in[i], 2), cell(u_out[i], 2)]


def csv_text(chart: Chart) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header())
    writer.writerows(rows(chart))
    return out.getvalue()


def filename(chart: Chart, ext: str) -> str:
    tz = ranges.zone()
    a = datetime.fromtimestamp(chart.trange.start, tz).strftime("%Y%m%d-%H%M")
    b = datetime.fromtimestamp(chart.trange.end, tz).strftime("%Y%m%d-%H%M")
    # A connection's name is IES's to choose: what a file name or a header cannot hold (a path
    # separator, a quote, a control character such as a newline) becomes "_".
    name = "".join("_" if ch in '/\\"' or not ch.isprintable() else ch for ch in chart.service.cloud_vpn_name)
    return f"{name}_{a}_{b}_{chart.trange.timedim}-{chart.trange.indicator}.{ext}"
