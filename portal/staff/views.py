"""The staff pages: tenants and their IES credentials, users and memberships, the preset-table
import/export and "see as tenant". Every view is `staff_required`; writes go through services.py
(which records the audit trail), reads through selectors.py."""

import time
import uuid

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from portal.api.presenters import with_states
from portal.api.selectors import token_list_for_staff
from portal.api.services import token_revoke
from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.core.http import SignedInRequest
from portal.staff import selectors, services
from portal.staff.forms import (
    CredentialsForm,
    ImportForm,
    MembershipForTenantForm,
    MembershipForUserForm,
    PasswordResetForm,
    RoleForm,
    TenantForm,
    UserCreateForm,
)
from portal.staff.importing import export, parse, read
from portal.staff.importing.errors import SheetError
from portal.staff.importing.plan import CREATE, PlanChanged, build_plan
from portal.staff.importing.session import rows_from_session, rows_to_session
from portal.tenants.models import Role
from portal.tenants.permissions import staff_required
from portal.tenants.throttle import ACCOUNT, ADDRESS
from portal.twofactor import selectors as twofactor_selectors
from portal.twofactor import services as twofactor_services

SESSION_IMPORT_KEY = "staff_import"
API_TOKENS_PAGE_SIZE = 50
IMPORT_TTL_SECONDS = 30 * 60


