"""State changes of tenants, users and memberships, and the spreadsheet import's apply step.

Every change made by a person is recorded in the audit trail here, not in the views, so that a
page, a management command and the spreadsheet import leave the same trace. Secrets never enter
an audit event: a token appears as its last four characters at most.
"""

import multiprocessing
import secrets
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import get_hasher
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest

from portal.audit.context import recorded_by_caller
from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.core import crypto
from portal.services import dispatch as services_dispatch
from portal.staff.importing.parse import SheetRow
from portal.staff.importing.plan import (
    CREATE,
    UNCHANGED,
    UPDATE,
    Plan,
    PlanChanged,
    build_plan,
    tenant_values,
)
from portal.staff.presets import ADMIN_USERNAME, PRESET_TENANTS, preset_username
from portal.tenants import throttle
from portal.tenants.models import Membership, Role, Tenant

# The fields of a tenant an admin edits on its page (the secrets have their own form).
TENANT_FIELDS = ("name", "ies_base_url", "ies_tenant_id", "scenarios", "is_active", "require_two_factor",
                 "require_sso", "sso_member_group", "sso_viewer_group", "ref_kind", "ref_service_id", "ref_service_name", "ref_cloud_vpn_name")
GENERATED_PASSWORD_BYTES = 12


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


def _snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


# -- tenants ---------------------------------------------------------------------------------------


def tenant_set_credentials(*, tenant: Tenant, token: str, bearer: str, tenant_id: str = "") -> Tenant:
    tenant.set_credentials(token=token, bearer=bearer)
    if tenant_id:
        tenant.ies_tenant_id = tenant_id
    tenant.save()
    return tenant


@transaction.atomic
def tenant_create(*, actor: User | None, request: HttpRequest | None = None, token: str = "",
                  bearer: str = "", **values: Any) -> Tenant:
    """A new tenant; the token and bearer, when given, are stored encrypted right away."""
    unknown = set(values) - set(TENANT_FIELDS)
    if unknown:
        raise TypeError(f"unknown tenant fields: {sorted(unknown)}")
    tenant = Tenant(**values)
    if token:
        tenant.set_token(token)
    if bearer:
        tenant.set_bearer(bearer)
    tenant.save()
    after = _snapshot(tenant, TENANT_FIELDS)
    after.update(token=tenant.token_masked, bearer=tenant.bearer_masked)
    audit_record(action="tenant.create", actor=actor, request=request, tenant=tenant, obj=tenant, after=after,
                 outcome=Outcome.SUCCEEDED)
    _mirror_soon(tenant)
    return tenant


def _mirror_soon(tenant: Tenant) -> None:
    """Pages read the mirror only: a tenant that can now reach IES gets its services listed in the
    background, so that its users' first page shows them instead of "asking IES…"."""
    if tenant.has_credentials:
        tenant_id = tenant.pk
        transaction.on_commit(lambda: services_dispatch.sync_tenant(tenant_id))


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor: User | None, request: HttpRequest | None = None,
                  **values: Any) -> Tenant:
    """Change a tenant's plain fields; records what changed (nothing is recorded for no change)."""
    unknown = set(values) - set(TENANT_FIELDS)
    if unknown:
        raise TypeError(f"unknown tenant fields: {sorted(unknown)}")
    before = _snapshot(tenant, tuple(values))
    address_before = tenant.base_url
    for name, value in values.items():
        setattr(tenant, name, value)
    old, new = _diff(before, values)
    if new:
        if tenant.base_url != address_before and tenant.holds_any_credential:
            # The token and bearer were issued by the IES at the old address: the next call ("check
            # connection", any page) would hand them to whoever answers at the new one. They are
            # asked for again instead.
            old.update(token=tenant.token_masked, bearer=tenant.bearer_masked)
            tenant.clear_credentials()
            new.update(token="", bearer="")
        tenant.save()
        action = "tenant.update"
        if set(new) == {"is_active"}:
            action = "tenant.activate" if new["is_active"] else "tenant.deactivate"
        audit_record(action=action, actor=actor, request=request, tenant=tenant, obj=tenant, before=old, after=new,
                     outcome=Outcome.SUCCEEDED)
    return tenant


