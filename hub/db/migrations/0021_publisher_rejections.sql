-- Refused input per publisher and UTC day of the refusal (issue 20): what each publisher's
-- feedback and data-quality scorecard count. `publisher` is the port's UN/LOCODE for a port
-- ('PECLL'), the country's ISO alpha-2 code for a single window ('PE'), or '' when the way in
-- could not tell who sent the record. rejected_event_counts keeps the totals by domain and reason.
CREATE TABLE publisher_rejection_counts (
    publisher  text NOT NULL,
    day        date NOT NULL,
    domain     text NOT NULL,
    reason     text NOT NULL,
    events     bigint NOT NULL DEFAULT 0,
    last_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (publisher, day, domain, reason)
);
