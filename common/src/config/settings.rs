//! The one declaration of every `HERALD_*` setting: its name, section,
//! default and meaning. The parser reads variables only through these
//! constants, the test environments name them through these constants, and
//! the README's settings table is generated from [`SETTINGS`] (a test
//! compares the two).

/// One environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub section: Section,
    pub default: Fallback,
    /// What it means, one line of Markdown (no `|`).
    pub help: &'static str,
}

/// What a setting is when the variable is unset (or empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// This value, parsed like a set one.
    Value(&'static str),
    /// Computed by the parser (it depends on the mode or the process); the
    /// words describe it, in Markdown.
    Described(&'static str),
}

/// Where a setting lands in [`super::Config`], and its heading in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    General,
    Database,
    Nats,
    Streams,
    Ingest,
    Dispatcher,
    Retry,
    Security,
    Logging,
}

impl Section {
    pub const ALL: [Section; 9] = [
        Section::General,
        Section::Database,
        Section::Nats,
        Section::Streams,
        Section::Ingest,
        Section::Dispatcher,
        Section::Retry,
        Section::Security,
        Section::Logging,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::General => "General",
            Section::Database => "PostgreSQL",
            Section::Nats => "NATS",
            Section::Streams => "JetStream streams and consumers",
            Section::Ingest => "Ingest",
            Section::Dispatcher => "Dispatcher",
            Section::Retry => "Retries",
            Section::Security => "Security",
            Section::Logging => "Logging",
        }
    }
}

macro_rules! settings {
    ($($id:ident: $section:ident, $name:literal, $kind:ident($default:literal), $help:literal;)*) => {
        $(pub const $id: Setting = Setting {
            name: $name,
            section: Section::$section,
            default: Fallback::$kind($default),
            help: $help,
        };)*
        /// Every setting, in the README's order.
        pub const SETTINGS: &[Setting] = &[$($id),*];
    };
}

