-- Tenant API keys get scopes, an optional expiry and the time of last use.
-- Keys made before keep every scope, so nothing stops working on upgrade.
ALTER TABLE api_keys
    ADD COLUMN scopes TEXT[] NOT NULL DEFAULT ARRAY['read', 'write', 'events:publish']
        CHECK (cardinality(scopes) > 0
               AND scopes <@ ARRAY['read', 'write', 'events:publish']),
    ADD COLUMN expires_at TIMESTAMPTZ,
    -- Written at most once a minute per key and ingest node, off the request path.
    ADD COLUMN last_used_at TIMESTAMPTZ;
