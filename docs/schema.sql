-- The current schema of a Herald database: every migration of migrations/
-- applied in order (later migrations replace earlier constraints and indexes,
-- so no single file shows it). Read back from the catalogs by the test
-- deploy::migrations::docs_schema_sql_is_the_migrated_schema; do not edit by
-- hand: after a new migration, run that test with HERALD_WRITE_SCHEMA=1.

CREATE TABLE api_keys (
    id uuid NOT NULL,
    tenant_id text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    key_hash bytea NOT NULL,
    key_prefix text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    scopes text[] DEFAULT ARRAY['read'::text, 'write'::text, 'events:publish'::text] NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE,
    CONSTRAINT api_keys_scopes_check CHECK (((cardinality(scopes) > 0) AND (scopes <@ ARRAY['read'::text, 'write'::text, 'events:publish'::text])))
);

CREATE TABLE deliveries (
    id uuid NOT NULL,
    event_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    tenant_id text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_status_code integer,
    last_error text,
    next_retry_at timestamp with time zone,
    delivered_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    rate_slot_at timestamp with time zone,
    parked integer DEFAULT 0 NOT NULL,
    event_type text,
    schedule_start integer DEFAULT 0 NOT NULL,
    failed_at timestamp with time zone,
    CONSTRAINT deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT deliveries_event_id_webhook_id_key UNIQUE (event_id, webhook_id),
    CONSTRAINT deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'retrying'::text, 'failed'::text])))
) WITH (fillfactor=70);

CREATE TABLE delivery_attempts (
    id uuid NOT NULL,
    delivery_id uuid NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration_ms integer NOT NULL,
    status_code integer,
    error text,
    response_body text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    dispatcher_id text,
    headers jsonb,
    CONSTRAINT delivery_attempts_pkey PRIMARY KEY (id)
);

CREATE TABLE event_types (
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    schema jsonb,
    deprecated boolean DEFAULT false NOT NULL,
    archived_at timestamp with time zone,
    CONSTRAINT event_types_pkey PRIMARY KEY (name),
    CONSTRAINT event_types_id_key UNIQUE (id),
    CONSTRAINT event_types_schema_check CHECK (((schema IS NULL) OR (jsonb_typeof(schema) = 'object'::text)))
);

CREATE TABLE events (
    id uuid NOT NULL,
    tenant_id text NOT NULL,
    event_type text NOT NULL,
    payload text NOT NULL,
    idempotency_key text,
    published_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    target_webhook_id uuid,
    CONSTRAINT events_pkey PRIMARY KEY (id)
);

CREATE TABLE herald_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT herald_migrations_pkey PRIMARY KEY (version)
);

CREATE TABLE idempotency_keys (
    tenant_id text NOT NULL,
    key text NOT NULL,
    event_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, key)
);

CREATE TABLE tenants (
    id text NOT NULL,
    name text NOT NULL,
    max_endpoints integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_id_check CHECK ((id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT tenants_max_endpoints_check CHECK (((max_endpoints IS NULL) OR (max_endpoints >= 0)))
);

CREATE TABLE webhook_rate_slots (
    webhook_id uuid NOT NULL,
    next_slot_at timestamp with time zone NOT NULL,
    CONSTRAINT webhook_rate_slots_pkey PRIMARY KEY (webhook_id),
    CONSTRAINT webhook_rate_slots_webhook_id_fkey FOREIGN KEY (webhook_id) REFERENCES webhooks(id) ON DELETE CASCADE
);

CREATE TABLE webhooks (
    id uuid NOT NULL,
    tenant_id text NOT NULL,
    url text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    event_types text[] NOT NULL,
    secret_ciphertext bytea NOT NULL,
    previous_secret_ciphertext bytea,
    previous_secret_expires_at timestamp with time zone,
    headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    custom_payload jsonb,
    payload_format text DEFAULT 'standard'::text NOT NULL,
    rate_limit_per_second integer,
    max_in_flight integer,
    active boolean DEFAULT true NOT NULL,
    disabled_reason text,
    disabled_at timestamp with time zone,
    failing_since timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    filter jsonb,
    ordering text DEFAULT 'unordered'::text NOT NULL,
    signature_scheme text DEFAULT 'hmac'::text NOT NULL,
    public_key text,
    previous_public_key text,
    retry_schedule text[],
    retry_on_4xx boolean DEFAULT true NOT NULL,
    failing_notified_at timestamp with time zone,
    CONSTRAINT webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT webhooks_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE,
    CONSTRAINT webhooks_filter_check CHECK (((filter IS NULL) OR (jsonb_typeof(filter) = 'object'::text))),
    CONSTRAINT webhooks_max_in_flight_check CHECK (((max_in_flight IS NULL) OR (max_in_flight > 0))),
    CONSTRAINT webhooks_ordering_check CHECK ((ordering = ANY (ARRAY['unordered'::text, 'fifo'::text]))),
    CONSTRAINT webhooks_payload_format_check CHECK ((payload_format = ANY (ARRAY['standard'::text, 'raw'::text]))),
    CONSTRAINT webhooks_rate_limit_per_second_check CHECK (((rate_limit_per_second IS NULL) OR (rate_limit_per_second > 0))),
    CONSTRAINT webhooks_signature_scheme_check CHECK ((signature_scheme = ANY (ARRAY['hmac'::text, 'ed25519'::text])))
);

CREATE INDEX api_keys_tenant_idx ON api_keys USING btree (tenant_id, created_at);
CREATE INDEX deliveries_due_idx ON deliveries USING btree (next_retry_at) WHERE (next_retry_at IS NOT NULL);
CREATE INDEX deliveries_tenant_idx ON deliveries USING btree (tenant_id, id);
CREATE INDEX deliveries_tenant_type_idx ON deliveries USING btree (tenant_id, event_type, id);
CREATE INDEX deliveries_webhook_idx ON deliveries USING btree (webhook_id, id);
CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts USING btree (delivery_id, started_at);
CREATE INDEX events_tenant_idx ON events USING btree (tenant_id, id);
CREATE INDEX events_tenant_type_idx ON events USING btree (tenant_id, event_type, id);
CREATE INDEX events_unpublished_idx ON events USING btree (created_at, id) WHERE (published_at IS NULL);
CREATE INDEX webhooks_failing_idx ON webhooks USING btree (failing_since) WHERE ((failing_since IS NOT NULL) AND active);
CREATE INDEX webhooks_tenant_idx ON webhooks USING btree (tenant_id, id);
