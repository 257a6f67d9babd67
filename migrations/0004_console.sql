-- The operations console and the API it needs (docs/console.md): filters of
-- the delivery log and the event list served by indexes, test events sent to
-- one endpoint, a fresh retry schedule after a manual re-send, and the
-- headers of every attempt. Retention deletes by the time-ordered ids and
-- needs no index of its own.

-- An event sent to one endpoint only (POST /webhooks/{id}/test): the outbox
-- relay never publishes it (it is stored as published) and a replay never
-- sends it to another endpoint. NULL for events fanned out to subscribers.
ALTER TABLE events ADD COLUMN target_webhook_id UUID;

-- GET /events?type= and replays: a tenant's events of some types, newest first.
CREATE INDEX events_tenant_type_idx ON events (tenant_id, event_type, id);

-- Each delivery carries its event's type (written once, by whoever creates
-- the row), so the log filters by type through an index instead of a join.
-- It never changes, so delivery status updates stay HOT (0003).
ALTER TABLE deliveries ADD COLUMN event_type TEXT;
UPDATE deliveries d SET event_type = e.event_type FROM events e WHERE e.id = d.event_id;
CREATE INDEX deliveries_tenant_type_idx ON deliveries (tenant_id, event_type, id);

-- An endpoint's deliveries in id (time) order: the log's cursor order, and
-- the endpoint's stats over the last 24 h (an id range). Replaces the index
-- on (webhook_id, created_at DESC), which no statement used in id order.
DROP INDEX deliveries_webhook_idx;
CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, id);

-- Attempts made before the current retry schedule began: a manual re-send
-- sets it to the attempts so far, so the schedule starts again while the
-- attempt numbers (and the log) go on.
ALTER TABLE deliveries ADD COLUMN schedule_start INTEGER NOT NULL DEFAULT 0;

-- What each attempt sent and got back: {"request": {name: value},
-- "response": {name: value}}, signatures and secret-looking values
-- redacted, the response's cut to a few headers. NULL for older attempts.
ALTER TABLE delivery_attempts ADD COLUMN headers JSONB;

INSERT INTO event_types (name, description) VALUES
    ('webhook.test', 'A test event, sent to one endpoint by POST /webhooks/{id}/test.')
ON CONFLICT (name) DO NOTHING;
