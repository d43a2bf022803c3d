"""Forms of the staff pages. Secrets are write-only: PasswordInput(render_value=False) everywhere, so
that not even a form shown again after a validation error carries a token back to the browser."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ies_client.client import normalise_base_url
from portal.core.natural import natural_sorted
from portal.staff.importing.columns import KINDS
from portal.staff.importing.parse import check_cell
from portal.staff.importing.read import MAX_UPLOAD_BYTES
from portal.tenants.models import Role, Scenario, Tenant

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_SECRET_CHARS = 8192
_ONE_WORD = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no space: what goes into an HTTP header
# The portal's stylesheet makes inputs full width; a checkbox sits next to its label instead.
CHECKBOX_ATTRS = {"style": "width:auto;margin:0 8px 0 0;vertical-align:middle"}


def _secret_field(label: StrOrPromise, help_text: StrOrPromise = "") -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=MAX_SECRET_CHARS, help_text=help_text,
                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))


def _clean_secret(value: str) -> str:
    if value and not _ONE_WORD.match(value):
        raise forms.ValidationError(_("Paste the value as one word, without spaces or line breaks."))
    return value


class TenantForm(forms.ModelForm):
    """A tenant's plain fields; on creation also its first token and bearer."""

    scenarios = forms.MultipleChoiceField(label=_("Supported scenarios"), choices=Scenario.choices,
                                          required=False,
                                          widget=forms.CheckboxSelectMultiple(attrs=CHECKBOX_ATTRS))
    ref_kind = forms.ChoiceField(label=_("Reference service kind"), required=False,
                                 choices=[("", "—"), *((v, v) for v in KINDS.values())])

    class Meta:
        model = Tenant
        fields = ["name", "ies_base_url", "ies_tenant_id", "scenarios", "is_active", "require_two_factor",
                  "require_sso", "sso_member_group", "sso_viewer_group", "ref_kind", "ref_service_id",
                  "ref_service_name", "ref_cloud_vpn_name"]
        help_texts = {"ies_tenant_id": _("Optional: sent as X-Tenant-Id when IES needs it.")}
        widgets = {"is_active": forms.CheckboxInput(attrs=CHECKBOX_ATTRS),
                   "require_two_factor": forms.CheckboxInput(attrs=CHECKBOX_ATTRS),
                   "require_sso": forms.CheckboxInput(attrs=CHECKBOX_ATTRS)}

    def __init__(self, *args: Any, with_secrets: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ies_base_url"].help_text = _("Empty: the portal's default IES (%(url)s).") % {
            "url": settings.IES_BASE_URL}
        if with_secrets:
            self.fields["token"] = _secret_field(_("X-Auth-Token"), _("Stored encrypted; shown as its last 4 "
                                                                      "characters only."))
            self.fields["bearer"] = _secret_field(_("Bearer"))

    def clean_sso_member_group(self) -> str:
        return self.cleaned_data["sso_member_group"].strip()

    def clean_sso_viewer_group(self) -> str:
        return self.cleaned_data["sso_viewer_group"].strip()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", name):
            raise forms.ValidationError(_("Letters, digits, _ . - only, starting with a letter or digit."))
        return name

    def clean_ies_base_url(self) -> str:
        url = self.cleaned_data["ies_base_url"].strip()
        if not url:
            return ""
        try:
            url = normalise_base_url(url)
        except ValueError:
            raise forms.ValidationError(_("The IES base URL starts with http:// or https:// and ends in /rest "
                                          "(e.g. https://ies.example:17100/rest).")) from None
        if settings.IES_REQUIRE_HTTPS and not url.lower().startswith("https://"):
            raise forms.ValidationError(_("Only an https:// address is accepted: every call to IES carries the "
                                          "tenant's token (e.g. https://ies.example:17100/rest)."))
        return url

    def clean_token(self) -> str:
        return _clean_secret(self.cleaned_data.get("token", ""))

    def clean_bearer(self) -> str:
        return _clean_secret(self.cleaned_data.get("bearer", ""))

    def _clean_reference(self, name: str, column: str) -> str:
        # The same rule as the spreadsheet import, so that whatever is entered here exports and
        # imports back unchanged (and never reaches a spreadsheet as a formula).
        value = (self.cleaned_data.get(name) or "").strip()
        problem = check_cell(column, value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_ref_service_id(self) -> str:
        return self._clean_reference("ref_service_id", "service_id")

    def clean_ref_service_name(self) -> str:
        return self._clean_reference("ref_service_name", "service_name")

    def clean_ref_cloud_vpn_name(self) -> str:
        return self._clean_reference("ref_cloud_vpn_name", "cloud_vpn_name")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        member, viewer = data.get("sso_member_group"), data.get("sso_viewer_group")
        if member and viewer and member == viewer:
            self.add_error("sso_viewer_group", _("Use another group than the members' one: one group gives one "
                                                 "role."))
        if "token" in self.fields and bool(data.get("token")) != bool(data.get("bearer")):
            raise forms.ValidationError(_("Enter both the token and the bearer, or neither (add them later)."))
        return data

    def tenant_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CredentialsForm(forms.Form):
    """Replace the token and/or the bearer; an empty field keeps what is stored."""

    token = _secret_field(_("New X-Auth-Token"), _("Leave empty to keep the current token."))
    bearer = _secret_field(_("New bearer"), _("Leave empty to keep the current bearer."))

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_token(self) -> str:
        return _clean_secret(self.cleaned_data.get("token", ""))

    def clean_bearer(self) -> str:
        return _clean_secret(self.cleaned_data.get("bearer", ""))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        token, bearer = data.get("token"), data.get("bearer")
        if not token and not bearer and not self.errors:
            raise forms.ValidationError(_("Enter a new token, a new bearer, or both."))
        if (token or self.tenant.token_encrypted) and not (bearer or self.tenant.bearer_encrypted):
            raise forms.ValidationError(_("This tenant has no bearer yet: enter it too."))
        if (bearer or self.tenant.bearer_encrypted) and not (token or self.tenant.token_encrypted):
            raise forms.ValidationError(_("This tenant has no token yet: enter it too."))
        return data


class PasswordChoiceMixin(forms.Form):
    """Either the admin types a new password (twice) or the portal generates one, shown once."""

    generate = forms.BooleanField(label=_("Generate a password"), required=False, initial=True,
                                  widget=forms.CheckboxInput(attrs=CHECKBOX_ATTRS))
    password1 = forms.CharField(label=_("New password"), required=False, strip=False,
                                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("New password again"), required=False, strip=False,
                                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))

    password_user: User | None = None  # the user the password is for (similarity check)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("generate"):
            data["password"] = None
            return data
        first, second = data.get("password1"), data.get("password2")
        if not first:
            self.add_error("password1", _("Enter a password, or tick “Generate a password”."))
        elif first != second:
            self.add_error("password2", _("The two passwords differ."))
        else:
            try:
                password_validation.validate_password(first, self.password_user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        data["password"] = first
        return data


class PasswordResetForm(PasswordChoiceMixin):
    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.password_user = user


class UserCreateForm(PasswordChoiceMixin):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    is_staff = forms.BooleanField(label=_("Portal administrator (staff)"), required=False,
                                  widget=forms.CheckboxInput(attrs=CHECKBOX_ATTRS))
    tenant = forms.ModelChoiceField(label=_("Tenant"), queryset=Tenant.objects.order_by("name"), required=False,
                                    empty_label=_("— none yet —"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)

    field_order = ["username", "email", "is_staff", "tenant", "role", "generate", "password1", "password2"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        user_model = get_user_model()
        user_model.username_validator(username)
        if user_model.objects.filter(username=username).exists():
            raise forms.ValidationError(_("A user with this name exists already."))
        return username

    def clean(self) -> dict[str, Any]:
        self.password_user = get_user_model()(username=self.cleaned_data.get("username", ""),
                                              email=self.cleaned_data.get("email", ""))
        return super().clean()


class MembershipForUserForm(forms.Form):
    """Add the user to a tenant (on the user's page)."""

    tenant = forms.ModelChoiceField(label=_("Tenant"), queryset=Tenant.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args: Any, tenants: QuerySet[Tenant], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Tenant]", self.fields["tenant"])
        field.queryset = tenants
        # The queryset validates; the menu lists the tenants the way people count (nbitest_9, nbitest_11).
        field.choices = [("", field.empty_label), *((t.pk, str(t)) for t in natural_sorted(tenants, key=str))]


class MembershipForTenantForm(forms.Form):
    """Add a user to the tenant (on the tenant's page), by user name."""

    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(_("No user has this name."))
        self.cleaned_data["user"] = user
        return username


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class _WriteOnlyTextarea(forms.Textarea):
    def format_value(self, value: Any) -> None:
        return None


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"), required=False,
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))
    # Tokens may be in it: a form shown again after an error never carries it back to the browser.
    text = forms.CharField(
        label=_("…or paste the table"), required=False, strip=False, max_length=MAX_UPLOAD_BYTES,
        help_text=_("Copy the table from the deck's slide or from a spreadsheet, header row included, and "
                    "paste it here."),
        widget=_WriteOnlyTextarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}))

    def clean_file(self) -> UploadedFile | None:
        upload = self.cleaned_data["file"]
        if not upload:
            return upload
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)s MB: too large to import.")
                                        % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an .xlsx or a .csv file."))
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        has_file, has_text = bool(cleaned.get("file")), bool((cleaned.get("text") or "").strip())
        if not self.errors and has_file == has_text:
            raise forms.ValidationError(
                _("Choose a file or paste the table, not both.") if has_file
                else _("Choose a file or paste the table."))
        return cleaned