settings! {
    MODE: General, "HERALD_MODE", Value("local"), "`local` allows development defaults (with warnings); `production` requires `HERALD_ADMIN_TOKEN` and `HERALD_ENCRYPTION_KEY` (or `HERALD_ENCRYPTION_KEYS`)";
    DATABASE_URL: Database, "HERALD_DATABASE_URL", Value("postgres://postgres@127.0.0.1:5432/herald"), "PostgreSQL connection URL (`postgres://` or `postgresql://`)";
    DATABASE_POOL_SIZE: Database, "HERALD_DATABASE_POOL_SIZE", Value("16"), "connections per process";
    NATS_URL: Nats, "HERALD_NATS_URL", Value("nats://127.0.0.1:4222"), "NATS server(s), comma-separated for a cluster: `nats://host:port` (or `tls://`, `ws://`, `wss://`)";
    STREAM_REPLICAS: Streams, "HERALD_STREAM_REPLICAS", Value("1"), "JetStream replicas of both streams, 1 to 5 (3 in a cluster)";
    STREAM_STORAGE: Streams, "HERALD_STREAM_STORAGE", Value("file"), "`file` or `memory`";
    STREAM_MAX_AGE: Streams, "HERALD_STREAM_MAX_AGE", Value("7d"), "how long events and jobs are kept in JetStream";
    DUPLICATE_WINDOW: Streams, "HERALD_DUPLICATE_WINDOW", Value("10m"), "JetStream de-duplication window for `Nats-Msg-Id`";
    EVENTS_MAX_BYTES: Streams, "HERALD_EVENTS_MAX_BYTES", Value("unlimited"), "largest size of `HERALD_EVENTS` (e.g. `1GiB`); when full, publishes fail and events wait in ingest's outbox until fan-out frees space";
    DELIVERIES_MAX_BYTES: Streams, "HERALD_DELIVERIES_MAX_BYTES", Value("unlimited"), "largest size of `HERALD_DELIVERIES` (e.g. `1GiB`); when full, fan-out waits (its events come back) until deliveries free space";
    ACK_WAIT: Streams, "HERALD_ACK_WAIT", Value("10s"), "redelivery of a crashed dispatcher's messages; a live one keeps slow work in progress";
    FANOUT_MAX_ACK_PENDING: Streams, "HERALD_FANOUT_MAX_ACK_PENDING", Value("10000"), "`max_ack_pending` of consumer `fanout`";
    DELIVER_MAX_ACK_PENDING: Streams, "HERALD_DELIVER_MAX_ACK_PENDING", Value("10000"), "`max_ack_pending` of consumer `deliver`";
    LISTEN: Ingest, "HERALD_LISTEN", Value("127.0.0.1:8080"), "ingest's HTTP address";
    MAX_BODY_BYTES: Ingest, "HERALD_MAX_BODY_BYTES", Value("262144"), "largest request body ingest accepts (413 beyond)";
    MAX_BATCH_EVENTS: Ingest, "HERALD_MAX_BATCH_EVENTS", Value("1000"), "events per `POST /events/batch`";
    RETENTION: Ingest, "HERALD_RETENTION", Value("30d"), "events, deliveries and attempts older than this are deleted (at least 1h)";
    RETENTION_INTERVAL: Ingest, "HERALD_RETENTION_INTERVAL", Value("1m"), "how often ingest's retention task starts a round";
    RETENTION_BATCH: Ingest, "HERALD_RETENTION_BATCH", Value("500"), "events deleted per retention batch, with their deliveries and attempts";
    IDEMPOTENCY_WINDOW: Ingest, "HERALD_IDEMPOTENCY_WINDOW", Value("24h"), "how long an idempotency key returns its event (a repeat) or refuses another payload (409); later it makes a new event, and the retention task deletes the key";
    MAX_ENDPOINTS_PER_TENANT: Ingest, "HERALD_MAX_ENDPOINTS_PER_TENANT", Value("100"), "endpoint limit per tenant (0 or more)";
    SECRET_ROTATION_GRACE: Ingest, "HERALD_SECRET_ROTATION_GRACE", Value("24h"), "how long a rotated-out secret keeps signing";
    REQUEST_TIMEOUT: Ingest, "HERALD_REQUEST_TIMEOUT", Value("30s"), "ingest request timeout";
    EVENT_WRITERS: Ingest, "HERALD_EVENT_WRITERS", Value("8"), "most event insert statements in flight per ingest node; while one runs, arriving requests form the next group, and another starts beside it only for 500+ rows";
    OUTBOX_INTERVAL: Ingest, "HERALD_OUTBOX_INTERVAL", Value("1s"), "how often the outbox relay looks for unpublished events";
    INGEST_METRICS_LISTEN: Ingest, "HERALD_INGEST_METRICS_LISTEN", Described("empty: `/metrics` is served on `HERALD_LISTEN`"), "a separate address for ingest's `/metrics` (and `/healthz`); when set, `/metrics` on `HERALD_LISTEN` answers 404";
    RATE_LIMIT: Ingest, "HERALD_RATE_LIMIT", Value("0"), "events per second each tenant may send through `POST /events` and `/events/batch` (a batch counts its events); beyond it `429` with `Retry-After`; `0`: no limit";
    RATE_LIMIT_BURST: Ingest, "HERALD_RATE_LIMIT_BURST", Value("1000"), "events a tenant may send at once above its rate (a batch larger than this is refused)";
    TENANT_RATE_LIMITS: Ingest, "HERALD_TENANT_RATE_LIMITS", Described("empty"), "per-tenant overrides, comma-separated `tenant=rate` or `tenant=rate/burst` (`0`: no limit)";
    METRICS_LISTEN: Dispatcher, "HERALD_METRICS_LISTEN", Value("127.0.0.1:9091"), "dispatcher's `/metrics` and `/healthz` address (9090 is left to Prometheus)";
    DISPATCHER_ID: Dispatcher, "HERALD_DISPATCHER_ID", Described("`dispatcher-<pid>`"), "name of this dispatcher in logs, metrics and the attempt log";
    DISPATCHER_CONCURRENCY: Dispatcher, "HERALD_DISPATCHER_CONCURRENCY", Value("256"), "deliveries in flight per dispatcher";
    FETCH_BATCH: Dispatcher, "HERALD_FETCH_BATCH", Value("256"), "messages pulled per JetStream fetch, and due retries claimed per poll";
    DELIVERY_TIMEOUT: Dispatcher, "HERALD_DELIVERY_TIMEOUT", Value("10s"), "total timeout of one delivery attempt";
    CONNECT_TIMEOUT: Dispatcher, "HERALD_CONNECT_TIMEOUT", Value("10s"), "TCP/TLS connect timeout of a delivery";
    RESPONSE_BODY_LIMIT: Dispatcher, "HERALD_RESPONSE_BODY_LIMIT", Value("1024"), "bytes of each response body kept in the attempt log";
    ENDPOINT_MAX_IN_FLIGHT: Dispatcher, "HERALD_ENDPOINT_MAX_IN_FLIGHT", Value("16"), "default cap on concurrent requests per endpoint";
    AUTO_DISABLE_AFTER: Dispatcher, "HERALD_AUTO_DISABLE_AFTER", Value("5d"), "disable an endpoint whose deliveries have all failed this long";
    ENDPOINT_FAILING_AFTER: Dispatcher, "HERALD_ENDPOINT_FAILING_AFTER", Value("1h"), "emit `herald.endpoint.failing` once an endpoint's deliveries have failed this long since its last success";
    ENDPOINT_REFRESH_INTERVAL: Dispatcher, "HERALD_ENDPOINT_REFRESH_INTERVAL", Value("30s"), "full refresh of the dispatcher's endpoint cache";
    RETRY_POLL_INTERVAL: Dispatcher, "HERALD_RETRY_POLL_INTERVAL", Value("1s"), "how often dispatchers look for due retries";
    INTEGRITY_CHECK_INTERVAL: Dispatcher, "HERALD_INTEGRITY_CHECK_INTERVAL", Value("1m"), "how often a dispatcher looks for deliveries and attempts whose event, endpoint or delivery was deleted meanwhile (rows at least this old), and removes them";
    DIRECT_FIRST_ATTEMPT: Dispatcher, "HERALD_DIRECT_FIRST_ATTEMPT", Value("true"), "fan-out makes a new delivery's first attempt itself when its endpoint has room at once (not FIFO, no rate limit, a free in-flight place and concurrency permit), instead of a job through `HERALD_DELIVERIES`; the event is acked once that attempt is recorded. `false`: every attempt goes through a job";
    SHUTDOWN_GRACE: Dispatcher, "HERALD_SHUTDOWN_GRACE", Value("20s"), "time to finish in-flight deliveries on SIGTERM";
    RETRY_SCHEDULE: Retry, "HERALD_RETRY_SCHEDULE", Value("5s,5m,30m,2h,5h,10h,10h"), "delays between attempts (8 attempts over about a day); `ms`, `s`, `m`, `h`, `d`";
    RETRY_JITTER: Retry, "HERALD_RETRY_JITTER", Value("0.2"), "± fraction of random jitter on each delay, 0 to 1";
    ADMIN_TOKEN: Security, "HERALD_ADMIN_TOKEN", Described("`herald-local-admin-token` (local mode only)"), "admin bearer token, at least 16 characters";
    ADMIN_TOKENS: Security, "HERALD_ADMIN_TOKENS", Described("empty"), "more admin tokens, comma-separated, each at least 16 characters, accepted beside `HERALD_ADMIN_TOKEN` (rotation without downtime)";
    ENCRYPTION_KEY: Security, "HERALD_ENCRYPTION_KEY", Described("local mode: the key in `HERALD_KEY_FILE`"), "32 bytes, base64 (`openssl rand -base64 32`): encrypts endpoint secrets at rest; the same as `HERALD_ENCRYPTION_KEYS=primary:<key>`";
    ENCRYPTION_KEYS: Security, "HERALD_ENCRYPTION_KEYS", Described("empty"), "instead of `HERALD_ENCRYPTION_KEY`: comma-separated `id:base64` keys; the first encrypts, every one decrypts (rotation: put a new key first, run `herald-ingest rotate-keys`, drop the old one)";
    KEY_FILE: Security, "HERALD_KEY_FILE", Described("`$XDG_STATE_HOME/herald/encryption.key`, else `~/.local/state/herald/encryption.key`"), "local mode without a configured key: the install's own key, generated there (mode 0600) on first start and read afterwards";
    ALLOW_PRIVATE_URLS: Security, "HERALD_ALLOW_PRIVATE_URLS", Value("false"), "allow endpoint URLs resolving to loopback/private/link-local addresses";
    URL_ALLOWLIST: Security, "HERALD_URL_ALLOWLIST", Described("empty"), "comma-separated CIDRs, addresses or host names allowed despite the guard";
    LOG: Logging, "HERALD_LOG", Value("info"), "log filter (tracing `EnvFilter` syntax)";
    LOG_FORMAT: Logging, "HERALD_LOG_FORMAT", Value("text"), "`text` or `json`";
}

/// The declared setting called `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The README's settings tables: one per section, in [`Section::ALL`] order.
pub fn markdown() -> String {
    let mut out = String::new();
    for section in Section::ALL {
        out.push_str(&format!("### {}\n\n", section.title()));
        out.push_str("| variable | default | meaning |\n| --- | --- | --- |\n");
        for s in SETTINGS.iter().filter(|s| s.section == section) {
            let default = match s.default {
                Fallback::Value(v) => format!("`{v}`"),
                Fallback::Described(words) => words.to_string(),
            };
            out.push_str(&format!("| `{}` | {default} | {} |\n", s.name, s.help));
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
