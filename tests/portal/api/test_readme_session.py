"""The README's API session, run as printed (bash and curl) against a live portal, a real worker
and the simulator: it orders, waits and scales."""

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from portal.operations.models import Operation
from portal.services.models import Service
from tests.fixtures_portal import make_own_tenant
from tests.portal.api.conftest import make_token

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_session() -> str:
    match = re.search(r"<!-- api-session -->\n```bash\n(.*?)```", README.read_text(), re.S)
    assert match, "the README's API session is marked with <!-- api-session -->"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
@pytest.mark.django_db(transaction=True)
def test_the_readme_session_orders_waits_and_scales(live_server, simulator, django_user_model, celery_worker):
    own = make_own_tenant(simulator, django_user_model)
    _token, secret = make_token(get_user_model().objects.get(username="own1"), own.tenant)
    env = {**os.environ, "PORTAL": live_server.url, "TOKEN": secret}
    # Its own process group: on a timeout the whole session goes, subshells included.
    session = subprocess.Popen(["bash", "-euo", "pipefail", "-c", readme_session()], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = session.communicate(timeout=150)
    except subprocess.TimeoutExpired as exc:
        os.killpg(session.pid, signal.SIGKILL)
        session.communicate()
        states = list(Operation.objects.values_list("kind", "state", "message"))
        raise AssertionError(f"the session did not end; operations: {states}") from exc
    run = subprocess.CompletedProcess(session.args, session.returncode, out, err)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.stdout.strip().endswith("100000")
    service = Service.objects.get(tenant=own.tenant, name="branch-42")
    assert service.bandwidth_kbps == 100000
