"""UN/EDIFACT connector: terminal and customs interchanges ⇄ the hub's events.

Pure logic, no I/O: :func:`read_interchange` turns an interchange's text into events and
problems (each with its line), :func:`write_interchange` turns events into an interchange. The
message implementation profile (which segment and qualifier carries each hub field, what is
refused and why) is ``docs/edifact.md``; each module's docstring states its part.

Modules: :mod:`.syntax` (ISO 9735 text, on pydifact), :mod:`.interchange` (UNB/UNH/UNT/UNZ),
:mod:`.messages` (which message carries which event), :mod:`.cargo` (COARRI, CODECO),
:mod:`.berman`, :mod:`.cusres`, :mod:`.profile` (drafting events, event ids),
:mod:`.results` (what reading gives), :mod:`.acknowledgements` (the CONTRL and APERAK answering an
interchange).
"""

from connectors.edifact.interchange import read_interchange, write_interchange
from connectors.edifact.messages import writable
from connectors.edifact.results import InterchangeResult, MessageResult, Problem, format_problem

__all__ = [
    "InterchangeResult",
    "MessageResult",
    "Problem",
    "format_problem",
    "read_interchange",
    "writable",
    "write_interchange",
]
