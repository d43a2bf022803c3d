"""What a worker loads at start stays small: numpy (the traffic figures') comes only with a task that
needs it, not with an app's signal receivers (issue 14's worker RSS target, benchmarks/tracking.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_starting_imports_no_numpy():
    script = (
        "import sys, django; django.setup();"
        "from portal.celery import app; app.loader.import_default_modules();"
        "print('numpy' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    answer = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.strip().splitlines()[-1] == "False"
