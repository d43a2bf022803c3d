"""The creation wizard's parameter form, built from a definition's parameter schema.

Every field is checked here first, with messages that say what is wrong and how to fix it; IES
checks again, and whatever it still rejects is put back on the field it named.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ies_client import models as ies
from portal.core.bandwidth_input import BandwidthField, DescribedAmountMixin, separators
from portal.core.units import format_kbps

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SERVICE_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Role = ies.ParameterRole

# Labels a person reads, for the fields IES names in its own way: by the field's role, and for a
# field of one site of two (a CPE, a subnet) by its role and side. ies_client knows the names.
FIELD_LABELS = {
    Role.VPC_ID: _("VPC id"),
    Role.CONNECTION_NAME: _("CloudVpnName (connection name)"),
    Role.VNI: _("VNI (VXLAN id)"),
    Role.BANDWIDTH: _("Bandwidth"),
    Role.SUBNET_ADDRESS: _("Site subnet address"),
    Role.SUBNET_PREFIX: _("Site subnet prefix length"),
}
SIDE_LABELS = {
    Role.CPE_SITE: _("CPE %(side)s site"),
    Role.CPE_MODEL: _("CPE %(side)s model"),
    Role.SERIAL_NUMBER: _("CPE %(side)s serial number (ESN)"),
    Role.CPE_POSITION: _("CPE %(side)s position"),
    Role.CPE_POP: _("CPE %(side)s POP"),
    Role.SUBNET_ADDRESS: _("Site %(side)s subnet address"),
    Role.SUBNET_PREFIX: _("Site %(side)s subnet prefix length"),
}


# What the portal says about the fields it knows, in the reader's language. IES's own help is English
# and terse; it is shown only for a field the portal does not know.
FIELD_HELP = {
    Role.VPC_ID: _("Id of the cloud VPC the site connects to, a UUID."),
    Role.CONNECTION_NAME: _("Names the VPN connection; monitoring and the traffic charts show it. "
                            "Letters, digits, “_” and “-”."),
    Role.VNI: _("VXLAN network identifier of the connection."),
    Role.BANDWIDTH: _("The connection's bandwidth: type a number and choose its unit."),
    Role.SUBNET_ADDRESS: _("Address of the site's subnet, e.g. 192.168.10.0."),
    Role.SUBNET_PREFIX: _("Prefix length of the site's subnet, e.g. 24 for a /24."),
}
SIDE_HELP = {
    Role.CPE_SITE: _("Name of the site where CPE %(side)s stands. Letters, digits, “_” and “-”."),
    Role.CPE_MODEL: _("Router model of CPE %(side)s."),
    Role.SERIAL_NUMBER: _("Equipment serial number of CPE %(side)s, on the device's label: digits and capital letters."),
    Role.CPE_POSITION: _("Where CPE %(side)s is installed within its site. Letters, digits, “_” and “-”."),
    Role.CPE_POP: _("Point of presence CPE %(side)s attaches to. Letters, digits, “_” and “-”."),
    Role.SUBNET_ADDRESS: _("Address of site %(side)s's subnet, e.g. 192.168.10.0."),
    Role.SUBNET_PREFIX: _("Prefix length of site %(side)s's subnet, e.g. 24 for a /24."),
}


def field_label(spec: ies.ParameterField) -> StrOrPromise:
    """The field's label: the portal's words for a role it knows, else IES's name of the field."""
    if spec.side is None and spec.role in FIELD_LABELS:
        return FIELD_LABELS[spec.role]
    if spec.side is not None and spec.role in SIDE_LABELS:
        return SIDE_LABELS[spec.role] % {"side": spec.side}
    return spec.name


def _known_help(spec: ies.ParameterField) -> str | None:
    if spec.side is None and spec.role in FIELD_HELP:
        return str(FIELD_HELP[spec.role])
    if spec.side is not None and spec.role in SIDE_HELP:
        return SIDE_HELP[spec.role] % {"side": spec.side}
    return None


def length_phrase(min_length: int | None, max_length: int | None) -> str:
    """'exactly 20 characters', '1 to 64 characters', 'at least 8 characters' or ''."""
    if max_length is None:
        if not min_length:
            return ""
        return ngettext("at least %(n)s character", "at least %(n)s characters", min_length) % {"n": min_length}
    if min_length == max_length:
        return ngettext("exactly %(n)s character", "exactly %(n)s characters", max_length) % {"n": max_length}
    return ngettext("%(min)s to %(max)s character", "%(min)s to %(max)s characters", max_length) % {
        "min": min_length or 1, "max": max_length}


