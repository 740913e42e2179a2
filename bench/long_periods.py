"""What recomputing one long period costs the indicator stage: ``python -m bench.long_periods``.

Generates the traffic of one period (``--period`` quarter, half-year or year starting
``--start``) at ``--ports`` reference ports and ``--scale``, with its entity KPIs (not timed: the
stage reads those from PostgreSQL), keeps each event as the JSON text PostgreSQL hands the stage,
then times what the stage does with a period's rows in this process (parsing the payloads as
:func:`hub.db.indicator_store.events_between` does, building the inputs and running
:func:`hub.domain.indicators.reference.all_indicators`, as
``streams.indicator_stage._indicators`` does) and measures the memory that takes: the peak
resident size above the one before parsing (rows in memory already). Reading the rows out of
PostgreSQL is not measured (nor are the certificate verdicts, which it reads rather than derives).
Generation runs first, in this process; the measurement in a process of its own. Prints one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from connectors.simulator import PortTrafficGenerator
from hub.domain.indicators.inputs import (
    call_actuals,
    call_infos,
    declaration_infos,
    feed_events,
    lodged_declarations,
    move_links,
    trade_flows,
)
from hub.domain.indicators.mechanisms import load_mechanisms
from hub.domain.indicators.model import Period, PortInfo, period_end
from hub.domain.indicators.quality import QualityInputs
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.reference import all_kpis
from hub.domain.reference import BUNDLED_MECHANISMS_FILE, BUNDLED_PORTS_FILE, load_ports
from schemas.models import MODELS

_DOMAIN_OF = {model: domain for domain, model in MODELS.items()}


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _generate(period: Period, start: datetime, ports: str, scale: float, into: Path) -> None:
    end = period_end(start, period)
    chosen = [p for p in load_ports(BUNDLED_PORTS_FILE) if ports == "all" or p.unlocode in ports]
    generator = PortTrafficGenerator(chosen, seed=21, start=start, scale=scale)
    events = list(generator.events_between(start, end))
    with into.open("wb") as out:
        pickle.dump(
            (
                len(chosen),
                all_kpis(events),
                [(_DOMAIN_OF[type(e)], e.model_dump_json()) for e in events],
            ),
            out,
        )


def _measure(period: Period, start: datetime, scale: float, rows_file: Path) -> dict[str, object]:
    every_port = load_ports(BUNDLED_PORTS_FILE)
    network = [PortInfo(port.unlocode, port.country) for port in every_port]
    mechanisms = load_mechanisms(BUNDLED_MECHANISMS_FILE)
    with rows_file.open("rb") as saved:
        ports, kpis, rows = pickle.load(saved)
    before_mb = _rss_mb()
    began = time.perf_counter()
    parsed = [MODELS[domain].model_validate_json(text) for domain, text in rows]
    parsed_at = time.perf_counter()
    quality = QualityInputs(
        feed_events(parsed), call_actuals(parsed), move_links(parsed), lodged_declarations(parsed)
    )
    indicators = all_indicators(
        kpis, trade_flows(parsed), call_infos(parsed), [], network, mechanisms, period,
        declaration_infos(parsed), quality,
    )  # fmt: skip
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "period": period,
        "start": start.isoformat(),
        "ports": ports,
        "scale": scale,
        "events": len(rows),
        "payload_mb": round(sum(len(text) for _, text in rows) / 2**20, 1),
        "parse_s": round(parsed_at - began, 2),
        "indicators_s": round(done - parsed_at, 2),
        "rows": len(indicators),
        "memory_above_rows_mb": round(peak_mb - before_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--period", default="quarter", choices=["quarter", "half-year", "year"])
    parser.add_argument("--start", default="2026-01-01T00:00:00+00:00")
    parser.add_argument("--ports", default="PECLL,COCTG,MXVER", help="UN/LOCODEs, or 'all'")
    parser.add_argument("--scale", type=float, default=0.005)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)  # the measuring process
    options = parser.parse_args()
    period: Period = options.period
    start = datetime.fromisoformat(options.start)
    if options.rows is not None:
        print(json.dumps(_measure(period, start, options.scale, options.rows)))
        return
    with tempfile.TemporaryDirectory() as folder:
        rows_file = Path(folder) / "rows.pickle"
        _generate(period, start, options.ports, options.scale, rows_file)
        # A process of its own: its peak resident size is the measurement's, not generation's.
        subprocess.run(
            [sys.executable, "-m", "bench.long_periods", *sys.argv[1:], "--rows", str(rows_file)],
            check=True,
        )


if __name__ == "__main__":
    main()