@transaction.atomic
def tenant_credentials_replace(*, tenant: Tenant, actor: User | None,
                               request: HttpRequest | None = None, token: str = "", bearer: str = "") -> Tenant:
    """Replace the X-Auth-Token and/or the bearer (an empty value keeps the stored one)."""
    if not token and not bearer:
        raise ValueError("nothing to replace")
    before = {"token": tenant.token_masked, "bearer": tenant.bearer_masked}
    if token:
        tenant.set_token(token)
    if bearer:
        tenant.set_bearer(bearer)
    tenant.save()
    after = {"token": tenant.token_masked, "bearer": tenant.bearer_masked}
    replaced = [name for name, value in (("token", token), ("bearer", bearer)) if value]
    audit_record(action="tenant.token.replace", actor=actor, request=request, tenant=tenant, obj=tenant,
                 before=before, after=after, outcome=Outcome.SUCCEEDED, message=", ".join(replaced))
    _mirror_soon(tenant)
    return tenant


@dataclass(frozen=True)
class ConnectionCheck:
    """What "check connection" found. `outcome` is one of ok, bad_token, unreachable, not_configured,
    bad_url, key_error, error."""

    outcome: str
    service_count: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def tenant_connection_check(*, tenant: Tenant, actor: User | None,
                            request: HttpRequest | None = None) -> ConnectionCheck:
    """List the tenant's services with its own token: the cheapest call that proves the token works."""
    from ies_client.errors import IESAuthError, IESError, IESUnavailable
    from portal.tenants.ies import TenantNotConfigured, ies_for_tenant

    try:
        listed = ies_for_tenant(tenant, for_page=True).list_services()
        result = ConnectionCheck("ok", service_count=len(listed))
    except TenantNotConfigured:
        result = ConnectionCheck("not_configured")
    except crypto.TokenDecryptionError:
        result = ConnectionCheck("key_error")
    except IESAuthError as exc:
        result = ConnectionCheck("bad_token", detail=exc.message)
    except IESUnavailable as exc:
        result = ConnectionCheck("unreachable", detail=exc.message)
    except IESError as exc:
        result = ConnectionCheck("error", detail=exc.message)
    except ValueError as exc:  # the base URL does not look like an IES base URL
        result = ConnectionCheck("bad_url", detail=str(exc))
    audit_record(action="tenant.check_connection", actor=actor, request=request, tenant=tenant, obj=tenant,
                 outcome=Outcome.SUCCEEDED if result.ok else Outcome.FAILED,
                 message=result.outcome if result.ok else f"{result.outcome}: {result.detail}".rstrip(": "),
                 after={"services": result.service_count} if result.ok else None)
    return result


def tenant_keys_rotate(*, actor: User | None = None) -> int:
    """Re-encrypt every stored token and bearer with the newest key of TOKEN_ENCRYPTION_KEYS.

    All or nothing: if one secret cannot be decrypted (its key was removed too early), nothing is
    changed and TokenDecryptionError names no secret, only the tenant.
    """
    count = 0
    with transaction.atomic():
        for tenant in Tenant.objects.select_for_update().order_by("pk"):
            changed = []
            for name in ("token_encrypted", "bearer_encrypted"):
                value = getattr(tenant, name)
                if not value:
                    continue
                try:
                    setattr(tenant, name, crypto.rotate(value))
                except crypto.TokenDecryptionError as exc:
                    raise crypto.TokenDecryptionError(
                        f"the stored secrets of tenant {tenant.name} cannot be decrypted with the configured keys"
                    ) from exc
                changed.append(name)
            if changed:
                Tenant.objects.filter(pk=tenant.pk).update(**{name: getattr(tenant, name) for name in changed})
                count += 1
        audit_record(action="tenant.keys.rotate", actor=actor, outcome=Outcome.SUCCEEDED,
                     message=f"{count} tenants re-encrypted with the newest key")
    return count


# -- "see as tenant" ------------------------------------------------------------------------------


def see_as_start(*, request: HttpRequest, tenant: Tenant) -> None:
    """Let a staff user look at `tenant`'s pages, read-only (portal.tenants.access does the rest)."""
    from portal.tenants.access import SESSION_SEE_AS_KEY

    if not request.user.is_staff:
        raise PermissionError("staff only")
    request.session[SESSION_SEE_AS_KEY] = tenant.pk
    request.__dict__.pop("_portal_membership", None)
    audit_record(action="tenant.see_as.start", request=request, tenant=tenant, obj=tenant, outcome=Outcome.SUCCEEDED)


