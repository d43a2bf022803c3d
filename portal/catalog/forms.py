"""The creation wizard's parameter form, built from a definition's parameter schema.

Every field is checked here first, with messages that say what is wrong and how to fix it; IES
checks again, and whatever it still rejects is put back on the field it named.
"""

from __future__ import annotations

import ipaddress
import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from ies_client.models import ParameterField, ServiceDefinitionDetail
from portal.core.bandwidth import BandwidthField

SERVICE_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Labels a person reads, for the fields IES names in its own way.
FIELD_LABELS = {
    "VPC_ID": _("VPC id"),
    "CloudVpnName": _("CloudVpnName (connection name)"),
    "VNI": _("VNI (VXLAN id)"),
    "Bandwidth": _("Bandwidth"),
    "cidr": _("Site subnet address"),
    "cidrBlockSize": _("Site subnet prefix length"),
}
SIDE_LABELS = {
    "Site": _("CPE %(side)s site"),
    "Type": _("CPE %(side)s model"),
    "ESN": _("CPE %(side)s serial number (ESN)"),
    "Position": _("CPE %(side)s position"),
    "POP": _("CPE %(side)s POP"),
}


def field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    match = re.fullmatch(r"CPE_([AB])_(\w+)", name)
    if match and match.group(2) in SIDE_LABELS:
        return SIDE_LABELS[match.group(2)] % {"side": match.group(1)}
    match = re.fullmatch(r"(cidr|cidrBlockSize)_([AB])", name)
    if match:
        if match.group(1) == "cidr":
            return _("Site %(side)s subnet address") % {"side": match.group(2)}
        return _("Site %(side)s subnet prefix length") % {"side": match.group(2)}
    return name


def _pattern_message(spec: ParameterField) -> str:
    if spec.name.endswith("ESN"):
        return _("A serial number is 20 characters: digits and capital letters, e.g. 21500102003GG3000704.")
    return _("Use letters, digits, “_” and “-” only, 1 to 64 characters.")


def form_field_for(spec: ParameterField) -> forms.Field:
    label = field_label(spec.name)
    common = {"label": label, "required": spec.required, "help_text": spec.help}
    if spec.name == "Bandwidth" or spec.unit == "kbit/s":
        return BandwidthField(minimum=spec.min, maximum=spec.max, step=spec.step, **common)
    if spec.type == "integer":
        return forms.IntegerField(
            min_value=spec.min, max_value=spec.max,
            error_messages={"invalid": _("Enter a whole number."),
                            "min_value": _("Enter %(limit_value)s or more."),
                            "max_value": _("Enter %(limit_value)s or less.")},
            **common,
        )
    if spec.type == "enum" and spec.choices:
        choices = [("", "—")] if not spec.required else []
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


class OrderForm(forms.Form):
    """Service name, description and the template's parameters of one definition."""

    service_name = forms.CharField(
        label=_("Service name"), max_length=255,
        help_text=_("Letters, digits, “.”, “_” and “-”; starts with a letter or digit."),
        validators=[RegexValidator(SERVICE_NAME_RE, _("Start with a letter or digit; then use letters, digits, “.”, “_” and “-” only."))],
    )
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, detail: ServiceDefinitionDetail, names_in_use=frozenset(),
                 service_names_in_use=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.detail = detail
        self.names_in_use = names_in_use
        self.service_names_in_use = service_names_in_use
        for spec in detail.fields:
            field = form_field_for(spec)
            if spec.default not in (None, "") and not self.is_bound:
                field.initial = int(spec.default) if spec.name == "Bandwidth" else spec.default
            self.fields[spec.name] = field

    def parameter_names(self) -> list[str]:
        return [spec.name for spec in self.detail.fields]

    def clean_service_name(self):
        name = self.cleaned_data["service_name"]
        if name in self.service_names_in_use:
            raise ValidationError(_("This tenant already has a service called “%(name)s”. Choose another name."),
                                  params={"name": name})
        return name

    def clean_CloudVpnName(self):  # noqa: N802 - the IES field name
        name = self.cleaned_data.get("CloudVpnName")
        if name and name in self.names_in_use:
            raise ValidationError(_("This tenant already has a connection called “%(name)s”. Choose another name."),
                                  params={"name": name})
        return name

    def clean(self):
        data = super().clean()
        for cidr_key, size_key in (("cidr", "cidrBlockSize"), ("cidr_A", "cidrBlockSize_A"), ("cidr_B", "cidrBlockSize_B")):
            if cidr_key in self.fields:
                self._check_subnet(data, cidr_key, size_key)
        if "CPE_A_ESN" in self.fields and "CPE_B_ESN" in self.fields:
            a, b = data.get("CPE_A_ESN"), data.get("CPE_B_ESN")
            if a and b and a == b:
                self.add_error("CPE_B_ESN", _("Site B needs its own CPE: this serial number is already site A's."))
        net_a, net_b = self._network(data, "cidr_A", "cidrBlockSize_A"), self._network(data, "cidr_B", "cidrBlockSize_B")
        if net_a and net_b and net_a.overlaps(net_b) and "cidr_B" not in self.errors:
            self.add_error("cidr_B", _("Site B's subnet %(b)s overlaps site A's %(a)s: the two sites need different subnets.")
                           % {"a": net_a, "b": net_b})
        return data

    @staticmethod
    def _network(data, cidr_key, size_key) -> ipaddress.IPv4Network | None:
        address, size = data.get(cidr_key), data.get(size_key)
        if not address or size in (None, ""):
            return None
        try:
            return ipaddress.IPv4Network(f"{address}/{size}", strict=False)
        except ValueError:
            return None

    def _check_subnet(self, data, cidr_key, size_key) -> None:
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
