"""`make run` (scripts/run_stack.py) stops quietly on Ctrl-C: every child stopped, no traceback."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# What the test session set for itself, which a stack of its own must not share.
SESSION_ONLY = ("DATABASE_URL", "REDIS_URL", "EMBEDDED_REDIS_URL", "IES_BASE_URL", "CELERY_BROKER_URL",
                "PORTAL_TEST_DB", "DJANGO_ALLOW_ASYNC_UNSAFE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_ctrl_c_stops_every_child_quietly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
    web_port = free_port()
    env |= {
        "PORTAL_RUN_DIR": str(tmp_path),
        "PORT": str(web_port),
        "IES_SIM_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
        "CELERY_QUEUE": f"stack-test-{uuid.uuid4().hex[:8]}",
        "PORTAL_DEMO_PASSWORD": "stack-test",
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }
    # A process group of its own, like a terminal's foreground job: Ctrl-C signals the whole group.
    stack = subprocess.Popen([sys.executable, "scripts/run_stack.py"], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(stack.stdout), daemon=True)
    reader.start()
    try:
        url = f"http://127.0.0.1:{web_port}/healthz"
        while not answers(url):
            assert stack.poll() is None, "".join(lines)
            time.sleep(0.3)
        # Worker and beat may print their first line a moment after the web answers.
        while not {"redis", "simulator", "worker", "beat", "web"} <= {
                line.split("|")[0].strip() for line in list(lines) if "|" in line}:
            assert stack.poll() is None, "".join(lines)
            time.sleep(0.2)
        children = psutil.Process(stack.pid).children(recursive=True)

        os.killpg(stack.pid, signal.SIGINT)
        # Impatient people press it twice: the second must not break off the orderly stop.
        while not any("stopping" in line for line in list(lines)):
            # A stack that died on the first Ctrl-C (what this test is about) must fail here, with its output.
            assert stack.poll() is None or any("stopping" in line for line in list(lines)), "".join(lines)
            time.sleep(0.05)
        os.killpg(stack.pid, signal.SIGINT)
        code = stack.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()

    output = "".join(lines)
    assert code == 0, output
    assert "Traceback" not in output, output
    assert output.rstrip().splitlines()[-1].endswith("Stopped."), output
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE], output
    assert not (tmp_path / "stack.pid").exists()
