use super::*;

fn key(s: &str) -> SigningKey {
    SigningKey::from_secret(s).expect("valid secret")
}

// The Standard Webhooks reference libraries' published vectors.
const VECTORS: &[(&str, &str, i64, &str, &str)] = &[
    (
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        r#"{"email":"test@example.com","username":"test_user"}"#,
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    ),
    (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
];

#[test]
fn sign_reproduces_the_published_test_vectors() {
    for (secret, id, ts, body, sig) in VECTORS {
        assert_eq!(sign(id, *ts, body.as_bytes(), &[key(secret)]), *sig);
    }
}

#[test]
fn verify_accepts_the_published_test_vectors() {
    for (secret, id, ts, body, sig) in VECTORS {
        assert_eq!(
            verify(secret, id, &ts.to_string(), sig, body.as_bytes(), *ts + 10),
            Ok(())
        );
    }
}

#[test]
fn verify_rejects_tampering_old_timestamps_and_wrong_secrets() {
    let (secret, id, ts, body, sig) = VECTORS[0];
    let t = ts.to_string();
    assert_eq!(
        verify(secret, id, &t, sig, b"{}", ts),
        Err(VerifyError::NoMatch)
    );
    assert_eq!(
        verify(
            secret,
            id,
            &t,
            sig,
            body.as_bytes(),
            ts + TOLERANCE_SECONDS + 1
        ),
        Err(VerifyError::TimestampOutOfTolerance)
    );
    assert_eq!(
        verify(VECTORS[1].0, id, &t, sig, body.as_bytes(), ts),
        Err(VerifyError::NoMatch)
    );
    assert_eq!(
        verify(secret, id, "yesterday", sig, body.as_bytes(), ts),
        Err(VerifyError::BadTimestamp)
    );
}

#[test]
fn rotated_secrets_produce_one_signature_each_and_either_verifies() {
    let header = sign("msg_1", 100, b"{}", &[key("new-secret"), key("old-secret")]);
    assert_eq!(header.split(' ').count(), 2);
    assert_eq!(
        verify("new-secret", "msg_1", "100", &header, b"{}", 100),
        Ok(())
    );
    assert_eq!(
        verify("old-secret", "msg_1", "100", &header, b"{}", 100),
        Ok(())
    );
}

#[test]
fn non_whsec_secrets_use_their_utf8_bytes() {
    // HMAC-SHA256("my-secret", "1.{}") in hex, computed independently.
    let legacy = sign_legacy(1, b"{}", &key("my-secret"));
    assert!(legacy.starts_with("sha256="));
    assert_eq!(legacy.len(), 7 + 64);
    assert_eq!(
        SigningKey::from_secret("whsec_!!").map(|_| ()),
        Err(SigningError::SecretEncoding)
    );
}

#[test]
fn ed25519_keys_sign_v1a_and_verify_with_the_public_key_during_a_rotation() {
    let new = Ed25519Key::from_secret(&ed25519::generate_secret()).expect("new");
    let old = Ed25519Key::from_secret(&ed25519::generate_secret()).expect("old");
    let signers = [Signer::Ed25519(new.clone()), Signer::Ed25519(old.clone())];
    let header = sign_with("msg_1", 100, b"{}", &signers);
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.starts_with("v1a,")), "{header}");
    for key in [&new, &old] {
        assert_eq!(
            verify(&key.public_key(), "msg_1", "100", &header, b"{}", 100),
            Ok(())
        );
    }
    let other = Ed25519Key::from_secret(&ed25519::generate_secret()).expect("other");
    let cases = [
        (
            new.public_key(),
            "100",
            &b"{ }"[..],
            Err(VerifyError::NoMatch),
        ),
        (
            new.public_key(),
            "101",
            &b"{}"[..],
            Err(VerifyError::NoMatch),
        ),
        (
            other.public_key(),
            "100",
            &b"{}"[..],
            Err(VerifyError::NoMatch),
        ),
        (
            "whpk_!!".to_string(),
            "100",
            &b"{}"[..],
            Err(VerifyError::Secret(SigningError::KeyFormat)),
        ),
    ];
    for (public, ts, body, want) in cases {
        assert_eq!(verify(&public, "msg_1", ts, &header, body, 100), want);
    }
    assert_eq!(
        verify(&new.public_key(), "msg_1", "100", &header, b"{}", 1000),
        Err(VerifyError::TimestampOutOfTolerance)
    );
}

#[test]
fn hmac_signers_match_sign_and_v1_is_not_taken_for_v1a() {
    let signers = [Signer::from_secret(VECTORS[0].0).expect("hmac")];
    let (_, id, ts, body, sig) = VECTORS[0];
    assert_eq!(sign_with(id, ts, body.as_bytes(), &signers), sig);
    assert!(signers[0].hmac().is_some());
    let ed = Signer::from_secret(&ed25519::generate_secret()).expect("ed25519");
    assert!(ed.hmac().is_none());
    let Signer::Ed25519(key) = &ed else {
        panic!("a whsk_ secret is an ed25519 key")
    };
    // A v1 header never satisfies a public key.
    assert_eq!(
        verify(
            &key.public_key(),
            id,
            &ts.to_string(),
            sig,
            body.as_bytes(),
            ts
        ),
        Err(VerifyError::NoMatch)
    );
}
