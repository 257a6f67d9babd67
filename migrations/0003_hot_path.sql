-- The hot path's tables, made cheaper to write (docs/benchmarks.md).

-- Foreign keys on the tables written once or more per event cost a row lock
-- (FOR KEY SHARE, itself a WAL record) on the referenced row for every row
-- written: about 50 us each, three per delivery. Integrity is kept by the
-- statements that write these rows instead:
--   * events.tenant_id: the caller's tenant was just authenticated;
--   * deliveries: fan-out inserts only for events that exist and endpoints
--     it has locked FOR KEY SHARE once per group, and deleting an endpoint
--     deletes its deliveries and their attempts in the same transaction;
--   * delivery_attempts: the attempt log inserts only for existing deliveries.
ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_event_id_fkey,
    DROP CONSTRAINT deliveries_webhook_id_fkey,
    DROP CONSTRAINT deliveries_tenant_id_fkey;
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_delivery_id_fkey;

-- A delivery's status changes once or more after its insert. No index may
-- mention the status (not even in its predicate), so that the change is a
-- HOT update: a new row version on the same page and no index entries. The
-- retry scheduler's index keys on next_retry_at alone, which is NULL once a
-- delivery is delivered or failed. deliveries_retry_idx had no reader.
DROP INDEX deliveries_retry_idx;
DROP INDEX deliveries_due_idx;
CREATE INDEX deliveries_due_idx ON deliveries (next_retry_at) WHERE next_retry_at IS NOT NULL;
-- Room on each page for a row's next version.
ALTER TABLE deliveries SET (fillfactor = 70);
