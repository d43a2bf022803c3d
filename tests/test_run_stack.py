"""`make run` (scripts/run_stack.py): the web server serves once migrated, the demo logins are printed
once they work, a reloading web server is started again, and Ctrl-C stops every child quietly."""

import importlib.util
import os
import re
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
import requests

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


def start_stack(run_dir: Path, **extra: str) -> tuple[subprocess.Popen, list[str], threading.Thread, int]:
    """`make run`'s script in a process group of its own, like a terminal's foreground job (Ctrl-C
    signals the whole group): the process, its output lines as they come, their reader, the web port."""
    env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY and k != "PORTAL_DEMO_PASSWORD"}
    web_port = free_port()
    env |= {
        "PORTAL_RUN_DIR": str(run_dir),
        "PORT": str(web_port),
        "IES_SIM_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
        "CELERY_QUEUE": f"stack-test-{uuid.uuid4().hex[:8]}",
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    stack = subprocess.Popen([sys.executable, "scripts/run_stack.py"], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(stack.stdout), daemon=True)
    reader.start()
    return stack, lines, reader, web_port


def test_ctrl_c_stops_every_child_quietly(tmp_path):
    stack, lines, reader, web_port = start_stack(tmp_path, PORTAL_DEMO_PASSWORD="stack-test")
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


def first(lines: list[str], pattern: str) -> int:
    return next(i for i, line in enumerate(lines) if re.search(pattern, line))


def test_the_web_serves_once_migrated_and_the_demo_logins_are_printed_once_they_work(tmp_path):
    """The web server starts with the migrations and serves once they are applied; the presets load
    in the background (the first page does not wait for their password hashes), and the demo logins
    are printed when they exist: the printed (generated) password then logs in."""
    stack, lines, reader, web_port = start_stack(tmp_path)
    try:
        deadline = time.monotonic() + 240
        while not any("Demo logins on" in line for line in list(lines)):
            assert stack.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        output = list(lines)
        password = (tmp_path / "demo-password").read_text().strip()
        assert f"(password for all: {password})" in output[first(output, "Demo logins on")]

        base = f"http://127.0.0.1:{web_port}"
        with requests.Session() as browser:
            page = browser.get(base + "/login/", timeout=10)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            answer = browser.post(base + "/login/", allow_redirects=False, timeout=30, data={
                "csrfmiddlewaretoken": token, "username": "user1", "password": password})
        assert answer.status_code == 302 and "/login/" not in answer.headers["Location"], answer.text
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        try:
            stack.wait(timeout=120)
        finally:
            if stack.poll() is None:
                os.killpg(stack.pid, signal.SIGKILL)
                stack.wait()
        reader.join(timeout=10)

    output = "".join(lines).splitlines()
    applied = [i for i, line in enumerate(output) if re.search(r"setup \|\s+Applying .* OK$", line)]
    assert applied, "\n".join(output)
    assert first(output, r"web \| Starting .*development server") > applied[-1], "\n".join(output)
    assert first(output, r"setup \| Presets loaded") < first(output, "Demo logins on"), "\n".join(output)
    assert "Traceback" not in "\n".join(output)


def load_run_stack():
    spec = importlib.util.spec_from_file_location("run_stack_under_test", ROOT / "scripts" / "run_stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_web_server_that_exits_to_reload_is_started_again_at_once(tmp_path):
    """runserver runs as the autoreloader's child (RUN_MAIN): on a code change it exits with 3 and
    the supervisor, as Django's own parent process would, starts it again, not counted as a crash."""
    run_stack = load_run_stack()
    marker = tmp_path / "started-once"
    program = ("import pathlib, sys, time; m = pathlib.Path(sys.argv[1]); again = m.exists(); m.touch(); "
               "print('again' if again else 'first', flush=True); sys.exit(3) if not again else time.sleep(60)")
    stack = run_stack.Stack()
    try:
        stack.start("web", [sys.executable, "-c", program, str(marker)], dict(os.environ), reload_code=3)
        deadline = time.monotonic() + 30
        while len(stack.procs) < 2:
            assert time.monotonic() < deadline, "not started again"
            time.sleep(0.05)
        second = stack.procs[1][1]
        assert stack.procs[0][1].wait(timeout=10) == 3
        time.sleep(0.5)
        assert second.poll() is None, "the restarted server keeps running"
        assert stack.failed is None and not stack.restarts
    finally:
        stack.stop()
    assert all(proc.poll() is not None for _, proc in stack.procs)
