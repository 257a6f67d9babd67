-- Reverts 0001_init.sql: drops every table of Herald's schema and ALL ITS
-- DATA. Only for taking Herald off a database; back it up first.
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE event_types;
DROP TABLE api_keys;
DROP TABLE tenants;
