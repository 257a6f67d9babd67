-- Reverts 0007_security.sql: drops the scopes, expiry and last use of API
-- keys (every key then has full access and never expires, as before).
ALTER TABLE api_keys
    DROP COLUMN last_used_at,
    DROP COLUMN expires_at,
    DROP COLUMN scopes;
