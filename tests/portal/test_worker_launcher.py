"""`python -m portal.worker`: the deployed way to start the Celery worker."""

import socket

import psutil
import pytest

from portal.worker import parse_args


def test_one_pool_process_unless_configured(monkeypatch):
    monkeypatch.delenv("WORKER_CONCURRENCY", raising=False)
    assert parse_args([]).concurrency == 1
    monkeypatch.setenv("WORKER_CONCURRENCY", "3")
    assert parse_args([]).concurrency == 3
    assert parse_args(["--concurrency", "2"]).concurrency == 2


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--concurrency", "0"], None, "--concurrency must be at least 1"),
        ([], "two", "WORKER_CONCURRENCY must be a whole number"),
        (["--schedule", "beat.db"], None, "--schedule only means something with --beat"),
        (["--pool", "gevent"], None, "invalid choice: 'gevent'"),
    ],
)
def test_bad_options_are_refused_with_a_reason(argv, env, message, monkeypatch, capsys):
    if env is None:
        monkeypatch.delenv("WORKER_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("WORKER_CONCURRENCY", env)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_started_worker_has_its_pool_and_a_real_node_name(start_worker):
    worker = start_worker()  # --concurrency 2, as the test fixture starts it
    main = psutil.Process(worker.proc.pid)
    assert len(main.children()) == 2
    log = worker.output()
    # %h expanded as Celery's own command line does, so `celery inspect ping -d` finds the node
    assert f"@{socket.gethostname()} ready." in log
    assert "%h" not in log