def _next_or(request: SignedInRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# -- tenants ---------------------------------------------------------------------------------------


@staff_required
@require_GET
def staff_home(request: SignedInRequest) -> HttpResponse:
    return redirect("staff:tenant_list")


@staff_required
@require_GET
def tenant_list(request: SignedInRequest) -> HttpResponse:
    return render(request, "staff/tenant_list.html", {"tenants": selectors.tenant_list()})


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_create(request: SignedInRequest) -> HttpResponse:
    form = TenantForm(request.POST if request.method == "POST" else None, with_secrets=True)
    if request.method == "POST" and form.is_valid():
        tenant = services.tenant_create(actor=request.user, request=request, token=form.cleaned_data["token"],
                                        bearer=form.cleaned_data["bearer"], **form.tenant_values())
        messages.success(request, _("Tenant %(name)s created.") % {"name": tenant.name})
        return redirect("staff:tenant_detail", pk=tenant.pk)
    return render(request, "staff/tenant_form.html", {"form": form, "tenant": None},
                  status=400 if form.is_bound else 200)


@staff_required
@require_GET
def tenant_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    tenant = selectors.tenant_get(pk=pk)
    return render(request, "staff/tenant_detail.html", {
        "tenant": tenant,
        "memberships": selectors.tenant_memberships(tenant=tenant),
        "member_form": MembershipForTenantForm(),
        "roles": Role.choices,
    })


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    tenant = selectors.tenant_get(pk=pk)
    # The form validates into its own copy: `tenant` stays as stored (for the page heading, and
    # for tenant_update to compare with).
    form = TenantForm(request.POST if request.method == "POST" else None, instance=selectors.tenant_get(pk=pk))
    if request.method == "POST" and form.is_valid():
        had_credentials = tenant.holds_any_credential
        services.tenant_update(tenant=tenant, actor=request.user, request=request, **form.tenant_values())
        if had_credentials and not tenant.holds_any_credential:
            messages.warning(request, _(
                "Tenant %(name)s saved. Its IES address changed, so its stored token and bearer were "
                "cleared (they belong to the old address): enter the ones for the new address.")
                % {"name": tenant.name})
            return redirect("staff:tenant_credentials", pk=tenant.pk)
        messages.success(request, _("Tenant %(name)s saved.") % {"name": tenant.name})
        return redirect("staff:tenant_detail", pk=tenant.pk)
    return render(request, "staff/tenant_form.html", {"form": form, "tenant": tenant},
                  status=400 if form.is_bound else 200)


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_credentials(request: SignedInRequest, pk: int) -> HttpResponse:
    tenant = selectors.tenant_get(pk=pk)
    form = CredentialsForm(request.POST if request.method == "POST" else None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        services.tenant_credentials_replace(tenant=tenant, actor=request.user, request=request,
                                            token=form.cleaned_data["token"], bearer=form.cleaned_data["bearer"])
        messages.success(request, _("The IES credentials of %(name)s were replaced.") % {"name": tenant.name})
        return redirect("staff:tenant_detail", pk=tenant.pk)
    return render(request, "staff/tenant_credentials.html", {"form": form, "tenant": tenant},
                  status=400 if form.is_bound else 200)


CHECK_MESSAGES = {
    "bad_token": lambda: _("IES refused the token (bad or expired): replace the tenant's credentials."),
    "unreachable": lambda: _("IES is unreachable at this tenant's base URL."),
    "not_configured": lambda: _("This tenant has no complete IES credentials yet (token and bearer)."),
    "bad_url": lambda: _("The IES base URL is not valid."),
    "key_error": lambda: _("The stored token cannot be decrypted with the configured keys (TOKEN_ENCRYPTION_KEYS)."),
    "error": lambda: _("IES answered with an error."),
}


@staff_required
@require_POST
def tenant_check(request: SignedInRequest, pk: int) -> HttpResponse:
    tenant = selectors.tenant_get(pk=pk)
    result = services.tenant_connection_check(tenant=tenant, actor=request.user, request=request)
    if result.ok:
        messages.success(request, ngettext("Connection OK: IES lists %(count)s service for %(name)s.",
                                           "Connection OK: IES lists %(count)s services for %(name)s.",
                                           result.service_count or 0)
                         % {"count": result.service_count, "name": tenant.name})
    else:
        messages.error(request, CHECK_MESSAGES[result.outcome]())
    return redirect("staff:tenant_detail", pk=tenant.pk)


@staff_required
@require_POST
def tenant_member_add(request: SignedInRequest, pk: int) -> HttpResponse:
    tenant = selectors.tenant_get(pk=pk)
    form = MembershipForTenantForm(request.POST)
    if form.is_valid():
        services.membership_add(user=form.cleaned_data["user"], tenant=tenant, role=form.cleaned_data["role"],
                                actor=request.user, request=request)
        messages.success(request, _("%(user)s added to %(tenant)s.")
                         % {"user": form.cleaned_data["username"], "tenant": tenant.name})
        return redirect("staff:tenant_detail", pk=tenant.pk)
    return render(request, "staff/tenant_detail.html", {
        "tenant": tenant, "memberships": selectors.tenant_memberships(tenant=tenant), "member_form": form,
        "roles": Role.choices,
    }, status=400)


@staff_required
@require_POST
def see_as_start(request: SignedInRequest, pk: int) -> HttpResponse:
    tenant = selectors.tenant_get(pk=pk)
    services.see_as_start(request=request, tenant=tenant)
    return redirect("services:list")


@staff_required
@require_POST
def see_as_stop(request: SignedInRequest) -> HttpResponse:
    tenant = services.see_as_stop(request=request)
    if tenant is not None:
        return redirect("staff:tenant_detail", pk=tenant.pk)
    return redirect("staff:tenant_list")


# -- users and memberships -------------------------------------------------------------------------


@staff_required
@require_GET
def user_list(request: SignedInRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:150]
    status = request.GET.get("status", "")
    return render(request, "staff/user_list.html", {
        "users": selectors.user_list(query=query, status=status), "q": query, "status": status,
    })


def _password_shown_once(request: SignedInRequest, user: User, password: str) -> HttpResponse:
    """The generated password, in this response only: never in a message, the session or a log."""
    response = render(request, "staff/user_password_done.html", {"subject": user, "password": password})
    response["Cache-Control"] = "no-store"
    return response


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def user_create(request: SignedInRequest) -> HttpResponse:
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or services.generate_password()
        user = services.user_create(actor=request.user, request=request, username=data["username"],
                                    email=data["email"], is_staff=data["is_staff"], password=password)
        if data["tenant"]:
            services.membership_add(user=user, tenant=data["tenant"], role=data["role"], actor=request.user,
                                    request=request)
        if data["generate"]:
            return _password_shown_once(request, user, password)
        messages.success(request, _("User %(name)s created.") % {"name": user.get_username()})
        return redirect("staff:user_detail", pk=user.pk)
    return render(request, "staff/user_form.html", {"form": form}, status=400 if form.is_bound else 200)


@staff_required
@require_GET
def user_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    subject = selectors.user_get(pk=pk)
    return render(request, "staff/user_detail.html", {
        "subject": subject,
        "memberships": selectors.user_memberships(user=subject),
        "membership_form": MembershipForUserForm(tenants=selectors.tenants_without(user=subject)),
        "roles": Role.choices,
        "lockout": selectors.lockout_for_user(user=subject),
        "two_factor": twofactor_selectors.totp_device_for(user=subject),
    })


@staff_required
@require_POST
def user_two_factor_reset(request: SignedInRequest, pk: int) -> HttpResponse:
    """Delete the user's second factor (a lost phone): they enrol again when it is required of them."""
    subject = selectors.user_get(pk=pk)
    if twofactor_services.two_factor_reset(user=subject, actor=request.user, request=request):
        messages.success(request, _("Two-factor authentication of %(name)s was reset.")
                         % {"name": subject.get_username()})
    else:
        messages.info(request, _("%(name)s had no two-factor authentication to reset.")
                      % {"name": subject.get_username()})
    return redirect("staff:user_detail", pk=subject.pk)


@staff_required
@require_POST
def user_active(request: SignedInRequest, pk: int) -> HttpResponse:
    subject = selectors.user_get(pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(user=subject, active=active, actor=request.user, request=request)
    except ValueError:
        messages.error(request, _("You cannot disable your own account."))
    else:
        if active:
            messages.success(request, _("%(name)s can log in again.") % {"name": subject.get_username()})
        else:
            messages.success(request, _("%(name)s is disabled and logged out.") % {"name": subject.get_username()})
    return redirect(_next_or(request, reverse("staff:user_detail", kwargs={"pk": subject.pk})))


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def user_password(request: SignedInRequest, pk: int) -> HttpResponse:
    subject = selectors.user_get(pk=pk)
    form = PasswordResetForm(request.POST if request.method == "POST" else None, user=subject)
    if request.method == "POST" and form.is_valid():
        password = services.user_password_reset(user=subject, actor=request.user, request=request,
                                                password=form.cleaned_data["password"])
        if form.cleaned_data["generate"]:
            return _password_shown_once(request, subject, password)
        messages.success(request, _("The password of %(name)s was changed.") % {"name": subject.get_username()})
        return redirect("staff:user_detail", pk=subject.pk)
    return render(request, "staff/user_password.html", {"form": form, "subject": subject},
                  status=400 if form.is_bound else 200)


@staff_required
@require_POST
def user_membership_add(request: SignedInRequest, pk: int) -> HttpResponse:
    subject = selectors.user_get(pk=pk)
    form = MembershipForUserForm(request.POST, tenants=selectors.tenants_without(user=subject))
    if form.is_valid():
        services.membership_add(user=subject, tenant=form.cleaned_data["tenant"], role=form.cleaned_data["role"],
                                actor=request.user, request=request)
        messages.success(request, _("%(user)s added to %(tenant)s.")
                         % {"user": subject.get_username(), "tenant": form.cleaned_data["tenant"].name})
        return redirect("staff:user_detail", pk=subject.pk)
    return render(request, "staff/user_detail.html", {
        "subject": subject, "memberships": selectors.user_memberships(user=subject), "membership_form": form,
        "roles": Role.choices, "two_factor": twofactor_selectors.totp_device_for(user=subject),
    }, status=400)


@staff_required
@require_POST
def membership_role(request: SignedInRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get(pk=pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        services.membership_set_role(membership=membership, role=form.cleaned_data["role"], actor=request.user,
                                     request=request)
        messages.success(request, _("Role of %(user)s in %(tenant)s: %(role)s.") % {
            "user": membership.user.get_username(), "tenant": membership.tenant.name,
            "role": membership.get_role_display()})
    else:
        messages.error(request, _("Choose a role."))
    return redirect(_next_or(request, reverse("staff:user_detail", kwargs={"pk": membership.user_id})))


@staff_required
@require_POST
def membership_remove(request: SignedInRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get(pk=pk)
    user_id, username, tenant_name = membership.user_id, membership.user.get_username(), membership.tenant.name
    services.membership_remove(membership=membership, actor=request.user, request=request)
    messages.success(request, _("%(user)s removed from %(tenant)s.") % {"user": username, "tenant": tenant_name})
    return redirect(_next_or(request, reverse("staff:user_detail", kwargs={"pk": user_id})))


# -- login lockouts --------------------------------------------------------------------------------


@staff_required
@require_GET
def lockout_list(request: SignedInRequest) -> HttpResponse:
    return render(request, "staff/lockouts.html", {"lockouts": selectors.lockout_list()})


@staff_required
@require_POST
def lockout_clear(request: SignedInRequest) -> HttpResponse:
    scope, key = request.POST.get("scope", ""), request.POST.get("key", "").strip()[:255]
    if scope not in (ACCOUNT, ADDRESS) or not key:
        messages.error(request, _("Choose a lockout to lift."))
    elif services.lockout_clear(scope=scope, key=key, actor=request.user, request=request):
        messages.success(request, _("%(name)s can log in again.") % {"name": key})
    else:
        messages.info(request, _("%(name)s was not locked out.") % {"name": key})
    return redirect(_next_or(request, reverse("staff:lockout_list")))


# -- import and export -----------------------------------------------------------------------------


def _stored_import(request: SignedInRequest) -> dict | None:
    stored = request.session.get(SESSION_IMPORT_KEY)
    if not stored or time.time() - stored.get("created", 0) > IMPORT_TTL_SECONDS:
        request.session.pop(SESSION_IMPORT_KEY, None)
        return None
    return stored


@staff_required
@require_http_methods(["GET", "POST"])
def import_upload(request: SignedInRequest) -> HttpResponse:
    form = ImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    context: dict = {"form": form, "limits": {"rows": read.MAX_ROWS,
                                              "mb": read.MAX_UPLOAD_BYTES // (1024 * 1024)}}
    if request.method != "POST":
        return render(request, "staff/import_upload.html", context)
    if not form.is_valid():
        return render(request, "staff/import_upload.html", context, status=400)
    upload = form.cleaned_data["file"]
    name = upload.name if upload else _("pasted table")
    try:
        if upload:
            table = read.read_upload(name=name, data=upload.read(read.MAX_UPLOAD_BYTES + 1))
        else:
            table = read.read_pasted(form.cleaned_data["text"])
        parsed = parse.parse_table(table)
    except SheetError as exc:
        audit_record(action="import.preview", request=request, outcome=Outcome.REFUSED, object_label=name[:255],
                     message=str(exc)[:1000])
        context["sheet_error"] = str(exc)
        return render(request, "staff/import_upload.html", context, status=400)
    if parsed.errors:
        audit_record(action="import.preview", request=request, outcome=Outcome.REFUSED, object_label=name[:255],
                     message=f"{len(parsed.errors)} errors in the file")
        context.update(errors=parsed.errors, filename=name)
        return render(request, "staff/import_upload.html", context, status=400)
    request.session[SESSION_IMPORT_KEY] = {
        "id": uuid.uuid4().hex, "filename": name[:255], "created": time.time(),
        "rows": rows_to_session(parsed.rows), "columns": list(parsed.columns),
    }
    return redirect("staff:import_preview")


@staff_required
@require_GET
def import_preview(request: SignedInRequest) -> HttpResponse:
    stored = _stored_import(request)
    if stored is None:
        messages.error(request, _("There is no import waiting (or it expired): upload the file again."))
        return redirect("staff:import_upload")
    plan = build_plan(rows_from_session(stored["rows"]))
    return render(request, "staff/import_preview.html", {
        "plan": plan, "summary": plan.summary, "import_id": stored["id"], "filename": stored["filename"],
        "columns": stored["columns"], "losing": plan.tenants_losing_credentials,
    })


@staff_required
@require_POST
def import_apply(request: SignedInRequest) -> HttpResponse:
    stored = _stored_import(request)
    if stored is None or request.POST.get("import_id") != stored["id"]:
        messages.error(request, _("There is no import waiting (or it expired): upload the file again."))
        return redirect("staff:import_upload")
    new_user_password = services.generate_password()
    try:
        plan = services.import_apply(rows=rows_from_session(stored["rows"]), actor=request.user,
                                     request=request, filename=stored["filename"],
                                     expected_digest=request.POST.get("digest", ""),
                                     new_user_password=new_user_password,
                                     replace_credentials_of=request.POST.getlist("replace"))
    except PlanChanged:
        messages.error(request, _("Tenants or users changed since the preview: check the new preview, "
                                  "then apply again. Nothing was changed."))
        return redirect("staff:import_preview")
    request.session.pop(SESSION_IMPORT_KEY, None)
    summary = plan.summary
    messages.success(request, _(
        "Import applied: %(tc)s tenants created, %(tu)s updated; %(uc)s users created; "
        "%(mc)s memberships created, %(mu)s changed.") % {
        "tc": summary["tenants"]["create"], "tu": summary["tenants"]["update"], "uc": summary["users"]["create"],
        "mc": summary["memberships"]["create"], "mu": summary["memberships"]["update"]})
    kept = build_plan(rows_from_session(stored["rows"])).tenants_losing_credentials
    if kept:
        messages.info(request, _("Stored token kept (Replace not ticked): %(tenants)s.")
                      % {"tenants": ", ".join(kept)})
    if summary["users"]["create"]:
        created = list(dict.fromkeys(change.username for step in plan.rows for change in step.users
                                     if change.user == CREATE))
        response = render(request, "staff/import_done.html", {"password": new_user_password, "usernames": created})
        response["Cache-Control"] = "no-store"  # a password page must not linger in a cache
        return response
    return redirect("staff:tenant_list")


@staff_required
@require_POST
def import_cancel(request: SignedInRequest) -> HttpResponse:
    request.session.pop(SESSION_IMPORT_KEY, None)
    messages.info(request, _("Import cancelled: nothing was changed."))
    return redirect("staff:import_upload")


def _export(request: SignedInRequest, kind: str) -> HttpResponse:
    table = export.export_table(language=request.LANGUAGE_CODE or "en")
    audit_record(action="tenants.export", request=request, outcome=Outcome.SUCCEEDED,
                 message=f"{kind}, {len(table) - 1} rows")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if kind == "xlsx":
        response = HttpResponse(export.export_xlsx(table),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(export.export_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="portal-presets-{stamp}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response


@staff_required
@require_GET
def export_csv(request: SignedInRequest) -> HttpResponse:
    return _export(request, "csv")


@staff_required
@require_GET
def export_xlsx(request: SignedInRequest) -> HttpResponse:
    return _export(request, "xlsx")


# -- API tokens ------------------------------------------------------------------------------------


@staff_required
@require_safe
def api_token_list(request: SignedInRequest) -> HttpResponse:
    """Every member's API tokens, newest first, filtered by tenant, user, token name or prefix."""
    query = request.GET.get("q", "").strip()[:150]
    tokens = token_list_for_staff()
    if query:
        tokens = tokens.filter(Q(tenant__name__icontains=query) | Q(user__username__icontains=query)
                               | Q(name__icontains=query) | Q(prefix__istartswith=query))
    page = Paginator(tokens, API_TOKENS_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_states(list(page.object_list), timezone.now())
    return render(request, "staff/api_tokens.html", {"page": page, "q": query})


@staff_required
@require_POST
def api_token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    token = token_list_for_staff().filter(pk=pk).first()
    if token is None:
        raise Http404("no such token")
    if token_revoke(token=token, by=request.user, request=request):
        messages.success(request, _("Token “%(name)s” of %(user)s revoked: it no longer works.")
                         % {"name": token.name, "user": token.user.get_username()})
    else:
        messages.info(request, _("Token “%(name)s” was revoked already.") % {"name": token.name})
    return redirect(_next_or(request, reverse("staff:api_token_list")))
