"""State changes of tenants, users and memberships."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.tenants.models import Membership, Role, Tenant
from portal.tenants.presets import ADMIN_USERNAME, PRESET_TENANTS, preset_username


@dataclass(frozen=True)
class SimulatorCredentials:
    token: str
    bearer: str
    tenant_id: str


@dataclass
class PresetResult:
    tenants_created: int = 0
    users_created: int = 0
    memberships_created: int = 0
    credentials_set: int = 0


def tenant_set_credentials(*, tenant: Tenant, token: str, bearer: str, tenant_id: str = "") -> Tenant:
    tenant.set_credentials(token=token, bearer=bearer)
    if tenant_id:
        tenant.ies_tenant_id = tenant_id
    tenant.save()
    return tenant


@transaction.atomic
def presets_load(*, password: str, credentials: dict[str, SimulatorCredentials] | None = None,
                 reset_passwords: bool = False) -> PresetResult:
    """Create or update the deck's tenants, users user1…user16 and the staff user `admin`.

    Re-runnable: nothing is duplicated; existing users keep their password unless asked.
    """
    result = PresetResult()
    user_model = get_user_model()

    def ensure_user(username: str, *, staff: bool = False):
        user, created = user_model.objects.get_or_create(username=username)
        if created or reset_passwords:
            user.set_password(password)
        if staff:
            user.is_staff = True
            user.is_superuser = True
        user.is_active = True
        user.save()
        result.users_created += int(created)
        return user

    for preset in PRESET_TENANTS:
        tenant, created = Tenant.objects.get_or_create(name=preset.name, defaults={"scenarios": list(preset.scenarios)})
        result.tenants_created += int(created)
        if not created and tenant.scenarios != list(preset.scenarios):
            tenant.scenarios = list(preset.scenarios)
            tenant.save(update_fields=["scenarios", "updated_at"])
        creds = (credentials or {}).get(preset.name)
        if creds:
            tenant_set_credentials(tenant=tenant, token=creds.token, bearer=creds.bearer, tenant_id=creds.tenant_id)
            result.credentials_set += 1
        for number in preset.users:
            user = ensure_user(preset_username(number))
            _, made = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.MEMBER})
            result.memberships_created += int(made)
    ensure_user(ADMIN_USERNAME, staff=True)
    return result
