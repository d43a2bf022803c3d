"""The pool the traffic calls run in: every chart of a web process's request threads gets its calls
out at once (a call queued behind other requests' calls waits for them: with IES hanging, for their
timeout, then its own), and one page of many series asks IES a few at a time."""

import re
import threading
import time
from pathlib import Path

from portal.traffic import series

WEB_THREADS = 8  # gunicorn.conf.py's default threads per web process
SERIES_PER_CHART = 4  # rate in and out, the coarse utilisation in and out


def test_the_pool_has_room_for_every_request_thread_of_a_web_process():
    # Read, not run: running the file would set up the web's metrics directory in this process.
    conf = (Path(__file__).resolve().parents[3] / "gunicorn.conf.py").read_text()
    assert re.search(r'^threads = _int\("WEB_THREADS", (\d+)\)$', conf, re.MULTILINE).group(1) == str(WEB_THREADS)
    assert series.MAX_WORKERS >= WEB_THREADS * SERIES_PER_CHART


def test_one_request_sends_a_few_calls_at_a_time():
    """A page of many series (the overview: two per connection) does not take the whole pool."""
    running = 0
    most = 0
    lock = threading.Lock()

    def job() -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return 1

    assert series.run_parallel([job] * (3 * series.PER_REQUEST)) == [1] * (3 * series.PER_REQUEST)
    assert most == series.PER_REQUEST
