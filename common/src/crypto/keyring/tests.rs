use super::{insecure_ring as ring, *};

#[test]
fn a_sealed_secret_opens_for_its_endpoint_only() {
    let ring = ring(&["k1"]);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let ct = ring.seal(a, b"whsec_abc");
    assert!(!ct.windows(9).any(|w| w == b"whsec_abc"));
    assert_eq!(ring.open_string(a, &ct).expect("open"), "whsec_abc");
    // Copied into another row: refused.
    assert_eq!(ring.open(b, &ct), Err(CryptoError::Decrypt));
    // Tampered anywhere: refused.
    for i in [0, 4, 6, 9, ct.len() - 1] {
        let mut bad = ct.clone();
        bad[i] ^= 1;
        assert!(ring.open(a, &bad).is_err(), "byte {i}");
    }
    assert_eq!(ring.open(a, b"short"), Err(CryptoError::Decrypt));
    assert_ne!(ring.seal(a, b"x"), ring.seal(a, b"x"), "fresh nonces");
}

#[test]
fn the_first_key_seals_and_every_key_opens_what_names_it() {
    let old = ring(&["old"]);
    let both = ring(&["new", "old"]);
    let id = Uuid::now_v7();
    let under_old = old.seal(id, b"s1");
    assert_eq!(Keyring::sealed_with(&under_old), Sealed::Under("old"));
    assert_eq!(both.open(id, &under_old).expect("old key"), b"s1");
    assert!(!both.is_current(&under_old));
    let under_new = both.seal(id, b"s2");
    assert_eq!(Keyring::sealed_with(&under_new), Sealed::Under("new"));
    assert!(both.is_current(&under_new));
    assert_eq!(
        old.open(id, &under_new),
        Err(CryptoError::UnknownKey("new".into()))
    );
    // The same bytes under another id are another key: refused.
    let other = ring(&["new", "older"]);
    assert!(other.open(id, &under_old).is_err());
}

#[test]
fn legacy_ciphertexts_open_with_any_key_and_are_never_current() {
    let both = ring(&["new", "old"]);
    let legacy = seal_legacy(&EncryptionKey::derive_insecure(b"old"), b"whsec_legacy");
    assert_eq!(Keyring::sealed_with(&legacy), Sealed::Legacy);
    assert!(!both.is_current(&legacy));
    assert_eq!(
        both.open(Uuid::now_v7(), &legacy).expect("legacy"),
        b"whsec_legacy"
    );
    assert!(ring(&["other"]).open(Uuid::now_v7(), &legacy).is_err());
}

#[test]
fn rings_need_unique_well_formed_ids() {
    assert_eq!(Keyring::new(vec![]).map(|_| ()), Err(CryptoError::NoKeys));
    let k = || EncryptionKey::derive_insecure(b"k");
    let id = |s: &str| KeyId::parse(s).expect("id");
    assert_eq!(
        Keyring::new(vec![(id("a"), k()), (id("a"), k())]).map(|_| ()),
        Err(CryptoError::DuplicateKeyId("a".into()))
    );
    for bad in ["", "with space", "a:b", &"x".repeat(33), "é"] {
        assert!(KeyId::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(ring(&["2026-05_a"]).primary().as_str(), "2026-05_a");
}
