//! The security settings: admin tokens, encryption keys and the local key
//! file, the ingest rate limits and metrics listener.

use std::path::PathBuf;

use super::*;
use crate::crypto::EncryptionKey;

fn parsed(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let env = vars
        .iter()
        .fold(MapEnv::new(), |env, (k, v)| env.with(k, *v));
    Config::from_source(&env)
}

#[test]
fn admin_tokens_are_a_list_beside_the_single_token() {
    let c = parsed(&[
        ("HERALD_ADMIN_TOKEN", "first-token-0123456"),
        (
            "HERALD_ADMIN_TOKENS",
            "second-token-012345, third-token-0123456",
        ),
    ])
    .expect("valid");
    let tokens: Vec<&str> = c.security.admin_tokens.iter().map(Secret::expose).collect();
    assert_eq!(
        tokens,
        [
            "first-token-0123456",
            "second-token-012345",
            "third-token-0123456"
        ]
    );
    assert_eq!(c.security.admin_token.expose(), "first-token-0123456");
    let only_list = parsed(&[
        ("HERALD_MODE", "production"),
        ("HERALD_ADMIN_TOKENS", "second-token-012345"),
        ("HERALD_ENCRYPTION_KEY", &EncryptionKey::generate_base64()),
    ])
    .expect("a list alone is enough");
    assert_eq!(
        only_list.security.admin_token.expose(),
        "second-token-012345"
    );
    let err = parsed(&[("HERALD_ADMIN_TOKENS", "long-enough-token-1,short")]).expect_err("short");
    assert!(
        err.to_string()
            .contains("HERALD_ADMIN_TOKENS entry \"short\""),
        "{err}"
    );
}

#[test]
fn encryption_keys_have_ids_and_the_first_encrypts() {
    let (a, b) = (
        EncryptionKey::generate_base64(),
        EncryptionKey::generate_base64(),
    );
    let c = parsed(&[("HERALD_ENCRYPTION_KEYS", &format!("k2:{a}, k1:{b}"))]).expect("valid");
    let KeySource::Configured(ring) = &c.security.keys else {
        panic!("configured keys");
    };
    assert_eq!(ring.ids().collect::<Vec<_>>(), ["k2", "k1"]);
    let c = parsed(&[("HERALD_ENCRYPTION_KEY", &a)]).expect("valid");
    let KeySource::Configured(ring) = &c.security.keys else {
        panic!("configured key");
    };
    assert_eq!(ring.primary().as_str(), "primary");
    let both = format!("k:{b}");
    for (vars, expected) in [
        (
            vec![
                ("HERALD_ENCRYPTION_KEY", a.as_str()),
                ("HERALD_ENCRYPTION_KEYS", &both),
            ],
            "not both",
        ),
        (vec![("HERALD_ENCRYPTION_KEYS", "nocolon")], "id:base64"),
        (vec![("HERALD_ENCRYPTION_KEYS", "bad id:AAAA")], "key id"),
        (vec![("HERALD_ENCRYPTION_KEYS", "k:AAAA")], "32 bytes"),
    ] {
        let err = parsed(&vars).expect_err(expected);
        assert!(err.to_string().contains(expected), "{vars:?}: {err}");
    }
    let twice = format!("k:{a},k:{b}");
    let err = parsed(&[("HERALD_ENCRYPTION_KEYS", &twice)]).expect_err("duplicate");
    assert!(err.to_string().contains("listed twice"), "{err}");
}

#[test]
fn local_mode_keeps_its_key_in_a_file_under_the_state_folder() {
    let path = |vars: &[(&str, &str)]| match parsed(vars).expect("valid").security.keys {
        KeySource::LocalFile(p) => p,
        KeySource::Configured(_) => panic!("no key was configured"),
    };
    assert_eq!(
        path(&[("HERALD_KEY_FILE", "/srv/herald/key")]),
        PathBuf::from("/srv/herald/key")
    );
    assert_eq!(
        path(&[("XDG_STATE_HOME", "/var/state"), ("HOME", "/home/h")]),
        PathBuf::from("/var/state/herald/encryption.key")
    );
    assert_eq!(
        path(&[("HOME", "/home/h")]),
        PathBuf::from("/home/h/.local/state/herald/encryption.key")
    );
    let prod = parsed(&[
        ("HERALD_MODE", "production"),
        ("HERALD_ADMIN_TOKEN", "a-long-enough-token"),
        ("HERALD_KEY_FILE", "/srv/herald/key"),
    ])
    .expect_err("production needs a configured key");
    assert!(
        prod.to_string().contains("HERALD_ENCRYPTION_KEYS"),
        "{prod}"
    );
}

#[test]
fn rate_limits_have_a_default_and_per_tenant_overrides() {
    let c = parsed(&[]).expect("defaults");
    assert!(!c.ingest.rate_limits.any());
    assert_eq!(c.ingest.metrics_listen, None);
    let c = parsed(&[
        ("HERALD_RATE_LIMIT", "100"),
        ("HERALD_RATE_LIMIT_BURST", "500"),
        (
            "HERALD_TENANT_RATE_LIMITS",
            "acme=10, big=5000/20000, free=0",
        ),
        ("HERALD_INGEST_METRICS_LISTEN", "127.0.0.1:9464"),
    ])
    .expect("valid");
    let limits = &c.ingest.rate_limits;
    let rate = |per_second, burst| Some(EventRate { per_second, burst });
    assert_eq!(limits.for_tenant("default"), rate(100, 500));
    assert_eq!(limits.for_tenant("acme"), rate(10, 500));
    assert_eq!(limits.for_tenant("big"), rate(5000, 20000));
    assert_eq!(limits.for_tenant("free"), None);
    assert_eq!(
        c.ingest.metrics_listen,
        Some("127.0.0.1:9464".parse().expect("addr"))
    );
    for (var, value) in [
        ("HERALD_TENANT_RATE_LIMITS", "acme"),
        ("HERALD_TENANT_RATE_LIMITS", "Not A Tenant=5"),
        ("HERALD_TENANT_RATE_LIMITS", "acme=5/0"),
        ("HERALD_RATE_LIMIT", "-1"),
        ("HERALD_RATE_LIMIT_BURST", "0"),
        ("HERALD_INGEST_METRICS_LISTEN", "nowhere"),
    ] {
        let err = parsed(&[(var, value)]).expect_err(value);
        assert!(err.to_string().contains(var), "{var}={value}: {err}");
    }
}
