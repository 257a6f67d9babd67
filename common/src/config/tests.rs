use std::sync::Mutex;
use std::time::Duration;

use super::settings::SETTINGS;
use super::*;

#[test]
fn defaults_are_valid_in_local_mode() {
    let c = Config::from_source(&MapEnv::new()).expect("defaults");
    assert_eq!(c.mode, Mode::Local);
    assert_eq!(c.retry.schedule.len(), 7);
    assert_eq!(c.retry.schedule[0], Duration::from_secs(5));
    assert!(matches!(c.security.keys, KeySource::LocalFile(_)));
    assert_eq!(c.ingest.max_body_bytes, 262_144);
    assert_eq!(c.nats.describe(), "nats://127.0.0.1:4222");
    assert!(c.dispatcher.id.starts_with("dispatcher-"));
}

#[test]
fn production_requires_secrets_and_reports_every_error() {
    let env = MapEnv::new()
        .with("HERALD_MODE", "production")
        .with("HERALD_DATABASE_POOL_SIZE", "zero")
        .with("HERALD_RETRY_SCHEDULE", "5s,soon")
        .with("HERALD_NATS_URL", "nats://127.0.0.1:4222,http://nats:4222")
        .with("HERALD_URL_ALLOWLIST", "10.0.0.0/8,10.0.0.0/99");
    let err = Config::from_source(&env).expect_err("must fail");
    let text = err.to_string();
    for var in [
        "HERALD_ADMIN_TOKEN",
        "HERALD_ENCRYPTION_KEY",
        "HERALD_DATABASE_POOL_SIZE",
        "HERALD_RETRY_SCHEDULE",
        "HERALD_NATS_URL entry \"http://nats:4222\"",
        "HERALD_URL_ALLOWLIST entry \"10.0.0.0/99\"",
    ] {
        assert!(text.contains(var), "{var}: {text}");
    }
    assert_eq!(err.0.len(), 6, "{text}");
}

#[test]
fn one_of_settings_accept_their_names_and_list_them_when_wrong() {
    let cases = [
        ("HERALD_MODE", "prod", None),
        ("HERALD_MODE", "dev", None),
        (
            "HERALD_MODE",
            "staging",
            Some("not one of local, production"),
        ),
        ("HERALD_STREAM_STORAGE", "memory", None),
        (
            "HERALD_STREAM_STORAGE",
            "disk",
            Some("not one of file, memory"),
        ),
        ("HERALD_LOG_FORMAT", "json", None),
        ("HERALD_LOG_FORMAT", "xml", Some("not one of text, json")),
    ];
    for (var, value, error) in cases {
        // Production needs secrets; give them so only `var` can be wrong.
        let env = MapEnv::new()
            .with("HERALD_ADMIN_TOKEN", "a-long-enough-token")
            .with(
                "HERALD_ENCRYPTION_KEY",
                crate::crypto::EncryptionKey::generate_base64(),
            )
            .with(var, value);
        match (Config::from_source(&env), error) {
            (Ok(_), None) => {}
            (Err(e), Some(want)) => assert!(e.to_string().contains(want), "{var}={value}: {e}"),
            (got, want) => panic!("{var}={value}: got {got:?}, wanted error {want:?}"),
        }
    }
}

#[test]
fn values_out_of_range_are_errors() {
    for (var, value) in [
        ("HERALD_STREAM_REPLICAS", "6"),
        ("HERALD_STREAM_REPLICAS", "0"),
        ("HERALD_RETRY_JITTER", "1.5"),
        ("HERALD_MAX_ENDPOINTS_PER_TENANT", "-1"),
        ("HERALD_ADMIN_TOKEN", "short"),
        ("HERALD_DATABASE_URL", "mysql://x"),
        ("HERALD_NATS_URL", " , "),
    ] {
        let err = Config::from_source(&MapEnv::new().with(var, value)).expect_err(var);
        assert!(err.to_string().contains(var), "{var}={value}: {err}");
    }
}

