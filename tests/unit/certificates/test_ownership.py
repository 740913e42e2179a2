"""Which events of a batch act on another port's data (issue 16): the pure rule of
:mod:`streams.ownership` and the certificate stage's choice of the holder's submission."""

from __future__ import annotations

import uuid

from schemas.rejections import Rejected, RejectReason
from streams.certificate_stage import _latest_submission, certificate_key
from streams.ownership import refusals
from tests.unit.certificates.builders import CERTIFICATE, PORT, declaration, submission

KEY = certificate_key(CERTIFICATE.certificate_id)
OTHER = "ARBUE"


def reasons(refused: dict[int, Rejected]) -> dict[int, RejectReason]:
    return {index: rejected.reason for index, rejected in refused.items()}


def test_a_certificate_id_held_by_another_port_is_taken() -> None:
    mine = submission(port=PORT)
    refused = refusals([mine], {}, {KEY: OTHER})
    assert reasons(refused) == {0: RejectReason.CERTIFICATE_ID_TAKEN}
    assert OTHER not in refused[0].detail  # the holder is not named to another port


def test_the_holder_may_submit_again_and_a_new_id_is_free() -> None:
    assert refusals([submission(port=PORT)], {}, {KEY: PORT}) == {}
    assert refusals([submission(port=PORT)], {}, {}) == {}


def test_in_one_batch_the_first_submission_of_an_id_wins() -> None:
    first, second, again = submission(port=OTHER), submission(port=PORT), submission(port=OTHER)
    assert reasons(refusals([first, second, again], {}, {})) == {
        1: RejectReason.CERTIFICATE_ID_TAKEN
    }


def test_a_retraction_of_another_ports_stored_event_is_not_owned() -> None:
    theirs = uuid.uuid4()
    retracting = declaration(port=PORT, retracts_event_id=theirs)
    assert reasons(refusals([retracting], {theirs: OTHER}, {})) == {0: RejectReason.PORT_NOT_OWNED}
    assert refusals([retracting], {theirs: PORT}, {}) == {}
    # Unknown target: nothing to protect (it changes nothing either).
    assert refusals([retracting], {}, {}) == {}


def test_a_retraction_of_another_ports_event_in_the_same_batch_is_not_owned() -> None:
    theirs = submission(port=OTHER)
    retracting = submission(port=PORT, retracts_event_id=theirs.event_id)
    own_fix = submission(port=OTHER, retracts_event_id=theirs.event_id)
    assert reasons(refusals([theirs, retracting, own_fix], {}, {})) == {
        1: RejectReason.PORT_NOT_OWNED
    }


def test_a_refused_retraction_does_not_take_the_certificate_id() -> None:
    theirs = uuid.uuid4()
    retracting = submission(port=PORT, retracts_event_id=theirs)
    later = submission(port=OTHER)
    assert reasons(refusals([retracting, later], {theirs: OTHER}, {})) == {
        0: RejectReason.PORT_NOT_OWNED
    }


def test_an_event_id_copied_by_another_port_does_not_refuse_the_real_one() -> None:
    real = submission(port=OTHER)
    copy = real.model_copy(update={"port": PORT})
    assert reasons(refusals([real, copy], {}, {})) == {1: RejectReason.CERTIFICATE_ID_TAKEN}


def test_only_the_holders_submissions_count_for_the_verdict() -> None:
    held = submission(port=PORT)
    later_foreign = submission(
        port=OTHER, published_at=held.published_at.replace(year=2027),
        occurred_at=held.occurred_at.replace(year=2027),
    )  # fmt: skip
    events = [held, later_foreign]
    assert _latest_submission(events, CERTIFICATE.certificate_id, PORT) == held
    assert _latest_submission(events, CERTIFICATE.certificate_id, None) is None
