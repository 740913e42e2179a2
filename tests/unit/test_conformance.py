"""The conformance check (``hub.domain.conformance``) on small hand-made feeds, and its readers
(``hub.ingest.conformance_input``): each rule, the per-event checks, the feed's edges, the KPI
coverage, and what cannot be read."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro

from hub.domain.conformance import (
    CHECKS,
    FIXES,
    CheckCode,
    ConformanceReport,
    FeedRecord,
    Problem,
    check_feed,
)
from hub.domain.publishers import Publisher
from hub.ingest.conformance_input import detect_format, read_feed
from hub.settings import PROJECT_ROOT
from schemas.avro_schemas import parsed_schema
from schemas.models import VesselEvent, to_avro_datum
from tests.samples import container

PORT = "PECLL"
KNOWN = frozenset({"PECLL", "PEPAI", "CLSAI"})
T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
NOW = T0 + timedelta(days=3)
BOX = container("MSCU", "713045")
OTHER_BOX = container("MAEU", "412778")

Event = dict[str, Any]


def _envelope(hours: float, **fields: Any) -> Event:
    at = (T0 + timedelta(hours=hours)).isoformat()
    return {"event_id": str(uuid.uuid4()), "occurred_at": at, "published_at": at, "port": PORT,
            **fields}  # fmt: skip


def vessel(operation: str, facility: str, hours: float, call: str = "C1", **fields: Any) -> Event:
    berth = {"berth_id": "B1"} if facility == "BRTH" else {}
    fields = {"imo": "9074729", "classifier": "ACT", **berth, **fields}
    return _envelope(hours, event_type="vessel.timestamp", port_call_id=call,
                     operation=operation, facility=facility, **fields)  # fmt: skip


def cargo(move: str, hours: float, box: str = BOX, call: str = "C1", **fields: Any) -> Event:
    links: dict[str, Any] = (
        {"port_call_id": call, "crane_id": "STS1"}
        if move in ("DISC", "LOAD", "RSTW")
        else {"truck_visit_id": f"T-{hours}"}
        if move in ("GTIN", "GTOT")
        else {}
    )
    return _envelope(hours, event_type="cargo.move", container=box, iso_size_type="22G1",
                     full=True, gross_kg=12000, move=move, **links, **fields)  # fmt: skip


def customs(kind: str, hours: float, declaration: str = "D1", **fields: Any) -> Event:
    extra: dict[str, Any] = {}
    if kind == "LODGED":
        extra = {"regime": "IMPORT", "goods": [{"hs_code": "847130", "quantity": "1",
                                                "unit": "PCE", "value_usd": "100.00"}]}  # fmt: skip
    if kind == "CHANNEL":
        extra = {"channel": "GREEN"}
    return _envelope(hours, event_type="customs.status", declaration_id=declaration, kind=kind,
                     **extra, **fields)  # fmt: skip


def complete_call(call: str = "C1", start: float = 0) -> list[Event]:
    """Arrival, all fast, first lift, a discharge and a load, last lift, departure."""
    return [
        vessel("ARRI", "PORT", start, call),
        vessel("ARRI", "BRTH", start + 3, call),
        vessel("STRT", "BRTH", start + 4, call),
        cargo("DISC", start + 5, BOX, call),
        cargo("LOAD", start + 6, OTHER_BOX, call),
        vessel("CMPL", "BRTH", start + 7, call),
        vessel("DEPA", "BRTH", start + 8, call),
    ]


def check(
    events: list[Event], now: datetime = NOW, publisher: Publisher | None = None
) -> ConformanceReport:
    records = [FeedRecord(f"feed:{n}", None, e) for n, e in enumerate(events, start=1)]
    records = [
        FeedRecord(r.where, str(r.data["event_type"]).split(".")[0], r.data) for r in records
    ]
    return check_feed(records, publisher or Publisher(PORT), KNOWN, now)


def codes(report: ConformanceReport) -> list[tuple[str, str | None]]:
    return [(problem.code.value, problem.event_id) for problem in report.problems]


# --- a clean feed -----------------------------------------------------------------------------


def test_a_complete_call_is_clean_and_allows_its_kpis() -> None:
    report = check(complete_call())
    assert report.clean and report.problems == () and report.pending == ()
    assert (report.records, report.accepted) == (7, 7)
    allowed = {kpi.kpi: kpi for kpi in report.kpis if kpi.allowed}
    assert allowed["port_hours_h"].entities == 1
    assert allowed["call_size_moves"].entities == 1
    assert allowed["throughput_teu"].entities == 2
    assert all(count == 0 for _, count in report.check_results())
    answer = report.as_json()
    assert answer["clean"] is True
    assert [c["result"] for c in answer["checks"]] == ["PASS"] * len(CHECKS)


def test_the_eta_kpis_need_an_estimated_arrival() -> None:
    without = {kpi.kpi: kpi for kpi in check(complete_call()).kpis}["eta_error_h"]
    assert not without.allowed
    assert without.missing == (
        "vessel EST ARRI at PORT, PBPL or ANCH (declared, published before the arrival)",
    )
    published = (T0 - timedelta(hours=30)).isoformat()
    estimate = vessel("ARRI", "PORT", 2, classifier="EST", published_at=published)
    kpis = {kpi.kpi: kpi for kpi in check([estimate, *complete_call()]).kpis}
    assert kpis["eta_error_h"].entities == 1 and kpis["eta_abs_error_24h_h"].entities == 1
    # Both kinds are there, but no estimate was published 72 h ahead.
    assert not kpis["eta_error_72h_h"].allowed and kpis["eta_error_72h_h"].why


# --- per-event checks -------------------------------------------------------------------------


def test_each_event_is_checked_as_the_hub_would_check_it_now() -> None:
    bad_imo = vessel("ARRI", "PORT", 1, "C9", imo="9074728")
    other_port = customs("LODGED", 1, port="PEPAI", port_call_id="C1")
    unknown_port = customs("RELEASED", 1, port="XXAAA")
    no_crane = cargo("DISC", 1, call="C9")
    del no_crane["crane_id"]
    future = cargo("YARD", 1)
    future["occurred_at"] = (NOW + timedelta(hours=2)).isoformat()
    shape = customs("HELD", 1) | {"kind": "STOLEN"}
    report = check([bad_imo, other_port, unknown_port, no_crane, future, shape])
    assert codes(report) == [
        ("INVALID_IDENTIFIER", bad_imo["event_id"]),
        ("PORT_NOT_OWNED", other_port["event_id"]),
        ("UNKNOWN_PORT", unknown_port["event_id"]),
        ("MISSING_FIELD", no_crane["event_id"]),
        ("IMPLAUSIBLE_TIME", future["event_id"]),
        ("SCHEMA_INVALID", shape["event_id"]),
    ]
    assert report.accepted == 0
    assert report.problems[0].where == "feed:1"
    assert "check digit" in report.problems[0].detail
    assert report.problems[1].fix == FIXES[CheckCode.PORT_NOT_OWNED]


def test_events_older_than_the_grace_are_too_late_unless_checked_at_their_time() -> None:
    feed = complete_call()
    late = check(feed, now=T0 + timedelta(days=30))
    assert {code for code, _ in codes(late)} == {"TOO_LATE"} and len(late.problems) == 7
    assert "would" not in late.problems[0].detail  # the hub's own detail
    assert check(feed, now=T0 + timedelta(hours=9)).clean


def test_a_single_window_checks_customs_only() -> None:
    lodged = customs("LODGED", 1, port_call_id="C1")
    arrival = vessel("ARRI", "PORT", 0)
    report = check([arrival, lodged], publisher=Publisher.single_window("PE"))
    assert codes(report) == [("DOMAIN_NOT_ALLOWED", arrival["event_id"])]
    assert report.publisher == "customs-publish:PE/"


def test_a_record_without_a_domain_is_reported() -> None:
    report = check_feed([FeedRecord("f:1", None, {"x": 1})], Publisher(PORT), KNOWN, NOW)
    assert [p.code for p in report.problems] == [CheckCode.NO_DOMAIN]


def test_reader_problems_are_problems_of_the_report() -> None:
    unreadable = Problem(CheckCode.UNREADABLE, "f:3", None, "not JSON")
    report = check_feed([unreadable], Publisher(PORT), KNOWN, NOW)
    assert report.problems == (unreadable,) and not report.clean


def test_an_empty_feed_is_not_clean() -> None:
    report = check_feed([], Publisher(PORT), KNOWN, NOW, sources=("day.jsonl",))
    assert [(p.code, p.where) for p in report.problems] == [(CheckCode.EMPTY_FEED, "day.jsonl")]
    assert not report.clean


# --- duplicates and retractions ---------------------------------------------------------------


def test_an_exact_copy_counts_once_and_another_content_under_the_same_id_is_a_problem() -> None:
    feed = complete_call()
    copy = dict(feed[3])
    conflict = dict(feed[4], gross_kg=9999)
    report = check([*feed, copy, conflict])
    assert report.duplicates == 1
    assert codes(report) == [("DUPLICATE_ID_CONFLICT", feed[4]["event_id"])]
    assert report.problems[0].where == "feed:9"
    assert "feed:5" in report.problems[0].detail
    resent = feed[3] | {"published_at": (T0 + timedelta(hours=9)).isoformat()}
    assert check([*feed, resent]).duplicates == 1  # sent again later: the same event


def test_a_retracted_milestone_is_replaced_by_its_correction() -> None:
    feed = complete_call()
    wrong = feed[1] | {"occurred_at": (T0 + timedelta(hours=10)).isoformat()}
    wrong["published_at"] = wrong["occurred_at"]
    corrected = vessel("ARRI", "BRTH", 3, retracts_event_id=wrong["event_id"])
    corrected["published_at"] = (T0 + timedelta(hours=11)).isoformat()
    assert not check([*feed[:1], wrong, *feed[2:]]).clean
    assert check([*feed[:1], wrong, *feed[2:], corrected]).clean


# --- the call's lifecycle ---------------------------------------------------------------------


def test_a_milestone_missing_between_two_others_is_a_problem_of_the_next_one() -> None:
    feed = complete_call()
    del feed[1]  # all fast
    report = check(feed)
    strt = feed[1]
    assert codes(report) == [("CALL_MILESTONE_MISSING", strt["event_id"])]
    assert "no all fast" in report.problems[0].detail


def test_milestones_out_of_order() -> None:
    feed = complete_call()
    feed[2] = vessel("STRT", "BRTH", 2.5)  # first lift before all fast (3 h)
    report = check(feed)
    assert codes(report) == [("CALL_MILESTONE_ORDER", feed[2]["event_id"])]
    assert "first lift" in report.problems[0].detail


def test_a_call_cut_by_the_feeds_edges_is_pending_not_a_problem() -> None:
    began_before = complete_call("C1")[2:]  # from its first lift on
    still_open = complete_call("C2", start=2)[:4]  # up to its first move
    report = check([*began_before, *still_open])
    assert report.clean
    kinds = {(item.kind, item.subject) for item in report.pending}
    assert kinds == {("began before the feed", "C1"), ("open at the end of the feed", "C2")}
    summary = report.as_json()["pending"]
    assert {kind["kind"]: kind["count"] for kind in summary} == {
        "began before the feed": 1,
        "open at the end of the feed": 1,
    }


def test_ais_and_estimated_timestamps_are_not_milestones() -> None:
    feed = complete_call()
    feed[1] = vessel("ARRI", "BRTH", 3, classifier="EST")
    ais = vessel("ARRI", "BRTH", 3, source="AIS")
    report = check([*feed, ais])
    assert [code for code, _ in codes(report)] == ["CALL_MILESTONE_MISSING"]


def test_a_berth_shift_is_not_a_departure() -> None:
    feed = complete_call()[:4]  # arrived, berthed at B1, first lift, a discharge
    shift_out = vessel("DEPA", "BRTH", 5.5)
    shift_in = vessel("ARRI", "BRTH", 6, berth_id="B2")
    move = cargo("LOAD", 7, OTHER_BOX)  # working on at B2
    report = check([*feed, shift_out, shift_in, move])
    assert report.clean
    assert {item.kind for item in report.pending} == {"open at the end of the feed"}


def test_a_call_that_began_before_the_feed_and_shifts_in_it() -> None:
    shift_out = vessel("DEPA", "BRTH", 1)
    shift_in = vessel("ARRI", "BRTH", 2, berth_id="B2")
    move = cargo("LOAD", 3, OTHER_BOX)
    done = [vessel("CMPL", "BRTH", 4), vessel("DEPA", "BRTH", 5, berth_id="B2")]
    late_move = cargo("DISC", 6, BOX)
    report = check([shift_out, shift_in, move, *done, late_move])
    assert codes(report) == [("MOVE_OUTSIDE_BERTH_WINDOW", late_move["event_id"])]
    assert {item.kind for item in report.pending} == {"began before the feed"}


# --- moves in the berth window ----------------------------------------------------------------


def test_moves_outside_the_berth_window() -> None:
    feed = complete_call()
    early = cargo("DISC", 2, container("TGHU", "100001"))
    late = cargo("RSTW", 9, container("TGHU", "100002"))
    report = check([*feed, early, late])
    assert codes(report) == [
        ("MOVE_OUTSIDE_BERTH_WINDOW", early["event_id"]),
        ("MOVE_OUTSIDE_BERTH_WINDOW", late["event_id"]),
    ]
    assert "before call C1 was all fast" in report.problems[0].detail
    assert "after call C1 left its berth" in report.problems[1].detail


def test_a_bound_the_feed_lacks_is_not_checked() -> None:
    open_call = complete_call()[:3]  # arrived and berthed, working
    move = cargo("DISC", 30, container("TGHU", "100003"))
    assert check([*open_call, move]).clean


# --- gate-outs after discharge ----------------------------------------------------------------


def test_a_gate_out_before_the_boxs_discharge() -> None:
    feed = complete_call()
    gate_out = cargo("GTOT", 4.5, BOX)  # the box is discharged at 5 h
    report = check([*feed, gate_out])
    assert codes(report) == [("GATE_OUT_BEFORE_DISCHARGE", gate_out["event_id"])]


def test_gate_outs_after_discharge_or_of_boxes_discharged_before_the_feed_pass() -> None:
    feed = complete_call()
    after = cargo("GTOT", 20, BOX)
    earlier_box = cargo("GTOT", 1, container("TGHU", "100004"))  # discharged before the feed
    assert check([*feed, after, earlier_box]).clean


# --- declarations -----------------------------------------------------------------------------


def test_a_declaration_linked_to_nothing() -> None:
    lodged = customs("LODGED", 4)
    report = check([*complete_call(), lodged, customs("RELEASED", 5)])
    assert codes(report) == [("DECLARATION_UNLINKED", lodged["event_id"])]


def test_a_declaration_of_a_complete_call_listing_a_box_no_event_moves() -> None:
    stranger = container("ZZZU", "000001")
    lodged = customs("LODGED", 4, port_call_id="C1", containers=[BOX, stranger])
    report = check([*complete_call(), lodged])
    assert codes(report) == [("DECLARATION_CONTAINER_UNKNOWN", lodged["event_id"])]
    assert stranger in report.problems[0].detail


def test_unknown_boxes_of_a_call_not_complete_in_the_feed_are_pending() -> None:
    lodged = customs("LODGED", 1, port_call_id="C1", containers=[container("ZZZU", "000001")])
    report = check([*complete_call()[:4], lodged])
    assert report.clean
    assert {item.kind for item in report.pending} >= {"declaration's containers beyond the feed"}


def test_a_declarations_unknown_call_is_a_problem_only_away_from_the_feeds_edges() -> None:
    far = customs("LODGED", 60, port_call_id="C7")
    feed = [*complete_call(), far, cargo("YARD", 120, container("TGHU", "100005"))]
    report = check(feed, now=T0 + timedelta(days=6))
    assert codes(report) == [("DECLARATION_CALL_UNKNOWN", far["event_id"])]
    near = customs("LODGED", 10, port_call_id="C7")
    report = check([*complete_call(), near])
    assert report.clean
    assert "declaration's call beyond the feed" in {item.kind for item in report.pending}


# --- KPI coverage -----------------------------------------------------------------------------


def test_kpis_the_feed_does_not_allow_say_which_events_are_missing() -> None:
    report = check([cargo("GTIN", 1, BOX), cargo("GTOT", 1.5, BOX)])
    by_name = {kpi.kpi: kpi for kpi in report.kpis}
    assert by_name["truck_turnaround_min"].allowed is False  # two truck visits, one end each
    waiting = by_name["waiting_time_h"]
    assert not waiting.allowed
    assert "vessel ACT ARRI at BRTH" in waiting.missing
    assert "vessel ACT ARRI at PORT, PBPL or ANCH" in waiting.why
    occupancy = by_name["berth_occupancy_pct"]
    assert occupancy.why.startswith("computed from berth_hours_h")


def test_kpis_whose_events_exist_but_are_open_say_so() -> None:
    report = check(complete_call()[:4])
    port_hours = next(kpi for kpi in report.kpis if kpi.kpi == "port_hours_h")
    assert (port_hours.allowed, port_hours.open, port_hours.missing) == (
        False,
        1,
        ("vessel ACT DEPA at BRTH",),
    )


def test_every_code_has_a_fix_a_check_and_a_line_in_the_docs() -> None:
    docs = (PROJECT_ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    checked = {code for check in CHECKS for code in check.codes}
    for code in CheckCode:
        assert FIXES[code].endswith(".")
        assert code in checked
        assert f"`{code.value}`" in docs, code


# --- readers ----------------------------------------------------------------------------------


def read(data: bytes, **options: Any) -> list[FeedRecord | Problem]:
    return list(read_feed("feed", data, NOW, **options))


def test_json_lines_of_domain_and_event_and_bare_events() -> None:
    wrapped = json.dumps({"domain": "vessel", "event": vessel("ARRI", "PORT", 0)})
    bare = json.dumps(cargo("YARD", 1))
    untyped = cargo("YARD", 2)
    del untyped["event_type"]
    data = f"{wrapped}\n\n{bare}\n{json.dumps(untyped)}\nnot json\n[1]\n".encode()
    records = read(data)
    assert [getattr(r, "domain", None) for r in records[:3]] == ["vessel", "cargo", None]
    assert [r.where for r in records] == ["feed:1", "feed:3", "feed:4", "feed:5", "feed:6"]
    assert all(isinstance(r, Problem) and r.code is CheckCode.UNREADABLE for r in records[3:])
    assert read(json.dumps(untyped).encode(), default_domain="cargo")[0] == FeedRecord(
        "feed:1", "cargo", untyped
    )


def test_a_pretty_printed_event_or_list_is_read_whole() -> None:
    one = json.dumps(vessel("ARRI", "PORT", 0), indent=2).encode()
    assert [r.where for r in read(one)] == ["feed:1"]
    many = json.dumps(complete_call(), indent=2).encode()
    records = read(many)
    assert len(records) == 7 and records[6].where == "feed:item 7"
    assert check_feed(records, Publisher(PORT), KNOWN, NOW).clean


def test_hostile_json_is_unreadable_not_a_crash() -> None:
    for data in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"\x00\x00\x00",
        bytes(range(128, 256)),
        b'{"event_type": "cargo.move", "container": "\x00"}',
    ):
        records = read(data)
        assert records and all(isinstance(r, Problem) for r in records), data[:20]
    surrogate = read(b'{"event_type": "cargo.move", "x": "\\ud800"}')
    report = check_feed(surrogate, Publisher(PORT), KNOWN, NOW)
    assert [p.code for p in report.problems] == [CheckCode.SCHEMA_INVALID]
    json.dumps(report.as_json())  # printable
    odd_id = read(b'{"event_type": "cargo.move", "event_id": "\\ud800\\u0000"}')
    answer = check_feed(odd_id, Publisher(PORT), KNOWN, NOW).as_json()
    json.dumps(answer, ensure_ascii=False).encode("utf-8")  # as the API renders it
    assert answer["problems"][0]["event_id"] == "\\ud800\\x00"


def _avro_file(domain: str, datums: list[dict[str, Any]], schema: Any = None) -> bytes:
    buffer = io.BytesIO()
    fastavro.writer(buffer, schema or parsed_schema(domain), datums)
    return buffer.getvalue()


def test_an_avro_container_file_of_a_hub_schema() -> None:
    events = [VesselEvent.model_validate(e) for e in complete_call() if "imo" in e]
    data = _avro_file("vessel", [to_avro_datum(e) for e in events])
    assert detect_format(data) == "avro"
    records = read(data)
    assert [r.where for r in records] == [f"feed:record {n}" for n in range(1, 6)]
    assert all(isinstance(r, FeedRecord) and r.domain == "vessel" for r in records)
    report = check_feed(records, Publisher(PORT), KNOWN, NOW)
    assert report.clean and report.accepted == 5
    late = check_feed(records, Publisher(PORT), KNOWN, NOW + timedelta(days=30))
    assert [p.event_id for p in late.problems] == [str(e.event_id) for e in events]


def test_avro_of_another_schema_or_truncated_is_unreadable() -> None:
    foreign = {"type": "record", "name": "Thing", "fields": [{"name": "x", "type": "int"}]}
    records = read(_avro_file("", [{"x": 1}], fastavro.parse_schema(foreign)))
    assert [r.code for r in records if isinstance(r, Problem)] == [CheckCode.UNREADABLE]
    assert "Thing" in records[0].detail  # type: ignore[union-attr]
    events = [VesselEvent.model_validate(e) for e in complete_call() if "imo" in e]
    whole = _avro_file("vessel", [to_avro_datum(e) for e in events])
    cut = read(whole[: len(whole) - 40])
    assert isinstance(cut[-1], Problem) and cut[-1].code is CheckCode.UNREADABLE
    assert isinstance(read(b"Obj\x01garbage")[0], Problem)


def test_an_edifact_interchange_is_mapped_by_the_hubs_profile() -> None:
    fixtures = PROJECT_ROOT / "tests" / "fixtures" / "edifact"
    data = (fixtures / "coarri_callao.edi").read_bytes()
    assert detect_format(data) == "edifact"
    records = read(data)
    assert records and all(isinstance(r, FeedRecord) and r.domain == "cargo" for r in records)
    assert records[0].where.startswith("feed:message ")
    published = {r.data["published_at"] for r in records if isinstance(r, FeedRecord)}
    assert published == {NOW.isoformat().replace("+00:00", "Z")}


def test_a_bad_edifact_interchange_or_message_is_a_problem_naming_the_line() -> None:
    fixtures = Path(PROJECT_ROOT / "tests" / "fixtures" / "edifact")
    envelope = read((fixtures / "bad_unz_count.edi").read_bytes())
    assert [r.code for r in envelope if isinstance(r, Problem)] == [CheckCode.MALFORMED_INTERCHANGE]
    message = read((fixtures / "unknown_qualifier.edi").read_bytes())
    problems = [r for r in message if isinstance(r, Problem)]
    assert problems and {p.code for p in problems} == {CheckCode.UNMAPPABLE_MESSAGE}
    assert "line" in problems[0].where
    assert isinstance(read(b"UNB+\x00'")[0], Problem)