#[test]
fn durations_accept_milliseconds_and_units() {
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
    assert!(parse_duration("soon").is_err());
    assert!(parse_retry_schedule("").is_err());
}

#[test]
fn secrets_do_not_print() {
    let env = MapEnv::new()
        .with("HERALD_ADMIN_TOKEN", "a-very-secret-token")
        .with(
            "HERALD_NATS_URL",
            "nats://herald:nats-password@127.0.0.1:4222",
        );
    let debug = format!("{:?}", Config::from_source(&env).expect("valid"));
    assert!(!debug.contains("a-very-secret-token"), "{debug}");
    assert!(!debug.contains("nats-password"), "{debug}");
}

/// An [`Env`] that remembers what was asked.
#[derive(Default)]
struct Recording(Mutex<Vec<String>>);

impl Env for Recording {
    fn get(&self, key: &str) -> Option<String> {
        if let Ok(mut asked) = self.0.lock() {
            asked.push(key.to_string());
        }
        None
    }
}

#[test]
fn the_parser_reads_every_declared_setting_and_nothing_else() {
    let env = Recording::default();
    Config::from_source(&env).expect("defaults");
    let mut asked = env.0.into_inner().expect("lock");
    asked.sort_unstable();
    asked.dedup();
    // Outside Herald's names, only where a local key file goes by default.
    let (asked, outside): (Vec<String>, Vec<String>) =
        asked.into_iter().partition(|n| n.starts_with("HERALD_"));
    assert_eq!(outside, ["HOME", "XDG_STATE_HOME"]);
    let mut declared: Vec<String> = SETTINGS.iter().map(|s| s.name.to_string()).collect();
    declared.sort_unstable();
    assert_eq!(asked, declared);
}

#[test]
fn the_test_environment_is_valid() {
    let c = Config::for_tests("postgres://x@127.0.0.1/db", "nats://127.0.0.1:1");
    assert_eq!(c.ingest.listen.port(), 0);
    assert_eq!(c.retry.schedule.len(), 3);
}

#[test]
fn retention_defaults_to_30_days_and_is_at_least_an_hour() {
    let c = Config::from_source(&MapEnv::new()).expect("defaults");
    assert_eq!(c.ingest.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(c.ingest.retention_interval, Duration::from_secs(60));
    assert_eq!(c.ingest.retention_batch, 500);
    let short = MapEnv::new().with("HERALD_RETENTION", "10m");
    let err = Config::from_source(&short).expect_err("too short");
    assert!(err.to_string().contains("HERALD_RETENTION"), "{err}");
}

#[test]
fn stream_limits_are_unlimited_by_default_and_read_as_sizes() {
    let c = Config::from_source(&MapEnv::new()).expect("defaults");
    assert_eq!(
        (c.streams.events_max_bytes, c.streams.deliveries_max_bytes),
        (None, None)
    );
    assert_eq!(c.streams.ack_wait, Duration::from_secs(10));
    assert_eq!(
        c.dispatcher.integrity_check_interval,
        Duration::from_secs(60)
    );
    let cases = [
        ("64KiB", Ok(Some(65_536))),
        ("1 GiB", Ok(Some(1 << 30))),
        ("2GB", Ok(Some(2_000_000_000))),
        ("1048576", Ok(Some(1_048_576))),
        ("Unlimited", Ok(None)),
        ("512", Err(())),
        ("lots", Err(())),
        ("-1", Err(())),
    ];
    for (text, want) in cases {
        assert_eq!(parse_max_bytes(text).map_err(|_| ()), want, "{text}");
    }
    let env = MapEnv::new()
        .with("HERALD_EVENTS_MAX_BYTES", "64MiB")
        .with("HERALD_DELIVERIES_MAX_BYTES", "a lot");
    let err = Config::from_source(&env).expect_err("bad size");
    assert!(
        err.to_string().contains("HERALD_DELIVERIES_MAX_BYTES"),
        "{err}"
    );
    assert_eq!(err.0.len(), 1, "{err}");
}