def see_as_stop(*, request: HttpRequest) -> Tenant | None:
    from portal.tenants.access import SESSION_SEE_AS_KEY

    tenant_id = request.session.pop(SESSION_SEE_AS_KEY, None)
    request.__dict__.pop("_portal_membership", None)
    if tenant_id is None:
        return None
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    audit_record(action="tenant.see_as.stop", request=request, tenant=tenant, obj=tenant,
                 object_type="tenants.tenant", object_id=str(tenant_id), outcome=Outcome.SUCCEEDED)
    return tenant


# -- users and memberships -------------------------------------------------------------------------
# Each of these records its own audit event, with its actor, inside `recorded_by_caller()`: the
# receivers that audit changes made elsewhere (portal/audit/receivers.py) stay quiet meanwhile.


def generate_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


@recorded_by_caller()
@transaction.atomic
def user_create(*, actor: User | None, request: HttpRequest | None = None, username: str,
                email: str = "", is_staff: bool = False, password: str | None = None) -> User:
    """A portal user. Without a password the account has an unusable one until an admin sets it."""
    user = get_user_model()(username=username, email=email, is_staff=is_staff, is_active=True)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(action="user.create", actor=actor, request=request, obj=user,
                 after={"username": username, "email": email, "is_staff": is_staff,
                        "password": "set" if password else "unusable"},
                 outcome=Outcome.SUCCEEDED)
    return user


@recorded_by_caller()
@transaction.atomic
def user_set_active(*, user: User, active: bool, actor: User | None, request: HttpRequest | None = None) -> User:
    """Enable or disable a login. A disabled user's open sessions stop working at once (Django
    refuses inactive users when it loads the session's user)."""
    if actor is not None and user.pk == actor.pk and not active:
        raise ValueError("an admin cannot disable their own account")
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(action="user.enable" if active else "user.disable", actor=actor, request=request, obj=user,
                 before={"is_active": not active}, after={"is_active": active}, outcome=Outcome.SUCCEEDED)
    return user


@recorded_by_caller()
@transaction.atomic
def user_password_reset(*, user: User, actor: User | None, request: HttpRequest | None = None,
                        password: str | None = None) -> str:
    """Set `password`, or a generated one, and return it (the caller shows it once, never stores it).

    Changing the password also ends the user's other sessions (Django ties sessions to its hash).
    """
    generated = not password
    new_password = password or generate_password()
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(action="user.password.reset", actor=actor, request=request, obj=user, outcome=Outcome.SUCCEEDED,
                 message="generated" if generated else "set by admin")
    return new_password


@recorded_by_caller()
@transaction.atomic
def membership_add(*, user: User, tenant: Tenant, role: str, actor: User | None,
                   request: HttpRequest | None = None) -> Membership:
    """Add `user` to `tenant` with `role`; an existing membership gets the role instead."""
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    if created:
        audit_record(action="membership.create", actor=actor, request=request, tenant=tenant, obj=membership,
                     after={"user": user.get_username(), "role": role}, outcome=Outcome.SUCCEEDED)
        return membership
    return membership_set_role(membership=membership, role=role, actor=actor, request=request)


@recorded_by_caller()
@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, actor: User | None,
                        request: HttpRequest | None = None) -> Membership:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if membership.role == role:
        return membership
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(action="membership.role.change", actor=actor, request=request, tenant=membership.tenant,
                 obj=membership, before={"role": before}, after={"role": role}, outcome=Outcome.SUCCEEDED)
    return membership


@recorded_by_caller()
@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None,
                      request: HttpRequest | None = None) -> None:
    label, tenant = str(membership), membership.tenant
    object_id = str(membership.pk)
    before = {"user": membership.user.get_username(), "role": membership.role}
    membership.delete()
    audit_record(action="membership.delete", actor=actor, request=request, tenant=tenant,
                 object_type="tenants.membership", object_id=object_id, object_label=label, before=before,
                 outcome=Outcome.SUCCEEDED)


def lockout_clear(*, scope: str, key: str, actor: User | None, request: HttpRequest | None = None) -> int:
    """Lift a login lockout of an account (`key`: its user name) or of a network address, before its
    cool-off ends. Returns how many throttle records were forgotten (0: it was not locked, and
    nothing is recorded: there was nothing to lift)."""
    with transaction.atomic():
        count = throttle.lockout_clear(scope=scope, key=key)
        if not count:
            return 0
        user = get_user_model()._default_manager.filter(username=key).first() if scope == throttle.ACCOUNT else None
        audit_record(action="auth.unlock", actor=actor, request=request, obj=user,
                     object_type="" if user else "auth.login", object_label=key[:255],
                     before={"locked": [scope]}, after={"locked": []}, outcome=Outcome.SUCCEEDED,
                     message=f"{count} throttle records cleared")
    return count


