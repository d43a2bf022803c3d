"""Every user-facing string has its Simplified Chinese translation, and the compiled catalog is current."""

import gettext
import re
from pathlib import Path

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _unquote(block: str) -> str:
    # .po strings are C-escaped; the ones here use only \" \\ and \n.
    text = "".join(re.findall(r'"(.*)"', block))
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def po_entries() -> list[tuple[str, str, bool]]:
    """(msgid, first msgstr, is_plural) of every entry of the .po file but its header."""
    return [(msgid, msgstr, plural) for _context, msgid, msgstr, plural in po_entries_with_context()]


def po_entries_with_context() -> list[tuple[str | None, str, str, bool]]:
    """(msgctxt or None, msgid, first msgstr, is_plural) of every entry but the header."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        text = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        msgid = re.search(r'^msgid (".*"(?:\n".*")*)', text, re.M)
        msgstr = re.search(r'^msgstr(?:\[0\])? (".*"(?:\n".*")*)', text, re.M)
        context = re.search(r'^msgctxt (".*"(?:\n".*")*)', text, re.M)
        if msgid and msgstr and _unquote(msgid.group(1)):
            entries.append((_unquote(context.group(1)) if context else None, _unquote(msgid.group(1)),
                            _unquote(msgstr.group(1)), "msgid_plural" in text))
    return entries


def test_every_string_is_translated():
    untranslated = [msgid for msgid, msgstr, _ in po_entries() if not msgstr]
    assert not untranslated, f"{len(untranslated)} strings lack a Chinese translation: {untranslated[:10]}"


def test_the_compiled_catalog_matches_the_po_file():
    """`manage.py compilemessages` was run after the last change of the .po file."""
    with open(PO.with_suffix(".mo"), "rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    stale = [msgid for context, msgid, msgstr, plural in po_entries_with_context()
             if msgstr and _compiled(catalog, context, msgid, plural) != msgstr]
    assert not stale, f"the .mo file is older than the .po file: {stale[:5]}"


def _compiled(catalog: gettext.GNUTranslations, context: str | None, msgid: str, plural: bool) -> str:
    if context is None:
        return catalog.ngettext(msgid, msgid, 1) if plural else catalog.gettext(msgid)
    return catalog.npgettext(context, msgid, msgid, 1) if plural else catalog.pgettext(context, msgid)