def allowed_values(spec: ies.ParameterField) -> str:
    """What a field accepts, in words: the catalog's "Allowed values" column and the wizard's help."""
    if spec.in_kbps and spec.min is not None and spec.max is not None:
        text = _("%(min)s to %(max)s") % {"min": format_kbps(spec.min), "max": format_kbps(spec.max)}
        if spec.step:
            text = _("%(range)s, in steps of %(step)s") % {"range": text, "step": format_kbps(spec.step)}
        return text
    if spec.min is not None and spec.max is not None:
        if spec.min == spec.max:
            return _("exactly %(n)s") % {"n": spec.min}
        return _("%(min)s to %(max)s") % {"min": spec.min, "max": spec.max}
    if spec.min is not None:
        return _("%(min)s or more") % {"min": spec.min}
    if spec.max is not None:
        return _("%(max)s or less") % {"max": spec.max}
    if spec.choices:
        return ", ".join(spec.choices)
    if spec.max_length or spec.min_length:
        return length_phrase(spec.min_length, spec.max_length)
    if spec.type == "ipv4":
        return str(_("an IPv4 address"))
    if spec.type == "uuid":
        return str(_("a UUID"))
    return ""


def field_help(spec: ies.ParameterField, *, with_bounds: bool = True) -> str:
    """The help under a field: the portal's own words for a field it knows (translated), else IES's
    text; then, for numbers and lengths, the bounds the definition sets (the catalog shows those in
    a column of their own)."""
    text = _known_help(spec) or spec.help
    if not with_bounds or spec.choices or spec.type in ("ipv4", "uuid"):
        return text
    bounds = allowed_values(spec)
    if not bounds:
        return text
    bounds = _("Allowed: %(values)s.") % {"values": bounds}
    # Chinese runs sentences on without a space: the joint is the translator's.
    return _("%(help)s %(bounds)s") % {"help": text, "bounds": bounds} if text else bounds


def _pattern_message(spec: ies.ParameterField) -> StrOrPromise:
    if spec.role is Role.SERIAL_NUMBER:
        return _("A serial number is 20 characters: digits and capital letters, e.g. 21500102003GG3000704.")
    return _("Use letters, digits, “_” and “-” only, 1 to 64 characters.")


def form_field_for(spec: ies.ParameterField) -> forms.Field:
    label = field_label(spec)
    common: dict[str, Any] = {"label": label, "required": spec.required, "help_text": field_help(spec)}
    if spec.role is Role.BANDWIDTH or spec.in_kbps:
        return BandwidthField(minimum=spec.min, maximum=spec.max, step=spec.step, **common)
    if spec.type == "integer":
        return forms.IntegerField(
            # Django compares the value with any number; the stubs ask for an int bound.
            min_value=spec.min, max_value=spec.max,  # type: ignore[arg-type]
            error_messages={"invalid": _("Enter a whole number."),
                            "min_value": _("Enter %(limit_value)s or more."),
                            "max_value": _("Enter %(limit_value)s or less.")},
            **common,
        )
    if spec.type == "enum" and spec.choices:
        choices = [("", _("Choose…"))] if not spec.required else []
        return forms.ChoiceField(choices=choices + [(c, c) for c in spec.choices], **common)
    if spec.type == "ipv4":
        return forms.GenericIPAddressField(
            protocol="IPv4", error_messages={"invalid": _("Enter an IPv4 address such as 10.20.30.0.")}, **common
        )
    if spec.type == "uuid":
        return forms.UUIDField(error_messages={"invalid": _("Enter a UUID such as db79cd8b-91e2-43f8-9791-54b8b2181a70.")},
                               **common)
    validators = [RegexValidator(spec.pattern, _pattern_message(spec))] if spec.pattern else []
    # With a pattern its message already says the length: a second "at least N characters" is noise.
    return forms.CharField(min_length=None if spec.pattern else spec.min_length, max_length=spec.max_length,
                           validators=validators, strip=True, **common)