# -- presets ---------------------------------------------------------------------------------------


def _record_preset_user_changes(user: User, before: dict[str, bool], *, password_reset: bool) -> None:
    after = {name: getattr(user, name) for name in before}
    changed = [name for name in before if before[name] != after[name]]
    if changed:
        action = "user.update"
        if changed == ["is_active"]:
            action = "user.enable" if after["is_active"] else "user.disable"
        audit_record(action=action, obj=user, before={name: before[name] for name in changed},
                     after={name: after[name] for name in changed}, outcome=Outcome.SUCCEEDED, message="load_presets")
    if password_reset:
        audit_record(action="user.password.reset", obj=user, outcome=Outcome.SUCCEEDED, message="load_presets")


def _preset_password_hashes(password: str, *, reset_passwords: bool, processes: int) -> dict[str, str]:
    """The encoded password of every preset user about to be given one, each with its own salt.

    With the default PBKDF2 hasher a hash costs about half a second of CPU, 17 of them most of a
    fresh `make run`: `processes` > 1 spreads them over that many processes. They only hash. They
    are forked when this process runs no other thread (load_presets): a spawned pool's named
    semaphores, when Ctrl-C stops `make run` midway, are left to a resource tracker that complains
    on the terminal. Beside other threads (a test), they are spawned: a fork could copy a lock that
    another thread holds.
    """
    usernames = [preset_username(number) for preset in PRESET_TENANTS for number in preset.users]
    usernames.append(ADMIN_USERNAME)
    if not reset_passwords:
        existing = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
        usernames = [name for name in usernames if name not in existing]
    hasher = get_hasher()
    salts = [hasher.salt() for _ in usernames]
    workers = min(processes, len(usernames))
    if workers <= 1:
        return {name: hasher.encode(password, salt) for name, salt in zip(usernames, salts, strict=True)}
    start = "fork" if threading.active_count() == 1 else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(start)) as pool:
        encoded = list(pool.map(hasher.encode, [password] * len(usernames), salts))
    return dict(zip(usernames, encoded, strict=True))


def presets_load(*, password: str, credentials: dict[str, SimulatorCredentials] | None = None,
                 reset_passwords: bool = False, enable_users: bool = False, hash_processes: int = 1) -> PresetResult:
    """Create or update the deck's tenants, users user1…user16 and the staff user `admin`.

    Re-runnable: nothing is duplicated; existing users keep their password unless asked
    (`reset_passwords`), and a user staff disabled stays disabled unless asked (`enable_users`).
    What it creates is counted in one "presets.load" event; each change to an existing user
    (re-enabled, made staff, password reset) is an event of its own, as the staff pages record it.
    `hash_processes`: how many processes hash the new passwords (`_preset_password_hashes`).
    """
    # Hashed before the transaction, which on SQLite holds the write lock from its start
    # (IMMEDIATE): `make run` serves pages and runs the worker while the presets load.
    hashes = _preset_password_hashes(password, reset_passwords=reset_passwords, processes=hash_processes)
    return _presets_write(password=password, hashes=hashes, credentials=credentials,
                          reset_passwords=reset_passwords, enable_users=enable_users)


