"""The enrolment page's QR code and secret, as a person reads them."""

from __future__ import annotations

import base64
import io
from base64 import b32encode

import segno
from django_otp.plugins.otp_totp.models import TOTPDevice


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// address of the authenticator as a QR code, an SVG image inside a data: URI
    (the CSP allows images from data:, and nothing is asked of another site)."""
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, border=4, dark="#000",
                                                  light="#fff", xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
