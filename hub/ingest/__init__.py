"""The ingest: the one way an event is checked, keyed, sent to Kafka or dead-lettered.

Every way in uses it: HTTP (:mod:`hub.api` reads the request and writes the answer), the Kafka
gateway for ports' own topics (:mod:`hub.ingest.gateway`), EDIFACT (:mod:`hub.ingest.edifact`),
AIS (:mod:`hub.ingest.ais`) and the CLI. :mod:`hub.ingest.core` holds what they share (the
context they need open, the checks of one event, sending it keyed by port, sending refused
records to the dead-letter topic); :mod:`hub.ingest.batch` takes a batch of JSON events (the
body of ``POST /v1/events``). :mod:`hub.ingest.decode` decodes a record off the ingest topics
(the worker's first step, the gateway's check); :mod:`hub.ingest.deadletter` builds the one
dead-letter record.
"""
