import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher
from django.core.management import call_command

from portal.staff.presets import PRESET_TENANTS
from portal.tenants.models import Membership, Tenant
from tests.portal.conftest import DEMO_PASSWORD, simulator_credentials

pytestmark = pytest.mark.django_db


def test_it_loads_the_decks_tenants_and_users(presets, simulator):
    assert sorted(Tenant.objects.values_list("name", flat=True)) == [f"nbitest_{n}" for n in range(11, 17)]
    users = get_user_model().objects
    assert users.filter(username__regex=r"^user\d+$").count() == 16
    assert users.get(username="admin").is_staff
    expected = {preset.name: {f"user{n}" for n in preset.users} for preset in PRESET_TENANTS}
    for name, usernames in expected.items():
        assert set(Membership.objects.filter(tenant__name=name).values_list("user__username", flat=True)) == usernames
    tenant = Tenant.objects.get(name="nbitest_11")
    assert tenant.credentials() == (simulator.tenants["nbitest_11"]["token"], simulator.tenants["nbitest_11"]["bearer"])


def test_it_is_rerunnable_without_duplicates(presets, simulator):
    from portal.staff.services import presets_load

    again = presets_load(password=DEMO_PASSWORD, credentials=simulator_credentials(simulator))
    assert (again.tenants_created, again.users_created, again.memberships_created) == (0, 0, 0)
    assert Tenant.objects.count() == 6
    assert Membership.objects.count() == 16


def test_it_stores_tokens_encrypted(presets, simulator):
    token = simulator.tenants["nbitest_12"]["token"]
    row = Tenant.objects.filter(name="nbitest_12").values("token_encrypted", "bearer_encrypted").get()
    assert token not in row["token_encrypted"]
    assert simulator.tenants["nbitest_12"]["bearer"] not in row["bearer_encrypted"]
    assert Tenant.objects.get(name="nbitest_12").token_masked == "…" + token[-4:]


def test_the_command_fetches_tokens_from_the_simulator(simulator, settings, capsys, tmp_path):
    settings.PORTAL_DEMO_PASSWORD = ""
    call_command("load_presets", password_file=str(tmp_path / "pw"))
    out = capsys.readouterr().out
    assert "tokens set for 6 tenants" in out
    password = (tmp_path / "pw").read_text().strip()
    assert password in out  # printed once, when generated
    assert get_user_model().objects.get(username="user7").check_password(password)
    call_command("load_presets", password_file=str(tmp_path / "pw"))
    assert password not in capsys.readouterr().out


def test_passwords_hashed_in_several_processes_each_have_a_salt_of_their_own(db, settings, tmp_path):
    """`make run` hashes the demo users' passwords over every CPU (load_presets --hash-processes):
    still one salt per user, with the configured hasher, and every login works."""
    settings.PORTAL_DEMO_PASSWORD = "Parallel-pass-42"
    call_command("load_presets", "--no-simulator-tokens", "--hash-processes", "3", password_file=str(tmp_path / "pw"))
    users = list(get_user_model().objects.all())
    assert len(users) == 17
    algorithms = {user.password.split("$")[0] for user in users}
    assert algorithms == {get_hasher().algorithm}
    assert len({user.password.split("$")[1] for user in users}) == 17, "one salt per user"
    assert all(user.check_password("Parallel-pass-42") for user in users)
