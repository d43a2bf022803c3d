"""Built-in knowledge of the Site2DC and Site2Site template parameters.

OPEN-O sends no parameter schema with a template, so a real IES may not either. When a definition's
detail carries none, the client falls back to these fields (and flags the detail
``schema_from_ies=False``). They follow the deck's create body and the simulator's contract
(docs/ies-simulator.md, "Catalog"; the simulator's ``catalog.py`` settles what the contract leaves
ambiguous: the B side of a Site2Site is ``CPE_B_*``), the best description of IES's templates we have.
"""

from __future__ import annotations

from ies_client.models import ParameterField, ServiceKind

__all__ = ["SITE2DC_FIELDS", "SITE2SITE_FIELDS", "fields_for"]

_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
CPE_TYPES = ("AR169FGW-L", "AR161FGW-L", "AR1220E", "AR2220E")


def _name(name: str, help: str, *, required: bool = False) -> ParameterField:
    """Names (connection, sites, positions, POPs): 1–64 characters ``[A-Za-z0-9_-]``."""
    return ParameterField(
        name=name, type="string", required=required, help=help, pattern=_NAME_PATTERN, min_length=1,
        max_length=64,
    )


def _cpe(side: str) -> tuple[ParameterField, ...]:
    """The five fields of one customer-premises router (CPE): the deck names them ``CPE_A_*``;
    the second site of a Site2Site is ``CPE_B_*``."""
    prefix = f"CPE_{side}_"
    return (
        _name(prefix + "Site", f"Site name of CPE {side}."),
        ParameterField(
            name=prefix + "Type", type="enum", help=f"Model of CPE {side}.", default=CPE_TYPES[0], choices=CPE_TYPES
        ),
        ParameterField(
            name=prefix + "ESN", type="string",
            help=f"Equipment serial number of CPE {side}: 20 characters, digits and capitals.",
            pattern=r"^[0-9A-Z]{20}$", min_length=20, max_length=20,
        ),
        _name(prefix + "Position", f"Position (site) where CPE {side} is installed."),
        _name(prefix + "POP", f"Point of presence CPE {side} attaches to."),
    )


def _subnet(cidr: str, size: str, what: str) -> tuple[ParameterField, ...]:
    return (
        ParameterField(name=cidr, type="ipv4", help=f"Address of the {what} subnet (dotted quad)."),
        ParameterField(
            name=size, type="integer", help=f"Prefix length of the {what} subnet.", default="24", min=8, max=30
        ),
    )


# The deck: "CloudVpnName and Bandwidth are required"; the rest IES fills or checks when given.
_CLOUD_VPN_NAME = _name("CloudVpnName", "Name of the VPN connection; identifies it in monitoring.", required=True)
_VNI = ParameterField(name="VNI", type="integer", help="VXLAN network identifier.", min=1, max=16_777_215)
_BANDWIDTH = ParameterField(
    name="Bandwidth", type="integer", required=True, help="Bandwidth of the connection.", unit="kbit/s",
    min=1000, max=10_000_000, step=1000,
)

SITE2DC_FIELDS: tuple[ParameterField, ...] = (
    ParameterField(name="VPC_ID", type="uuid", help="Id of the cloud VPC the site connects to."),
    _CLOUD_VPN_NAME,
    _VNI,
    *_cpe("A"),
    _BANDWIDTH,
    *_subnet("cidr", "cidrBlockSize", "site"),
)

SITE2SITE_FIELDS: tuple[ParameterField, ...] = (
    _CLOUD_VPN_NAME,
    _VNI,
    _BANDWIDTH,
    *_cpe("A"),
    *_subnet("cidr_A", "cidrBlockSize_A", "site A"),
    *_cpe("B"),
    *_subnet("cidr_B", "cidrBlockSize_B", "site B"),
)


def fields_for(kind: ServiceKind | None) -> tuple[ParameterField, ...]:
    """The built-in fields of a service kind; () for a kind the portal does not know."""
    if kind is ServiceKind.SITE2DC:
        return SITE2DC_FIELDS
    if kind is ServiceKind.SITE2SITE:
        return SITE2SITE_FIELDS
    return ()
