"""{% load ies_status %}: IES's status words translated, the raw word kept in a title for support."""

from functools import lru_cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from portal.services.status_words import (
    definition_status_label,
    kind_label,
    operation_word_label,
    status_label,
)

register = template.Library()


@register.filter
def ies_status(word: str | None) -> str:
    """The translated word, plain (for option labels and sentences)."""
    return status_label(word)


@register.filter
def ies_status_tag(word: str | None, css: str = "") -> SafeString | str:
    """A <span> with the translated word and IES's own word as its title and data-ies-word (hover,
    copy for support); "—" when IES said nothing. ``css`` "status" adds the colour class of the word."""
    if not word:
        return "—"
    return _status_tag(word, css, get_language())


@lru_cache(maxsize=512)
def _status_tag(word: str, css: str, language: str | None) -> SafeString:
    # A list page shows the same few words on every row: build each tag once per language.
    classes = f"status status-{word.lower()}" if css == "status" else css
    return format_html('<span class="{}" title="{}" data-ies-word="{}">{}</span>', classes, word, word,
                       status_label(word))


@register.filter
def ies_operation_word(word: str | None) -> str:
    return operation_word_label(word)


@register.filter
def ies_kind(kind: str | None) -> str:
    """A service kind as people name it ("Site-to-DC"), "Other" for one the portal does not handle."""
    return kind_label(kind)


@register.filter
def ies_definition_status(word: str | None) -> str:
    return definition_status_label(word)
