"""Key rotation keeps every token readable; the deploy checks catch a missing or broken key ring."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from portal.staff.services import tenant_set_credentials
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def old_key(settings, presets, simulator):
    """The presets, encrypted with one configured key (`old`)."""
    key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [key]
    for tenant in Tenant.objects.all():
        creds = simulator.tenants[tenant.name]
        tenant_set_credentials(tenant=tenant, token=creds["token"], bearer=creds["bearer"])
    return key


def _stored():
    return dict(Tenant.objects.values_list("name", "token_encrypted"))


def test_rotation_re_encrypts_every_token_with_the_newest_key(settings, old_key, simulator, capsys):
    new = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new, old_key]
    before = _stored()
    call_command("rotate_token_keys")
    assert "Re-encrypted the credentials of 6 tenants" in capsys.readouterr().out
    assert all(before[name] != value for name, value in _stored().items())
    settings.TOKEN_ENCRYPTION_KEYS = [new]  # the old key can go now
    for tenant in Tenant.objects.all():
        creds = simulator.tenants[tenant.name]
        assert tenant.credentials() == (creds["token"], creds["bearer"])
    assert AuditEvent.objects.filter(action="tenant.keys.rotate", outcome="succeeded").exists()


def test_rotation_keeps_the_ies_connection_working(settings, old_key, staff, sim):
    from tests.portal.staff.conftest import post

    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    call_command("rotate_token_keys")
    settings.TOKEN_ENCRYPTION_KEYS = settings.TOKEN_ENCRYPTION_KEYS[:1]
    tenant = Tenant.objects.get(name="nbitest_11")
    page = post(staff, f"/staff/tenants/{tenant.pk}/check/", follow=True)
    assert "Connection OK" in page.text


def test_rotation_without_the_old_key_changes_nothing(settings, old_key):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    before = _stored()
    with pytest.raises(CommandError, match="cannot be decrypted.*Nothing was changed"):
        call_command("rotate_token_keys")
    assert _stored() == before


def test_rotation_is_idempotent(settings, old_key, simulator):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    call_command("rotate_token_keys")
    call_command("rotate_token_keys")
    tenant = Tenant.objects.get(name="nbitest_14")
    assert tenant.credentials()[0] == simulator.tenants["nbitest_14"]["token"]


def _messages(**kwargs):
    return {m.id for m in checks.run_checks(**kwargs)}


def test_deploy_check_warns_without_a_key_ring(settings):
    settings.TOKEN_ENCRYPTION_KEYS = []
    assert "portal.W001" in _messages(include_deployment_checks=True)
    assert "portal.W001" not in _messages()  # local runs may use the derived key


def test_any_check_fails_on_a_key_that_is_not_a_fernet_key(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), "not-a-key"]
    assert "portal.E001" in _messages()
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert not {"portal.E001", "portal.W001"} & _messages(include_deployment_checks=True)


def _check_deploy(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "TOKEN_ENCRYPTION_KEYS")}
    environment.update(PORTAL_RUN_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings", **env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # a `manage.py check --deploy` process
def test_check_deploy_is_clean_with_production_settings(tmp_path):
    done = _check_deploy(tmp_path, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="portal.example",
                         TOKEN_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


@pytest.mark.slow  # a `manage.py check --deploy` process
def test_check_deploy_reports_a_missing_or_broken_key_ring(tmp_path):
    base = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "portal.example"}
    missing = _check_deploy(tmp_path, **base)
    assert missing.returncode != 0 and "portal.W001" in missing.stdout + missing.stderr
    broken = _check_deploy(tmp_path, TOKEN_ENCRYPTION_KEYS="short", **base)
    assert broken.returncode != 0 and "portal.E001" in broken.stdout + broken.stderr
    assert "short" not in (broken.stdout + broken.stderr).replace("shortcut", "")
