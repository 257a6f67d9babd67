-- Undo 0004_console.sql.
DELETE FROM event_types WHERE name = 'webhook.test';
ALTER TABLE delivery_attempts DROP COLUMN headers;
ALTER TABLE deliveries DROP COLUMN schedule_start;
DROP INDEX deliveries_webhook_idx;
CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, created_at DESC);
DROP INDEX deliveries_tenant_type_idx;
ALTER TABLE deliveries DROP COLUMN event_type;
DROP INDEX events_tenant_type_idx;
ALTER TABLE events DROP COLUMN target_webhook_id;