class OrderForm(DescribedAmountMixin, forms.Form):
    """Service name, description and the template's parameters of one definition."""

    # The page focuses the first refused field, which reads its error: no alert of its own
    # (templates/forms/field.html).
    quiet_field_errors = True

    service_name = forms.CharField(
        label=_("Service name"), max_length=255,
        help_text=_("Letters, digits, “.”, “_” and “-”; starts with a letter or digit."),
        validators=[RegexValidator(SERVICE_NAME_RE, _("Start with a letter or digit; then use letters, digits, “.”, “_” and “-” only."))],
    )
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, detail: ies.ServiceDefinitionDetail, names_in_use: Collection[str] = frozenset(),
                 service_names_in_use: Collection[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.detail = detail
        self.names_in_use = names_in_use
        self.service_names_in_use = service_names_in_use
        for spec in detail.fields:
            field = form_field_for(spec)
            if spec.default not in (None, "") and not self.is_bound:
                field.initial = int(spec.default) if spec.role is Role.BANDWIDTH else spec.default
            self.fields[spec.name] = field
        connection = detail.field_with_role(Role.CONNECTION_NAME)
        if connection is not None:
            # Django's per-field hook (clean_<name>), under whatever name IES gives the connection.
            setattr(self, f"clean_{connection.name}", partial(self._clean_connection_name, connection.name))

    def autofocus(self) -> str | None:
        """Give the page's focus to the first field IES or the form refused, else to the first field.

        A keyboard or screen-reader user then lands where there is something to do, and hears the
        field's error (aria-describedby) without searching for it. With only form-wide errors no field
        takes the focus: the page focuses the error summary instead. Returns the focused field's name.
        """
        if self.is_bound and self.errors:
            name = next((n for n in self.fields if n in self.errors), None)
        else:
            name = next(iter(self.fields), None)
        if name is None:
            return None
        widget = self.fields[name].widget
        # A number-and-unit field: the focus belongs to the amount box, not to both parts.
        target = widget.widgets[0] if isinstance(widget, forms.MultiWidget) else widget
        target.attrs["autofocus"] = True
        return name

    def parameter_names(self) -> list[str]:
        return [spec.name for spec in self.detail.fields]

    def clean_service_name(self) -> str:
        name = self.cleaned_data["service_name"]
        if name in self.service_names_in_use:
            raise ValidationError(_("This tenant already has a service called “%(name)s”. Choose another name."),
                                  params={"name": name})
        return name

    def _named(self, role: ies.ParameterRole, side: str | None = None) -> str | None:
        """The name of this definition's field that plays ``role`` (for ``side``), or None."""
        return next((f.name for f in self.detail.fields if f.role is role and f.side == side), None)

    def _clean_connection_name(self, key: str) -> str | None:
        name = self.cleaned_data.get(key)
        if name and name in self.names_in_use:
            raise ValidationError(_("This tenant already has a connection called “%(name)s”. Choose another name."),
                                  params={"name": name})
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for side in (None, "A", "B"):
            cidr_key, size_key = self._named(Role.SUBNET_ADDRESS, side), self._named(Role.SUBNET_PREFIX, side)
            if cidr_key:
                self._check_subnet(data, cidr_key, size_key)
        esn_a, esn_b = self._named(Role.SERIAL_NUMBER, "A"), self._named(Role.SERIAL_NUMBER, "B")
        if esn_a and esn_b:
            a, b = data.get(esn_a), data.get(esn_b)
            if a and b and a == b:
                self.add_error(esn_b, _("Site B needs its own CPE: this serial number is already site A's."))
        cidr_b = self._named(Role.SUBNET_ADDRESS, "B")
        net_a = self._network(data, self._named(Role.SUBNET_ADDRESS, "A"), self._named(Role.SUBNET_PREFIX, "A"))
        net_b = self._network(data, cidr_b, self._named(Role.SUBNET_PREFIX, "B"))
        if net_a and net_b and net_a.overlaps(net_b) and cidr_b not in self.errors:
            self.add_error(cidr_b, _("Site B's subnet %(b)s overlaps site A's %(a)s: the two sites need different subnets.")
                           % {"a": net_a, "b": net_b})
        return data

    @staticmethod
    def _network(data: Mapping[str, Any], cidr_key: str | None, size_key: str | None) -> ipaddress.IPv4Network | None:
        if not cidr_key or not size_key:
            return None
        address, size = data.get(cidr_key), data.get(size_key)
        if not address or size in (None, ""):
            return None
        try:
            return ipaddress.IPv4Network(f"{address}/{size}", strict=False)
        except ValueError:
            return None

    def _check_subnet(self, data: Mapping[str, Any], cidr_key: str, size_key: str | None) -> None:
        address = data.get(cidr_key)
        if not address:
            return
        ip = ipaddress.IPv4Address(address)
        if ip.is_loopback or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local:
            self.add_error(cidr_key, _("%(ip)s cannot be a site subnet (loopback, multicast, link-local or reserved).")
                           % {"ip": ip})
            return
        network = self._network(data, cidr_key, size_key)
        if network and network.prefixlen < 31 and ip == network.broadcast_address:
            self.add_error(cidr_key, _("%(ip)s is the broadcast address of %(net)s: use the network address %(first)s "
                                       "or a host address.") % {"ip": ip, "net": network, "first": network.network_address})

    def ies_parameters(self) -> dict[str, str]:
        """The template parameters as IES takes them: strings, empty ones left out."""
        out: dict[str, str] = {}
        for name in self.parameter_names():
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            out[name] = str(value)
        return out


class ReviewRow(NamedTuple):
    label: str
    value: str
    # What IES will receive, when it reads differently from the value: the bandwidth in kbit/s.
    exact: str = ""


def review_rows(form: OrderForm) -> list[ReviewRow]:
    """The parameters as the review shows them. The bandwidth reads as the person meant it and as IES
    takes it ("1 Gbit/s", "1,000,000 kbit/s"): a thousand-fold slip of the unit shows before ordering."""
    rows = []
    for name in form.parameter_names():
        value = form.cleaned_data.get(name)
        if value in (None, ""):
            continue
        label = str(form.fields[name].label)
        if isinstance(form.fields[name], BandwidthField):
            # Grouped as the bandwidth box reads amounts ("," in English and Chinese alike).
            grouped = f"{value:,}".replace(",", separators()[1])
            exact = _("%(kbps)s kbit/s") % {"kbps": grouped}
            rows.append(ReviewRow(label, format_kbps(value), exact))
        else:
            rows.append(ReviewRow(label, str(value)))
    return rows
