-- Delivery guarantees (issue 15): FIFO endpoints, ed25519 signatures,
-- per-endpoint retry policy, operational events, idempotency keys that
-- expire (docs/dispatcher.md, docs/ingest.md).

-- Endpoint settings. ordering is chosen at creation (a FIFO line is a
-- JetStream consumer that starts at the endpoint's creation). For
-- signature_scheme 'ed25519' the secret columns hold the whsk_ signing key
-- (encrypted like an HMAC secret) and public_key its whpk_ public key;
-- previous_public_key is the rotated-out key while it still signs.
-- retry_schedule overrides HERALD_RETRY_SCHEDULE (durations such as '5s').
-- failing_notified_at: when herald.endpoint.failing was emitted for the
-- current failure period.
ALTER TABLE webhooks
    ADD COLUMN ordering TEXT NOT NULL DEFAULT 'unordered'
        CHECK (ordering IN ('unordered', 'fifo')),
    ADD COLUMN signature_scheme TEXT NOT NULL DEFAULT 'hmac'
        CHECK (signature_scheme IN ('hmac', 'ed25519')),
    ADD COLUMN public_key TEXT,
    ADD COLUMN previous_public_key TEXT,
    ADD COLUMN retry_schedule TEXT[],
    ADD COLUMN retry_on_4xx BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN failing_notified_at TIMESTAMPTZ;

-- When a delivery first failed for good: herald.delivery.failed is emitted
-- when it is set, herald.delivery.recovered when such a delivery is
-- delivered later.
ALTER TABLE deliveries ADD COLUMN failed_at TIMESTAMPTZ;

-- Idempotency keys expire after HERALD_IDEMPOTENCY_WINDOW: the key, not the
-- event, is unique, and a key older than the window is taken over by the
-- next event that uses it (one statement with the event insert).
CREATE TABLE idempotency_keys (
    tenant_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    event_id   UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
INSERT INTO idempotency_keys (tenant_id, key, event_id, created_at)
    SELECT tenant_id, idempotency_key, id, created_at FROM events
    WHERE idempotency_key IS NOT NULL;
DROP INDEX events_idempotency_idx;

-- Operational events: ordinary event types with reserved names.
INSERT INTO event_types (name, description) VALUES
    ('herald.endpoint.disabled', 'Herald disabled an endpoint (410 Gone, failing too long, or through the API).'),
    ('herald.endpoint.enabled', 'An endpoint was enabled again.'),
    ('herald.endpoint.failing', 'Deliveries to an endpoint have failed for longer than the failing threshold.'),
    ('herald.endpoint.recovered', 'A failing endpoint accepted a delivery again.'),
    ('herald.delivery.failed', 'A delivery failed for good (its last attempt failed).'),
    ('herald.delivery.recovered', 'A delivery that had failed was delivered later.')
ON CONFLICT (name) DO NOTHING;
