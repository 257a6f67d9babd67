-- Reverts 0003_hot_path.sql: the foreign keys, the retry index and the
-- default fillfactor come back. Adding the foreign keys checks every row:
-- if rows written since 0003 break one (e.g. an attempt whose delivery was
-- deleted), this rollback fails and changes nothing; delete those rows first.
ALTER TABLE deliveries RESET (fillfactor);
DROP INDEX deliveries_due_idx;
CREATE INDEX deliveries_due_idx ON deliveries (next_retry_at)
    WHERE next_retry_at IS NOT NULL AND status IN ('pending', 'retrying');
CREATE INDEX deliveries_retry_idx ON deliveries (status, next_retry_at)
    WHERE status = 'retrying';

ALTER TABLE delivery_attempts
    ADD CONSTRAINT delivery_attempts_delivery_id_fkey
    FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE;
ALTER TABLE deliveries
    ADD CONSTRAINT deliveries_event_id_fkey
        FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE,
    ADD CONSTRAINT deliveries_webhook_id_fkey
        FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE,
    ADD CONSTRAINT deliveries_tenant_id_fkey
        FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE events
    ADD CONSTRAINT events_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
