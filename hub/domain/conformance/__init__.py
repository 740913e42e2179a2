"""The conformance check of a publisher's sample feed (issue 20): every check the hub makes,
without publishing, and the KPIs the feed allows.

Pure: no I/O, no settings (``now``, the known ports and the late grace are parameters). The
readers of JSON lines, Avro and EDIFACT files are ``hub.ingest.conformance_input``; the command
``hub conformance`` and ``POST /v1/conformance`` print or answer :meth:`ConformanceReport.as_json`.
``docs/conformance.md`` lists every check code and its fix.
"""

from hub.domain.conformance.check import check_event, check_feed
from hub.domain.conformance.coverage import NEEDS, event_kinds, kpi_coverage
from hub.domain.conformance.model import (
    CHECKS,
    FIXES,
    Check,
    CheckCode,
    ConformanceReport,
    FeedRecord,
    KpiCoverage,
    Pending,
    Problem,
)
from hub.domain.conformance.rules import MILESTONES, REFERENCE_HORIZON, feed_problems

__all__ = [
    "CHECKS",
    "FIXES",
    "MILESTONES",
    "NEEDS",
    "REFERENCE_HORIZON",
    "Check",
    "CheckCode",
    "ConformanceReport",
    "FeedRecord",
    "KpiCoverage",
    "Pending",
    "Problem",
    "check_event",
    "check_feed",
    "event_kinds",
    "feed_problems",
    "kpi_coverage",
]
