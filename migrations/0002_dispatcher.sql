-- Dispatcher bookkeeping (herald-dispatcher, see docs/dispatcher.md).

-- Which dispatcher made each attempt (its HERALD_DISPATCHER_ID), for operators
-- reading the log and for tests proving that replicas share the work.
ALTER TABLE delivery_attempts ADD COLUMN dispatcher_id TEXT;

-- A delivery waiting for its endpoint (parked by the in-flight cap or the
-- rate limit, without an attempt) keeps status 'pending' or 'retrying' and
-- sets next_retry_at, like a retry. rate_slot_at is the rate-limit slot already
-- reserved for its next send, so it does not queue again when it comes back.
-- parked counts deferrals; it keeps re-published job ids unique.
ALTER TABLE deliveries
    ADD COLUMN rate_slot_at TIMESTAMPTZ,
    ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;

-- What the retry scheduler polls: every delivery waiting to be sent again.
CREATE INDEX deliveries_due_idx ON deliveries (next_retry_at)
    WHERE next_retry_at IS NOT NULL AND status IN ('pending', 'retrying');

-- Per-endpoint rate limit shared by every dispatcher: the start of the next
-- free send slot (GCRA with no burst). Only endpoints with
-- rate_limit_per_second have a row.
CREATE TABLE webhook_rate_slots (
    webhook_id   UUID PRIMARY KEY REFERENCES webhooks (id) ON DELETE CASCADE,
    next_slot_at TIMESTAMPTZ NOT NULL
);
