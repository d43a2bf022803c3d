"""IES's words as people read them: every word of ies_client's vocabulary has a label, and a word
the portal does not know is shown as IES wrote it (never an error, never blank)."""

import pytest
from django.utils import translation

from ies_client import models as ies
from portal.services.status_words import (
    OPERATION_WORDS,
    SERVICE_STATUS,
    definition_status_label,
    kind_label,
    operation_word_label,
    status_label,
)


@pytest.mark.parametrize("word", [*ies.ServiceStatus, *ies.ActiveStatus])
def test_every_status_of_the_vocabulary_has_a_label(word):
    assert word in SERVICE_STATUS
    assert status_label(str(word)) == status_label(word) != ""


@pytest.mark.parametrize("word", [*ies.OperationKind, *ies.OperationResult])
def test_every_operation_word_of_the_vocabulary_has_a_label(word):
    assert word in OPERATION_WORDS


@pytest.mark.parametrize(("label", "word", "expected"), [
    (status_label, "Completed", "Completed"),
    (status_label, "Deactive", "Inactive"),
    (status_label, "Suspended", "Suspended"),
    (status_label, "", ""),
    (status_label, None, ""),
    (operation_word_label, "Update", "Update"),
    (operation_word_label, "success", "Succeeded"),
    (operation_word_label, "running", "Running"),
    (operation_word_label, "Migrate", "Migrate"),
    (kind_label, ies.ServiceKind.SITE2DC, "Site-to-DC"),
    (kind_label, "Site2Site", "Site-to-Site"),
    (kind_label, None, "Other"),
    (kind_label, "CloudVPN", "Other"),
    (definition_status_label, ies.DefinitionStatus.ACTIVE, "active"),
    (definition_status_label, "inactive", "inactive"),
    (definition_status_label, "delete pending", "delete pending"),
    (definition_status_label, "retired", "retired"),
])
def test_a_word_reads_in_english(label, word, expected):
    with translation.override("en"):
        assert label(word) == expected
