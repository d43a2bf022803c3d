"""The Content-Security-Policy's one allowance beyond the portal's own files: the error pages' styles.

The 500 and 400 pages render without a request (500: no context at all), so without a nonce, and
on purpose without a static file (the failure may be the static files' manifest). Their `<style>`
blocks are allowed by hash instead, computed from the template itself so that an edit of the style
never leaves the page unstyled; the blocks must stay free of template tags for the hash to hold.
"""

import base64
import hashlib
import re
from pathlib import Path

_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this text inside a `<style>` element."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def style_hashes(template: Path) -> list[str]:
    """One source per `<style>` block of the template file, in order (none if it has none)."""
    return [style_hash(css) for css in _STYLE_BLOCK.findall(template.read_text(encoding="utf-8"))]
