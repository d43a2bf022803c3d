"""`python -m portal.worker`: the deployed way to start the Celery worker."""

import socket

import psutil
import pytest

from portal.worker import parse_args


def test_four_threads_unless_configured(monkeypatch):
    monkeypatch.delenv("WORKER_CONCURRENCY", raising=False)
    monkeypatch.delenv("WORKER_POOL", raising=False)
    args = parse_args([])
    assert (args.pool, args.concurrency) == ("threads", 4)
    monkeypatch.setenv("WORKER_CONCURRENCY", "3")
    monkeypatch.setenv("WORKER_POOL", "prefork")
    args = parse_args([])
    assert (args.pool, args.concurrency) == ("prefork", 3)
    args = parse_args(["--concurrency", "2", "--pool", "solo"])
    assert (args.pool, args.concurrency) == ("solo", 2)


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
    monkeypatch.delenv("WORKER_POOL", raising=False)
    if env is None:
        monkeypatch.delenv("WORKER_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("WORKER_CONCURRENCY", env)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_pool_in_the_environment_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("WORKER_POOL", "gevent")
    with pytest.raises(SystemExit):
        parse_args([])
    assert "WORKER_POOL must be one of threads, prefork, solo" in capsys.readouterr().err


@pytest.mark.parametrize(("pool", "processes"), [("threads", 1), ("prefork", 3)])
def test_the_started_worker_has_its_pool_and_a_real_node_name(pool, processes, start_worker):
    worker = start_worker(env={"WORKER_POOL": pool, "WORKER_CONCURRENCY": "2"})
    main = psutil.Process(worker.proc.pid)
    assert 1 + len(main.children(recursive=True)) == processes
    log = worker.output()
    assert f"concurrency: 2 ({'thread' if pool == 'threads' else 'prefork'})" in log
    # %h expanded as Celery's own command line does, so `celery inspect ping -d` finds the node
    assert f"@{socket.gethostname()} ready." in log
    assert "%h" not in log
