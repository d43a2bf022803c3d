"""The client of Huawei CloudOpera IES (and of its simulator).

The names below are re-exported lazily (PEP 562): importing the package, as Django does for an
installed app and ``python -m ies_client.simulator`` does for its parent, loads neither requests nor
the client. Nothing in this package but ``apps.py`` and ``management/`` imports Django.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "IESClient": "ies_client.client",
    "client_for": "ies_client.client",
    "IESCredentials": "ies_client.models",
    "ServiceKind": "ies_client.models",
    "ServiceStatus": "ies_client.models",
    "ActiveStatus": "ies_client.models",
    "OperationKind": "ies_client.models",
    "OperationResult": "ies_client.models",
    "Metric": "ies_client.models",
    "Direction": "ies_client.models",
    "ParameterRole": "ies_client.models",
    "ServiceDefinition": "ies_client.models",
    "ServiceDefinitionDetail": "ies_client.models",
    "ParameterField": "ies_client.models",
    "Service": "ies_client.models",
    "Operation": "ies_client.models",
    "OperationRef": "ies_client.models",
    "TrafficSeries": "ies_client.models",
    "IESError": "ies_client.errors",
    "IESAuthError": "ies_client.errors",
    "IESNotFound": "ies_client.errors",
    "IESValidationError": "ies_client.errors",
    "IESConflict": "ies_client.errors",
    "IESServerError": "ies_client.errors",
    "IESUnavailable": "ies_client.errors",
    "IESCircuitOpen": "ies_client.errors",
    "IESProtocolError": "ies_client.errors",
    "RedactSecretsFilter": "ies_client.redact",
    "register_secret": "ies_client.redact",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ies_client.client import IESClient, client_for  # noqa: F401
    from ies_client.errors import (  # noqa: F401
        IESAuthError,
        IESCircuitOpen,
        IESConflict,
        IESError,
        IESNotFound,
        IESProtocolError,
        IESServerError,
        IESUnavailable,
        IESValidationError,
    )
    from ies_client.models import (  # noqa: F401
        ActiveStatus,
        Direction,
        IESCredentials,
        Metric,
        Operation,
        OperationKind,
        OperationRef,
        OperationResult,
        ParameterField,
        ParameterRole,
        Service,
        ServiceDefinition,
        ServiceDefinitionDetail,
        ServiceKind,
        ServiceStatus,
        TrafficSeries,
    )
    from ies_client.redact import RedactSecretsFilter, register_secret  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ies_client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