@recorded_by_caller()
@transaction.atomic
def _presets_write(*, password: str, hashes: dict[str, str], credentials: dict[str, SimulatorCredentials] | None,
                   reset_passwords: bool, enable_users: bool) -> PresetResult:
    result = PresetResult()
    user_model = get_user_model()

    def ensure_user(username: str, *, staff: bool = False) -> User:
        user, created = user_model.objects.get_or_create(username=username)
        before = {"is_active": user.is_active, "is_staff": user.is_staff, "is_superuser": user.is_superuser}
        hashed_before = (created or reset_passwords) and username in hashes
        if hashed_before:
            user.password = hashes[username]
        elif created or reset_passwords:
            # Removed by someone else since the hashing found it: hashed here.
            user.set_password(password)
        if staff:
            user.is_staff = True
            user.is_superuser = True
        if enable_users:
            user.is_active = True
        user.save()
        if hashed_before:
            # What save() does after set_password: the validators hear of the new password.
            password_validation.password_changed(password, user)
        result.users_created += int(created)
        if not created:
            _record_preset_user_changes(user, before, password_reset=reset_passwords)
        return user

    for preset in PRESET_TENANTS:
        reference = {"scenarios": list(preset.scenarios), "ref_kind": preset.kind,
                     "ref_service_id": preset.service_id, "ref_service_name": preset.service_name,
                     "ref_cloud_vpn_name": preset.cloud_vpn_name}
        tenant, created = Tenant.objects.get_or_create(name=preset.name, defaults=reference)
        result.tenants_created += int(created)
        stale = [name for name, value in reference.items() if getattr(tenant, name) != value]
        if not created and stale:
            for name in stale:
                setattr(tenant, name, reference[name])
            tenant.save(update_fields=[*stale, "updated_at"])
        creds = (credentials or {}).get(preset.name)
        if creds:
            tenant_set_credentials(tenant=tenant, token=creds.token, bearer=creds.bearer, tenant_id=creds.tenant_id)
            result.credentials_set += 1
        for number in preset.users:
            user = ensure_user(preset_username(number))
            _, made = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.MEMBER})
            result.memberships_created += int(made)
    ensure_user(ADMIN_USERNAME, staff=True)
    audit_record(action="presets.load", outcome=Outcome.SUCCEEDED,
                 message=(f"{result.tenants_created} tenants, {result.users_created} users, "
                          f"{result.memberships_created} memberships created; tokens set for "
                          f"{result.credentials_set} tenants"))
    return result


# -- the spreadsheet import -----------------------------------------------------------------------


@recorded_by_caller()
def import_apply(*, rows: list[SheetRow], actor: User | None, request: HttpRequest | None = None,
                 filename: str = "", expected_digest: str | None = None, new_user_password: str | None = None,
                 replace_credentials_of: Iterable[str] = ()) -> Plan:
    """Apply every row in one transaction: all of it, or (on any error) nothing.

    `replace_credentials_of`: the tenants whose stored token or bearer the admin agreed to replace;
    every other tenant keeps its stored ones (the rest of its row is applied).
    `expected_digest`: the previewed plan's `digest`; if the plan computed now differs (someone
    changed a tenant meanwhile), nothing is applied and PlanChanged is raised.
    `new_user_password`: the first password of every user the import creates (the admin hands it
    out; each user can be given their own later), so that an imported portal can be logged into.
    """
    user_model = get_user_model()
    try:
        with transaction.atomic():
            plan = build_plan(rows)
            if expected_digest is not None and plan.digest != expected_digest:
                raise PlanChanged()
            plan = plan.without_replacements(allowed=replace_credentials_of)
            by_number = {row.number: row for row in rows}
            tenants: dict[str, Tenant] = {t.name: t for t in Tenant.objects.select_for_update().filter(
                name__in={r.tenant for r in rows})}
            for step in plan.rows:
                row = by_number[step.number]
                tenant = tenants.get(row.tenant)
                if step.tenant_action == CREATE:
                    tenant = tenant_create(actor=actor, request=request, name=row.tenant, **tenant_values(row))
                    tenants[row.tenant] = tenant
                elif step.tenant_action == UPDATE:
                    assert tenant is not None
                    tenant_update(tenant=tenant, actor=actor, request=request,
                                  **{name: tenant_values(row)[name] for name in step.tenant_fields})
                assert tenant is not None
                if step.secrets:
                    tenant_credentials_replace(tenant=tenant, actor=actor, request=request,
                                               **{key: getattr(row, key) for key in step.secrets})
                for change in step.users:
                    if change.user == CREATE:
                        user = user_create(actor=actor, request=request, username=change.username,
                                           password=new_user_password)
                    else:
                        user = user_model.objects.get(username=change.username)
                    if change.membership != UNCHANGED:
                        membership_add(user=user, tenant=tenant, role=change.role, actor=actor, request=request)
            summary = plan.summary
            audit_record(action="import.apply", actor=actor, request=request, outcome=Outcome.SUCCEEDED,
                         object_label=filename[:255], after=summary,
                         message=f"{len(rows)} rows from {filename}"[:1000])
    except Exception as exc:
        audit_record(action="import.apply", actor=actor, request=request, outcome=Outcome.FAILED,
                     object_label=filename[:255], message=f"{type(exc).__name__}: nothing was changed")
        raise
    return plan
