-- Undo 0005_routing.sql.
ALTER TABLE webhooks DROP COLUMN filter;
ALTER TABLE event_types
    DROP CONSTRAINT event_types_id_key,
    DROP COLUMN archived_at,
    DROP COLUMN deprecated,
    DROP COLUMN schema,
    DROP COLUMN id;
