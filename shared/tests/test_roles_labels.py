"""The one list of roles and the one set of labels agree with the contracts that carry them."""

from __future__ import annotations

from typing import get_args

import pytest

from hbs_shared.events.contracts import SignerRole
from hbs_shared.labels import (
    CONDUCT_LABELS,
    PERIOD_LABELS,
    RATING_LABELS,
    SIGNING_STEPS,
    STEP_LABELS,
    TERM_LABELS,
    step_of,
)
from hbs_shared.records import Rating
from hbs_shared.roles import BOARD, FAMILY, OFFICE, OVERSEERS, SIGNATURE_ROLES, SIGNERS, STAFF, Role


def test_every_role_has_a_vietnamese_label_and_title() -> None:
    assert Role.principal.label == "Hiệu trưởng"
    assert Role.vice_principal.label == "Phó hiệu trưởng"
    assert Role.vice_principal.formal_label == "Phó Hiệu trưởng"
    for role in Role:
        assert role.label
        assert role.formal_label


def test_groups() -> None:
    assert {"subject_teacher", "homeroom_teacher", "vice_principal", "principal"} == SIGNERS
    assert {"principal", "vice_principal"} == BOARD
    assert {"office_admin", "system_admin"} == OFFICE
    assert {"principal", "vice_principal", "office_admin", "system_admin"} == OVERSEERS
    assert {"parent", "student"} == FAMILY
    assert STAFF == SIGNERS | OFFICE
    assert not STAFF & FAMILY
    assert Role.seal not in STAFF | FAMILY


def test_signature_roles_are_the_contracts_signer_roles() -> None:
    assert set(get_args(SignerRole)) == SIGNATURE_ROLES


def test_signing_steps_are_in_order_one_signer_each() -> None:
    assert [SIGNING_STEPS[step] for step in (1, 2, 3, 4)] == [
        Role.subject_teacher,
        Role.homeroom_teacher,
        Role.vice_principal,
        Role.principal,
    ]
    assert STEP_LABELS.keys() == SIGNING_STEPS.keys()
    assert step_of("vice_principal") == 3
    with pytest.raises(ValueError, match="signs at no step"):
        step_of("office_admin")


def test_rating_and_term_labels_cover_the_national_codes() -> None:
    assert RATING_LABELS.keys() == set(get_args(Rating))
    assert CONDUCT_LABELS == RATING_LABELS
    assert TERM_LABELS == {"HK1": "Học kỳ I", "HK2": "Học kỳ II"}
    assert PERIOD_LABELS["year"] == "Cả năm"


def test_a_year_record_is_signed_homeroom_then_vice_principal_then_principal() -> None:
    from hbs_shared.signing_order import (
        RECORD_SIGNERS,
        RECORD_STEP_NAMES,
        RECORD_STEPS,
        SEALED_WITH,
        signatures_before,
    )

    assert (Role.homeroom_teacher, Role.vice_principal, Role.principal) == RECORD_SIGNERS
    assert [signatures_before(role) for role in RECORD_SIGNERS] == [0, 1, 2]
    assert RECORD_SIGNERS[-1] == SEALED_WITH
    assert tuple(RECORD_STEP_NAMES.values()) == RECORD_STEPS
    for role in ("seal", "subject_teacher", "office_admin"):
        with pytest.raises(ValueError, match="does not sign a year record"):
            signatures_before(role)


def test_a_consumer_of_identity_structure_knows_every_event_on_it() -> None:
    from hbs_shared.events.catalog import all_contracts
    from hbs_shared.events.identity import IDENTITY_STRUCTURE_TOPIC, STRUCTURE_EVENTS

    on_topic = {c for c in all_contracts() if c.topic == IDENTITY_STRUCTURE_TOPIC}
    assert set(STRUCTURE_EVENTS) == on_topic
