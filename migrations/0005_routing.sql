-- Event routing (docs/ingest.md, "Event types" and "Routing").

-- The event type catalogue: an id for each entry (the API shows it beside the
-- name, which stays the key), an optional JSON Schema (draft 2020-12) that
-- every new event of the type must match, a deprecation flag shown to
-- subscribers, and archiving: an archived type accepts no new events, while
-- its subscriptions and history stay. New entries get their id from ingest
-- (UUIDv7); the default gives the existing ones theirs.
ALTER TABLE event_types
    ADD COLUMN id          UUID NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN schema      JSONB CHECK (schema IS NULL OR jsonb_typeof(schema) = 'object'),
    ADD COLUMN deprecated  BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN archived_at TIMESTAMPTZ;
ALTER TABLE event_types ADD CONSTRAINT event_types_id_key UNIQUE (id);

-- An endpoint's payload filter (NULL: every event of its types). Its
-- event_types entries may now be patterns (order.*, order.>, >); fan-out
-- matches both in the dispatcher, so neither needs an index.
ALTER TABLE webhooks ADD COLUMN filter JSONB CHECK (filter IS NULL OR jsonb_typeof(filter) = 'object');
