//! Property tests for the parsers and the signing code: they never panic on
//! arbitrary input, accept only what is safe, and signing round-trips.

use herald_common::domain::{EventType, TenantId, WebhookUrl};
use herald_common::signing::{sign, verify, SigningKey, VerifyError};
use herald_common::url_guard::{blocked_class, UrlGuard};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

proptest! {
    #[test]
    fn signatures_verify_and_any_tampering_fails(
        secret in "[ -~]{1,64}",
        id in "[a-zA-Z0-9_]{1,40}",
        ts in 1_000_000_000i64..4_000_000_000i64,
        body in proptest::collection::vec(any::<u8>(), 0..512),
        flip in any::<prop::sample::Index>(),
    ) {
        let key = SigningKey::from_secret(&secret).expect("non-empty secret");
        let header = sign(&id, ts, &body, &[key]);
        prop_assert_eq!(verify(&secret, &id, &ts.to_string(), &header, &body, ts), Ok(()));
        if !body.is_empty() {
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 0x01;
            prop_assert_eq!(
                verify(&secret, &id, &ts.to_string(), &header, &tampered, ts),
                Err(VerifyError::NoMatch)
            );
        }
        let other_id = format!("{id}x");
        prop_assert_eq!(
            verify(&secret, &other_id, &ts.to_string(), &header, &body, ts),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn verify_never_panics_on_garbage_headers(
        ts in ".{0,20}", sig in ".{0,200}", body in ".{0,100}"
    ) {
        let _ = verify("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg", &ts, &sig, body.as_bytes(), 0);
    }

    #[test]
    fn event_types_that_parse_are_subject_safe(s in ".{0,140}") {
        if let Ok(t) = EventType::parse(&s) {
            let t = t.as_str();
            prop_assert!(!t.contains(['*', '>', ' ', '\t', '\n', '\r']));
            prop_assert!(!t.starts_with('.') && !t.ends_with('.') && !t.contains(".."));
            prop_assert!(t.len() <= 128);
        }
    }

    #[test]
    fn tenant_ids_that_parse_are_single_subject_tokens(s in ".{0,70}") {
        if let Ok(t) = TenantId::parse(&s) {
            prop_assert!(t.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'));
        }
    }

    #[test]
    fn urls_that_parse_are_http_with_a_host(s in ".{0,300}") {
        if let Ok(u) = WebhookUrl::parse(&s) {
            let scheme = u.as_url().scheme();
            prop_assert!(scheme == "http" || scheme == "https");
            prop_assert!(u.as_url().host_str().is_some_and(|h| !h.is_empty()));
        }
    }

    #[test]
    fn private_v4_ranges_are_always_blocked(b in any::<u8>(), c in any::<u8>(), d in any::<u8>()) {
        for ip in [
            Ipv4Addr::new(10, b, c, d),
            Ipv4Addr::new(127, b, c, d),
            Ipv4Addr::new(192, 168, c, d),
            Ipv4Addr::new(172, 16 + (b % 16), c, d),
            Ipv4Addr::new(169, 254, c, d),
        ] {
            prop_assert!(blocked_class(IpAddr::V4(ip)).is_some(), "{ip}");
            // The same address wrapped in IPv6 is judged the same way.
            let mapped = IpAddr::V6(ip.to_ipv6_mapped());
            prop_assert_eq!(blocked_class(mapped), blocked_class(IpAddr::V4(ip)));
            let strict = UrlGuard::strict();
            prop_assert!(strict.check_addrs("h", &[SocketAddr::new(IpAddr::V4(ip), 80)]).is_err());
        }
    }

    #[test]
    fn unique_local_and_link_local_v6_are_blocked(segs in any::<[u16; 7]>(), high in any::<u8>()) {
        let ula = Ipv6Addr::new(0xfc00 | (high as u16 & 0x01ff), segs[0], segs[1], segs[2], segs[3], segs[4], segs[5], segs[6]);
        prop_assert!(blocked_class(IpAddr::V6(ula)).is_some(), "{ula}");
        let ll = Ipv6Addr::new(0xfe80, segs[0], segs[1], segs[2], segs[3], segs[4], segs[5], segs[6]);
        prop_assert!(blocked_class(IpAddr::V6(ll)).is_some(), "{ll}");
    }
}
