"""CONTRL and APERAK back to EDIFACT senders (issue 20), through the real API and `hub edifact`
on a real broker and database."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx

from connectors.edifact import read_interchange
from connectors.edifact.syntax import Segment, tokenize
from hub.db.tokens import create_port_token
from hub.settings import PROJECT_ROOT
from tests.integration.helpers import Services, api_environment, running_api, worker_environment
from tests.unit.edifact import PUBLISHED

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "edifact"
LATE_GRACE = {"HUB_LATE_GRACE_HOURS": str(24 * 3650)}  # the fixtures are from March 2026


def run_hub(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *arguments],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def interchanges(text: str) -> list[list[Segment]]:
    """The segments of each interchange in an answer (each its own UNA..UNZ), each checked
    sound by the hub's own reader."""
    found = []
    for part in re.split(r"(?m)^UNA", text)[1:]:
        tokenized = tokenize("UNA" + part)
        assert tokenized.error is None and tokenized.truncated_at is None, part
        read = read_interchange("UNA" + part, published_at=PUBLISHED)
        assert read.accepted, read.problem_lines()
        found.append(list(tokenized.segments))
    return found


def tagged(segments: list[Segment], tag: str) -> list[Segment]:
    return [segment for segment in segments if segment.tag == tag]


def message_type(segments: list[Segment]) -> str:
    return tagged(segments, "UNH")[0].component(1)


def texts(segments: list[Segment]) -> list[str]:
    return ["".join(ftx.element(3)) for ftx in tagged(segments, "FTX")]


async def test_the_api_answers_with_contrl_and_aperak_when_asked(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path) | LATE_GRACE
    async with running_api(environment, tmp_path / "api.log") as client:
        connection = await asyncpg.connect(fresh_database)
        try:
            tokens = {
                port: await create_port_token(connection, port, "tests")
                for port in ("PECLL", "BRSSZ")
            }
        finally:
            await connection.close()

        async def post(
            name: str, port: str, *, accept: str | None = None, query: str = ""
        ) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens[port]}"}
            if accept is not None:
                headers["Accept"] = accept
            body = (FIXTURES / name).read_bytes() if name.endswith(".edi") else name.encode()
            return await client.post(f"/v1/edifact{query}", content=body, headers=headers)

        # The same input: the same status as the JSON answer, the body the CONTRL and APERAKs
        # (its first message lacks a crane id, its second has an unknown qualifier).
        as_json = await post("unknown_qualifier.edi", "PECLL")
        assert as_json.status_code == 422, as_json.text
        assert as_json.headers["content-type"] == "application/json"
        answered = await post("unknown_qualifier.edi", "PECLL", accept="application/edifact")
        assert answered.status_code == as_json.status_code, answered.text
        assert answered.headers["content-type"].startswith("application/edifact")
        contrl, missing, unknown = interchanges(answered.text)
        assert message_type(contrl) == "CONTRL"
        assert message_type(missing) == message_type(unknown) == "APERAK"
        assert contrl[0].component(2) == "DPWCALLAO"  # addressed back to the sender
        assert [u.component(2) for u in tagged(contrl, "UCM")] == ["7", "7"]  # syntax sound
        assert ("ACW", "CLL00031") in [r.element(0) for r in tagged(missing, "RFF")]
        assert [e.component(0) for e in tagged(missing, "ERC")] == ["13"]
        assert "MISSING_FIELD" in texts(missing)[0] and "crane_id" in texts(missing)[0]
        assert ("ACW", "CLL00032") in [r.element(0) for r in tagged(unknown, "RFF")]
        assert texts(unknown)[0].startswith("segment EQD (position 6), line 18: unknown")

        # The query parameter asks the same; a wrong UNT count is named in the CONTRL.
        miscounted = await post("bad_unt_count.edi", "BRSSZ", query="?acknowledgement=edifact")
        assert miscounted.status_code == 200, miscounted.text
        (contrl,) = interchanges(miscounted.text)
        ucm = tagged(contrl, "UCM")[1]
        assert ucm.elements[2:] == (("4",), ("29",), ("UNT",), ("2",))
        assert [u.elements for u in tagged(contrl, "UCS")] == [(("9",), ("29",))]

        # Refused by the hub's checks (a PECLL token, Santos' events): 422, an APERAK each.
        foreign = await post("codeco_santos.edi", "PECLL", accept="application/edifact")
        assert foreign.status_code == 422, foreign.text
        contrl, *aperaks = interchanges(foreign.text)
        assert len(aperaks) == len(tagged(contrl, "UCM")) >= 1
        for aperak in aperaks:
            assert [e.component(0) for e in tagged(aperak, "ERC")] == ["17"]
            assert "PORT_NOT_OWNED" in texts(aperak)[0]

        # A broken envelope: 422 as before, the CONTRL rejecting the interchange.
        truncated = await post("truncated.edi", "PECLL", accept="application/edifact")
        assert truncated.status_code == 422, truncated.text
        (contrl,) = interchanges(truncated.text)
        assert tagged(contrl, "UCI")[0].elements[3:5] == (("4",), ("13",))

        # Nothing to address an answer to: the JSON refusal, whatever was asked.
        junk = await post("\x00\x01binary\ud7ff", "PECLL", accept="application/edifact")
        assert junk.status_code == 422, junk.text
        assert junk.json()["reason"] == "MALFORMED_INTERCHANGE"
        bogus = await post("coarri_callao.edi", "PECLL", query="?acknowledgement=x400")
        assert bogus.status_code == 422 and "acknowledgement" in bogus.text


