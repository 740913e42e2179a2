"""The ingest: the one way an event is checked, keyed, sent to Kafka or dead-lettered.

Every way in uses it: HTTP (:mod:`hub.api`), the Kafka gateway for ports' own topics
(:mod:`hub.ingest.gateway`), EDIFACT (:mod:`hub.ingest.edifact`) and AIS (:mod:`hub.ingest.ais`).
:mod:`hub.ingest.decode` decodes a record off the ingest topics (the worker's first step, the
gateway's check); :mod:`hub.ingest.deadletter` builds the one dead-letter record.
"""
