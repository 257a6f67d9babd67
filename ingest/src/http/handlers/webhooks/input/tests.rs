use super::*;

#[test]
fn urls_must_be_http_or_https() {
    assert!(url("https://example.com/webhook").is_ok());
    for bad in [
        "ftp://example.com/x",
        "not a url",
        "https://u:p@example.com/",
        "",
    ] {
        assert_eq!(url(bad).expect_err(bad).code, "invalid_url", "{bad}");
    }
}

#[test]
fn reserved_and_malformed_headers_are_refused() {
    let ok: BTreeMap<String, String> = [("X-Team".to_string(), "payments".to_string())].into();
    assert!(headers(&ok).is_ok());
    for (name, value, code) in [
        ("Webhook-Signature", "x", "reserved_header"),
        ("content-type", "text/plain", "reserved_header"),
        ("X-Webhook-Signature", "x", "reserved_header"),
        ("bad name", "x", "invalid_header"),
        ("X-Ok", "line\nbreak", "invalid_header"),
        ("X-Ok", "a\r\nX-Injected: 1", "invalid_header"),
        ("X-Ok", "tab\there", "invalid_header"),
        ("X-Ok", "nul\0", "invalid_header"),
        ("X-Ok", "caf\u{e9}", "invalid_header"),
        ("X-Ok", " padded", "invalid_header"),
        ("X-Ok\r\nX-Injected", "1", "invalid_header"),
        ("X-Colon:", "1", "invalid_header"),
    ] {
        let h: BTreeMap<String, String> = [(name.to_string(), value.to_string())].into();
        assert_eq!(
            headers(&h).expect_err(name).code,
            code,
            "{name:?}: {value:?}"
        );
    }
    let long_name: BTreeMap<String, String> = [("x".repeat(257), "v".to_string())].into();
    assert!(headers(&long_name).is_err());
    let long_value: BTreeMap<String, String> = [("x".to_string(), "v".repeat(4097))].into();
    assert!(headers(&long_value).is_err());
    let too_many: BTreeMap<String, String> = (0..33)
        .map(|i| (format!("x-{i}"), "v".to_string()))
        .collect();
    assert!(headers(&too_many).is_err());
    let too_big: BTreeMap<String, String> = (0..3)
        .map(|i| (format!("x-{i}"), "v".repeat(4000)))
        .collect();
    assert!(headers(&too_big).is_err(), "over 8 KiB in all");
    let inner_space: BTreeMap<String, String> = [("X-Ok".to_string(), "a b".to_string())].into();
    assert!(headers(&inner_space).is_ok());
}

#[test]
fn secrets_must_be_usable_for_signing() {
    assert!(secret("my-secret").is_ok());
    assert!(secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
    for bad in ["", "whsec_!!!", " padded ", &"x".repeat(300)] {
        assert_eq!(secret(bad).expect_err(bad).code, "invalid_secret");
    }
}

#[test]
fn patch_tells_null_from_absent() {
    let p: PatchWebhook =
        serde_json::from_str(r#"{"rate_limit_per_second": null}"#).expect("patch");
    assert_eq!(p.rate_limit_per_second, Some(None));
    assert_eq!(p.max_in_flight, None);
    assert!(serde_json::from_str::<PatchWebhook>(r#"{"secret": "x"}"#).is_err());
    assert!(
        serde_json::from_str::<CreateWebhook>(r#"{"url":"x","event_types":[],"bogus":1}"#).is_err()
    );
}

#[test]
fn secrets_follow_the_signature_scheme() {
    let generated = secret_for(SignatureScheme::Ed25519, None).expect("generated");
    assert!(generated.starts_with("whsk_"));
    assert!(public_key(&generated).is_some_and(|k| k.starts_with("whpk_")));
    assert!(secret_for(SignatureScheme::Hmac, None)
        .expect("generated")
        .starts_with("whsec_"));
    assert_eq!(public_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), None);
    let cases = [
        (SignatureScheme::Hmac, generated.as_str(), false),
        (SignatureScheme::Ed25519, generated.as_str(), true),
        (SignatureScheme::Ed25519, "my-secret", false),
        (SignatureScheme::Ed25519, "whsk_AAAA", false),
        (SignatureScheme::Hmac, "my-secret", true),
    ];
    for (scheme, given, ok) in cases {
        let got = secret_for(scheme, Some(given));
        assert_eq!(got.is_ok(), ok, "{scheme:?} {given}");
        if let Err(e) = got {
            assert_eq!(e.code, "invalid_secret");
        }
    }
}

#[test]
fn retry_schedules_are_durations_within_bounds() {
    let ok = retry_schedule(&["10ms".into(), " 5s".into(), "7d".into()]).expect("valid");
    assert_eq!(ok, ["10ms", "5s", "7d"]);
    let too_many: Vec<String> = (0..51).map(|_| "1s".to_string()).collect();
    for bad in [
        vec![],
        vec!["soon".to_string()],
        vec!["8d".to_string()],
        too_many,
    ] {
        assert_eq!(
            retry_schedule(&bad).expect_err("invalid").code,
            "invalid_retry_schedule"
        );
    }
    assert_eq!(ordering("fifo").expect("fifo"), Ordering::Fifo);
    assert_eq!(ordering("lifo").expect_err("bad").code, "invalid_ordering");
    assert_eq!(
        signature_scheme("rsa").expect_err("bad").code,
        "invalid_signature_scheme"
    );
}

#[test]
fn numeric_limits_are_in_range() {
    assert_eq!(
        positive("rate_limit_per_second", Some(10)).expect("ok"),
        Some(10)
    );
    assert_eq!(positive("rate_limit_per_second", None).expect("ok"), None);
    for bad in [0, -1, MAX_RATE_LIMIT + 1] {
        assert_eq!(
            positive("x", Some(bad)).expect_err("range").code,
            "out_of_range"
        );
    }
}

#[test]
fn custom_headers_is_another_name_of_headers() {
    let h: BTreeMap<String, String> = [("X-Team".to_string(), "a".to_string())].into();
    assert_eq!(
        headers_or_alias(None, Some(&h)).expect("alias"),
        Some(h.clone())
    );
    assert_eq!(
        headers_or_alias(Some(&h), None).expect("name"),
        Some(h.clone())
    );
    assert_eq!(headers_or_alias(None, None).expect("none"), None);
    assert_eq!(
        headers_or_alias(Some(&h), Some(&h)).expect_err("both").code,
        "conflicting_fields"
    );
}
