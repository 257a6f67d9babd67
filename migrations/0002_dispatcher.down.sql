-- Reverts 0002_dispatcher.sql. What the dropped columns held is lost: which
-- dispatcher made each attempt, and the parking state of waiting deliveries
-- (they are sent again when the retry scheduler finds them).
DROP TABLE webhook_rate_slots;
DROP INDEX deliveries_due_idx;
ALTER TABLE deliveries
    DROP COLUMN parked,
    DROP COLUMN rate_slot_at;
ALTER TABLE delivery_attempts DROP COLUMN dispatcher_id;
