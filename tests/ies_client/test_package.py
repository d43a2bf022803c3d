"""The package's promises about imports: no Django in the client, nothing heavy on ``import ies_client``."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # a simulator or Python process of its own
def test_the_client_modules_import_no_django():
    result = _python(
        "import sys\n"
        "import ies_client.client, ies_client.errors, ies_client.models, ies_client.wire, ies_client.cli\n"
        "import ies_client.transport, ies_client.tracking, ies_client.redact, ies_client.known_fields\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'\n"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # a simulator or Python process of its own
def test_importing_the_package_is_lazy_and_the_names_resolve():
    result = _python(
        "import sys, ies_client\n"
        "assert 'requests' not in sys.modules and 'ies_client.client' not in sys.modules\n"
        "from ies_client import IESClient, IESCredentials, IESValidationError, client_for, RedactSecretsFilter\n"
        "assert IESClient.__module__ == 'ies_client.client'\n"
        "assert sorted(ies_client.__all__) == ies_client.__all__\n"
        "for name in ies_client.__all__: getattr(ies_client, name)\n"
    )
    assert result.returncode == 0, result.stderr
