"""Where a webhook may be sent: only the URL the tenant entered, to a public address.

`resolve(url)` checks the scheme, resolves the host once and refuses it if any of its addresses is
loopback, link-local, private, multicast, reserved, unspecified or otherwise not global, unless
``settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` (local runs and tests). With the guard on, only https is
allowed. The caller then connects to the address returned (`delivery.py`), never resolving again, so
a DNS answer that changes between the check and the connection cannot point the request inward.
It is called when an endpoint is made and again before each attempt.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not be sent to; the message says why, for the person who entered it."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as entered (the Host header, the TLS server name and the certificate's name)
    port: int
    path: str  # path and query, never the fragment
    address: str  # the checked address to connect to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def guard_on() -> bool:
    return not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES


def allowed_schemes() -> tuple[str, ...]:
    return ("https",) if guard_on() else ("http", "https")


def address_refused(address: IPAddress) -> bool:
    """True for any address a webhook may not reach when the guard is on."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_link_local or address.is_private or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL the portal may send to, else UnsafeUrl."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(_("This is not a valid URL.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in allowed_schemes():
        if scheme == "http":
            raise UnsafeUrl(_("Webhook URLs must use https."))
        raise UnsafeUrl(_("Webhook URLs must start with https:// or http://."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(_("A webhook URL may not carry a user name or password."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl(_("This URL has no host name."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """The URL's target, its host resolved and checked; UnsafeUrl when it may not be sent to."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(_("The host name “%(host)s” could not be resolved.") % {"host": host}) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise UnsafeUrl(_("The host name “%(host)s” could not be resolved.") % {"host": host})
    if guard_on():
        refused = [a for a in addresses if address_refused(a)]
        if refused:
            raise UnsafeUrl(_("“%(host)s” resolves to %(address)s, a private or reserved address: webhooks are "
                              "only sent to public addresses.") % {"host": host, "address": refused[0]})
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
