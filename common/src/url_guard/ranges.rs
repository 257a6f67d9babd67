//! Which addresses are not public: every range an endpoint URL must not reach
//! (unless the operator allows it), by class.
//!
//! IPv6 forms that carry an IPv4 address are judged by that address when the
//! network translates to it (IPv4-mapped `::ffff:0:0/96`, IPv4-translated
//! `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96`): `64:ff9b::10.0.0.1` is as private
//! as `10.0.0.1`, and `64:ff9b::8.8.8.8` as public as `8.8.8.8` (DNS64
//! networks reach every IPv4-only receiver that way). Tunnelling and
//! deprecated forms are refused whole, whatever they embed: 6to4
//! (`2002::/16`), Teredo (`2001::/32`), IPv4-compatible (`::/96`), site-local
//! (`fec0::/10`), local-use NAT64 (`64:ff9b:1::/48`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The class of a non-public address, or `None` if it is public.
pub fn blocked_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_class(v4),
            None => v6_class(v6),
        },
    }
}

/// The IPv4 address an IPv6 address stands for, for the forms a network
/// translates to IPv4 (mapped, translated, NAT64 well-known prefix).
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let v4 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let translated = [
        (0xffff_u128 << 32, 96),      // ::ffff:0:0/96, IPv4-mapped
        (0xffff_u128 << 48, 96),      // ::ffff:0:0:0/96, IPv4-translated
        (0x0064_ff9b_u128 << 96, 96), // 64:ff9b::/96, NAT64
    ];
    translated
        .iter()
        .any(|&(prefix, len)| in_prefix(bits, prefix, len))
        .then_some(v4)
}

fn in_prefix(bits: u128, prefix: u128, len: u32) -> bool {
    let shift = 128 - len;
    bits >> shift == prefix >> shift
}

/// IPv6 ranges refused whole: `(prefix, length, class)`, the most specific
/// first. Loopback (`::1`) and unspecified (`::`) are checked before them.
const V6_BLOCKED: &[(u128, u32, &str)] = &[
    (0x0064_ff9b_0001 << 80, 48, "NAT64 (local use)"),
    (0, 96, "IPv4-compatible"),
    (0x0100 << 112, 64, "discard-only"),
    (0x2001_0db8 << 96, 32, "documentation"),
    (0x3fff << 112, 20, "documentation"),
    (0x2001_0002 << 96, 48, "benchmarking"),
    (0x2001_0010 << 96, 28, "ORCHID"),
    (0x2001_0020 << 96, 28, "ORCHID"),
    (0x2001 << 112, 32, "Teredo"),
    (0x2002 << 112, 16, "6to4"),
    (0x5f00 << 112, 16, "SRv6 SID"),
    (0xfc00 << 112, 7, "private"),
    (0xfe80 << 112, 10, "link-local"),
    (0xfec0 << 112, 10, "site-local"),
    (0xff00 << 112, 8, "multicast"),
];

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    let bits = u128::from(ip);
    V6_BLOCKED
        .iter()
        .find(|&&(prefix, len, _)| in_prefix(bits, prefix, len))
        .map(|&(_, _, class)| class)
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        // 169.254.0.0/16 holds the cloud metadata service (169.254.169.254).
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (CGNAT)")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol")
    } else if o[0] == 192 && o[1] == 88 && o[2] == 99 {
        Some("6to4 relay")
    } else if o[0] == 198 && (o[1] == 18 || o[1] == 19) {
        Some("benchmarking")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> Option<&'static str> {
        blocked_class(ip.parse().expect("ip"))
    }

    #[test]
    fn non_public_ipv4_ranges_are_blocked() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("255.255.255.255", "reserved"),
            ("240.0.0.1", "reserved"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("192.0.0.8", "IETF protocol"),
            ("192.88.99.1", "6to4 relay"),
            ("198.18.0.1", "benchmarking"),
            ("192.0.2.1", "documentation"),
            ("203.0.113.9", "documentation"),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn non_public_ipv6_ranges_are_blocked() {
        for (ip, expected) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "private"),
            ("fc00::1", "private"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("feff::1", "site-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("100::1", "discard-only"),
            ("2001:2::1", "benchmarking"),
            ("2001:10::1", "ORCHID"),
            ("2001:20::1", "ORCHID"),
            ("5f00::1", "SRv6 SID"),
            // Tunnels, refused whatever they carry (here 8.8.8.8).
            ("2002:808:808::1", "6to4"),
            ("2002:7f00:1::", "6to4"),
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo"),
            ("2001::1", "Teredo"),
            ("64:ff9b:1::808:808", "NAT64 (local use)"),
            // Deprecated IPv4-compatible, public or not.
            ("::8.8.8.8", "IPv4-compatible"),
            ("::127.0.0.1", "IPv4-compatible"),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_an_ipv4_address_are_judged_by_it() {
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:0:127.0.0.1", Some("loopback")),
            ("::ffff:0:192.168.0.1", Some("private")),
            ("64:ff9b::a00:1", Some("private")),
            ("64:ff9b::127.0.0.1", Some("loopback")),
            ("64:ff9b::169.254.169.254", Some("link-local")),
            ("::ffff:8.8.8.8", None),
            ("::ffff:0:8.8.8.8", None),
            ("64:ff9b::8.8.8.8", None),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "2003::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }
}
