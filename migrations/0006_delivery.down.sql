-- Undo 0006_delivery.sql. Events that took over an expired idempotency key
-- keep it; earlier holders of the same key lose theirs so that the key is
-- unique again.
DELETE FROM event_types WHERE name IN (
    'herald.endpoint.disabled', 'herald.endpoint.enabled', 'herald.endpoint.failing',
    'herald.endpoint.recovered', 'herald.delivery.failed', 'herald.delivery.recovered');

UPDATE events e SET idempotency_key = NULL
WHERE e.idempotency_key IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM idempotency_keys k WHERE k.event_id = e.id);
CREATE UNIQUE INDEX events_idempotency_idx ON events (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
DROP TABLE idempotency_keys;

ALTER TABLE deliveries DROP COLUMN failed_at;

ALTER TABLE webhooks
    DROP COLUMN ordering,
    DROP COLUMN signature_scheme,
    DROP COLUMN public_key,
    DROP COLUMN previous_public_key,
    DROP COLUMN retry_schedule,
    DROP COLUMN retry_on_4xx,
    DROP COLUMN failing_notified_at;
