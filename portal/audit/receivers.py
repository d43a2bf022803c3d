"""Audit events no portal service records itself: changes to users and memberships made on any other
path (the shell, a management command, Django's admin), logins, failed logins and login lockouts.

The staff services record their own changes, with the staff member who made them; they run inside
`recorded_by_caller()`, and these receivers then stay quiet, so that each change is recorded once.
Everywhere else the actor is not known: the event has none, and its message says where it came from.
Connected in AuditConfig.ready().

Model signals are all there is to hear: a queryset's update() (`User.objects.filter(...).update(...)`)
sends none and is never audited; the portal's own code saves instances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from portal.audit.context import is_recorded_by_caller
from portal.audit.models import Outcome
from portal.audit.services import audit_record, client_address
from portal.tenants import throttle
from portal.tenants.models import Membership, Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

OUTSIDE_THE_PORTAL = "outside the portal's pages (shell, command or admin)"
# What an event about a user shows (never the password, nor its hash).
USER_FIELDS = ("username", "email", "is_active", "is_staff", "is_superuser")
_BEFORE = "_audit_before"  # the stored values, read in pre_save, compared in post_save


def _user_values(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in USER_FIELDS}


def _user_pre_save(sender: type[User], instance: User, raw: bool = False,
                   update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    if raw or is_recorded_by_caller() or instance.pk is None:
        return
    if update_fields is not None and not update_fields & {*USER_FIELDS, "password"}:
        return  # e.g. last_login, saved at every login
    instance.__dict__[_BEFORE] = sender._default_manager.filter(pk=instance.pk).values(
        *USER_FIELDS, "password").first()


def _is_hash_upgrade(user: User, old_hash: str, update_fields: frozenset[str] | None) -> bool:
    """Django re-hashes a password at login when its hasher's settings changed: the same password,
    saved alone, after check_password() cleared the raw one that set_password() keeps.

    That shape alone (`user.password = make_password(x); user.save(update_fields=["password"])`
    has it too) proves nothing: it is an upgrade only if Django would have re-hashed the old hash
    (check_password's own test: another hasher than the preferred one, or its must_update()) and
    the new one is current. A new password set that way over an already current hash is audited."""
    if update_fields != frozenset({"password"}) or getattr(user, "_password", None) is not None:
        return False
    if not is_password_usable(old_hash) or not is_password_usable(user.password):
        return False
    preferred = get_hasher("default")
    try:
        old_hasher, new_hasher = identify_hasher(old_hash), identify_hasher(user.password)
    except ValueError:
        return False
    stale = old_hasher.algorithm != preferred.algorithm or preferred.must_update(old_hash)
    return stale and new_hasher.algorithm == preferred.algorithm and not preferred.must_update(user.password)


def _user_post_save(sender: type[User], instance: User, created: bool, raw: bool = False,
                    update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    before = instance.__dict__.pop(_BEFORE, None)
    if raw or is_recorded_by_caller():
        return
    if created:
        audit_record(action="user.create", obj=instance, after=_user_values(instance), outcome=Outcome.SUCCEEDED,
                     message=OUTSIDE_THE_PORTAL)
        return
    if before is None:
        return
    after = _user_values(instance)
    changed = [name for name in USER_FIELDS if before[name] != after[name]]
    if changed:
        action = "user.update"
        if changed == ["is_active"]:
            action = "user.enable" if after["is_active"] else "user.disable"
        audit_record(action=action, obj=instance, before={name: before[name] for name in changed},
                     after={name: after[name] for name in changed}, outcome=Outcome.SUCCEEDED,
                     message=OUTSIDE_THE_PORTAL)
    if before["password"] != instance.password and not _is_hash_upgrade(instance, before["password"], update_fields):
        audit_record(action="user.password.change", obj=instance, outcome=Outcome.SUCCEEDED,
                     message=OUTSIDE_THE_PORTAL)


def _user_post_delete(sender: type[User], instance: User, **kwargs: Any) -> None:
    if is_recorded_by_caller():
        return
    audit_record(action="user.delete", obj=instance, before=_user_values(instance), outcome=Outcome.SUCCEEDED,
                 message=OUTSIDE_THE_PORTAL)


def _membership_pre_save(sender: type[Membership], instance: Membership, raw: bool = False, **kwargs: Any) -> None:
    if raw or is_recorded_by_caller() or instance.pk is None:
        return
    instance.__dict__[_BEFORE] = sender._default_manager.filter(pk=instance.pk).values_list(
        "role", flat=True).first()


def _membership_post_save(sender: type[Membership], instance: Membership, created: bool, raw: bool = False,
                          **kwargs: Any) -> None:
    role_before = instance.__dict__.pop(_BEFORE, None)
    if raw or is_recorded_by_caller():
        return
    if created:
        audit_record(action="membership.create", tenant=instance.tenant, obj=instance,
                     after={"user": instance.user.get_username(), "role": instance.role},
                     outcome=Outcome.SUCCEEDED, message=OUTSIDE_THE_PORTAL)
    elif role_before is not None and role_before != instance.role:
        audit_record(action="membership.role.change", tenant=instance.tenant, obj=instance,
                     before={"role": role_before}, after={"role": instance.role}, outcome=Outcome.SUCCEEDED,
                     message=OUTSIDE_THE_PORTAL)


def _membership_post_delete(sender: type[Membership], instance: Membership, origin: Any = None,
                            **kwargs: Any) -> None:
    if is_recorded_by_caller():
        return
    # When the tenant itself is being deleted (one, or a queryset of them), the event cannot point
    # at it: its row goes next.
    deleting_tenant = isinstance(origin, Tenant) or (isinstance(origin, QuerySet) and issubclass(origin.model, Tenant))
    tenant = None if deleting_tenant else instance.tenant
    audit_record(action="membership.delete", tenant=tenant, object_type="tenants.membership",
                 object_id=str(instance.pk), object_label=str(instance),
                 before={"user": instance.user.get_username(), "role": instance.role},
                 outcome=Outcome.SUCCEEDED, message=OUTSIDE_THE_PORTAL)


def _locked_out(sender: Any, request: HttpRequest, username: str | None = None, ip_address: str | None = None,
                **kwargs: Any) -> None:
    """One event per lockout, when it begins. axes sends the signal again for every attempt refused
    while locked out; those come before it counts anything (axes_failures_since_start unset)."""
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    counts = throttle.failures(username=username, address=ip_address)
    scopes = throttle.locked_scopes(username=username, address=ip_address, counts=counts)
    user = get_user_model()._default_manager.filter(username=username).first() if username else None
    audit_record(action="auth.lockout", obj=user, object_type="" if user else "auth.login",
                 object_label=(username or ip_address or "")[:255],
                 after={"username": username or "", "locked": scopes}, outcome=Outcome.REFUSED,
                 message=(f"{counts.account_here} failed logins at this account from this address, "
                          f"{counts.account_everywhere} from addresses it never logged in from, "
                          f"{counts.address} from this address at any account"),
                 request=request)


def _logged_in(sender: Any, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any) -> None:
    if user is not None:
        by_sso = getattr(request, "sso_login", False)
        audit_record(action="auth.login", actor=user, obj=user, outcome=Outcome.SUCCEEDED, request=request,
                     after={"method": "sso"} if by_sso else None)


def _login_failed(sender: Any, credentials: dict[str, Any] | None = None, request: HttpRequest | None = None,
                  **kwargs: Any) -> None:
    """The username tried, never the password. An attempt the throttle refused while locked out is
    not recorded again: the lockout has its own event (auth.lockout), and it counts none of them."""
    if request is not None and getattr(request, "axes_locked_out", False):
        return
    if request is not None and getattr(request, "sso_attempt", False):
        return  # single sign-on records its refusals with their reason (auth.sso_failed)
    username = str((credentials or {}).get("username") or "")[:150]
    user = get_user_model()._default_manager.filter(username=username).first() if username else None
    audit_record(action="auth.login_failed", obj=user, object_type="" if user else "auth.login",
                 object_label=username or (client_address(request) or "")[:255], after={"username": username},
                 outcome=Outcome.REFUSED, request=request)


def connect() -> None:
    user_model = get_user_model()
    uid = "portal.audit.receivers"
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid=f"{uid}.user_pre_save")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid=f"{uid}.user_post_save")
    post_delete.connect(_user_post_delete, sender=user_model, dispatch_uid=f"{uid}.user_post_delete")
    pre_save.connect(_membership_pre_save, sender=Membership, dispatch_uid=f"{uid}.membership_pre_save")
    post_save.connect(_membership_post_save, sender=Membership, dispatch_uid=f"{uid}.membership_post_save")
    post_delete.connect(_membership_post_delete, sender=Membership, dispatch_uid=f"{uid}.membership_post_delete")
    user_locked_out.connect(_locked_out, dispatch_uid=f"{uid}.locked_out")
    user_logged_in.connect(_logged_in, dispatch_uid=f"{uid}.logged_in")
    user_login_failed.connect(_login_failed, dispatch_uid=f"{uid}.login_failed")
