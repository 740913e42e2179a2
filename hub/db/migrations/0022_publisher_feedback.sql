-- Each refusal of a known publisher, readable by that publisher (issue 20): `GET /v1/feedback`
-- and the feedback topics (`ports.<PORT>.feedback`, `customs.<ISO2>.feedback`) are fed from here
-- by the API's feedback forwarder, which reads `hub.deadletter`. `publisher` as in
-- publisher_rejection_counts (migration 0021): a port's UN/LOCODE or a single window's ISO code.
-- `letter` is the dead letter's own place (`<partition>/<offset>` of hub.deadletter): a letter read
-- again after a crash (same place, same time) is stored once; a topic made anew reuses places, not
-- times. `source` is where the refused record came from: its
-- `topic/partition/offset` when it came over Kafka, else the way in (`http:/v1/events/vessel`).
-- Rows older than HUB_FEEDBACK_RETENTION_DAYS are deleted by the forwarder.
CREATE TABLE publisher_feedback (
    id          bigserial PRIMARY KEY,
    publisher   text NOT NULL,
    domain      text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL,
    event_id    uuid,
    source      text NOT NULL,
    letter      text NOT NULL,
    refused_at  timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (letter, refused_at)
);
-- A publisher's newest first (the API's order and cursor), and the retention's scan.
CREATE INDEX publisher_feedback_by_publisher ON publisher_feedback (publisher, id DESC);
CREATE INDEX publisher_feedback_refused_at ON publisher_feedback (refused_at);