async def test_a_watched_folder_gets_the_answers_in_out(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = worker_environment(services, fresh_database, namespace, tmp_path) | LATE_GRACE
    migrated = await asyncio.to_thread(run_hub, ["migrate"], environment)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = ["coarri_callao.edi", "unknown_qualifier.edi", "bad_unt_count.edi", "truncated.edi"]
    for name in names:
        (inbox / name).write_bytes((FIXTURES / name).read_bytes())
    (inbox / "junk.bin").write_bytes(bytes(range(256)) * 4)

    watched = await asyncio.to_thread(
        run_hub, ["edifact", "watch", str(inbox), "--once", "--settle", "0"], environment
    )
    assert watched.returncode == 4, watched.stdout + watched.stderr  # something refused
    out = inbox / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "bad_unt_count.edi.contrl.edi",
        "coarri_callao.edi.contrl.edi",
        "truncated.edi.contrl.edi",
        "unknown_qualifier.edi.aperak.edi",
        "unknown_qualifier.edi.contrl.edi",
    ]  # none for junk.bin: no UNB, nobody to answer (its problems.txt says why)

    def read(name: str) -> list[list[Segment]]:
        return interchanges((out / name).read_text(encoding="latin-1"))

    (clean,) = read("coarri_callao.edi.contrl.edi")
    assert tagged(clean, "UCI")[0].component(3) == "7"
    assert {u.component(2) for u in tagged(clean, "UCM")} == {"7"}
    missing, aperak = read("unknown_qualifier.edi.aperak.edi")
    assert [e.component(0) for e in tagged(missing, "ERC")] == ["13"]  # no crane id
    assert [e.component(0) for e in tagged(aperak, "ERC")] == ["14", "14"]
    assert texts(aperak)[0].startswith("segment EQD (position 6), line 18: unknown")
    (miscounted,) = read("bad_unt_count.edi.contrl.edi")
    assert [u.elements for u in tagged(miscounted, "UCS")] == [(("9",), ("29",))]
    (broken,) = read("truncated.edi.contrl.edi")
    assert tagged(broken, "UCI")[0].component(3) == "4"

    # `send --ack-dir`: the same answers where asked.
    answers = tmp_path / "answers"
    answers.mkdir()
    sent = await asyncio.to_thread(
        run_hub,
        ["edifact", "send", "--ack-dir", str(answers), str(inbox / "rejected" / names[1])],
        environment,
    )
    assert sent.returncode == 4, sent.stdout + sent.stderr
    assert sorted(p.name for p in answers.iterdir()) == [
        "unknown_qualifier.edi.aperak.edi",
        "unknown_qualifier.edi.contrl.edi",
    ]
