"""Error pages and error e-mails never show an IES token, even with DEBUG on.

Django hides settings whose names look secret, but shows a frame's local variables as they are:
a `token`, a `bearer` or a decrypted credentials tuple would be printed in full. This filter
hides such variables by name and masks every registered IES secret wherever it appears.
"""

import re
from collections.abc import ItemsView
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

from ies_client.redact import redact

_SECRET_NAMES = re.compile(r"token|bearer|credential|secret|password|passwd|key", re.IGNORECASE)


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|BEARER", flags=re.IGNORECASE)

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> ItemsView[str, Any]:
        cleansed: dict[str, Any] = {}
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if _SECRET_NAMES.search(name):
                value = self.cleansed_substitute
            else:
                try:
                    shown = repr(value)
                except Exception:  # a broken __repr__ must not break the error page
                    shown = ""
                masked = redact(shown)
                if masked != shown:  # a registered IES secret sits somewhere inside
                    value = masked
            cleansed[name] = value
        return cleansed.items()
