"""The domain: what the hub computes, defined once and free of I/O.

:mod:`hub.domain.kpis` (the logistics KPIs and their batch reference ``all_kpis``),
:mod:`hub.domain.certificates` (the certificate-of-origin rules) and
:mod:`hub.domain.indicators` (the aggregate indicators, ``all_indicators``), over the reference data
in :mod:`hub.domain.reference`; :mod:`hub.domain.keys` (the entity keys events are stored and marked
under). Nothing here reads settings, opens a connection or imports the store, the ingest, the
worker or the API (``.importlinter`` enforces it): the worker and the API call these definitions,
and the property tests check the streaming state against them.
"""
