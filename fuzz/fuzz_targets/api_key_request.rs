//! POST /tenants/{id}/api-keys bodies: any bytes meet the JSON limits, then
//! parse into a typed error or a key's name, scopes and expiry, never a
//! panic; accepted scopes are always known ones.
#![no_main]

use herald_ingest::http::access::Scope;
use herald_ingest::http::handlers::tenants::{self, CreateApiKey};
use herald_ingest::http::json_limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if json_limits::check(data).is_err() {
        return;
    }
    let Ok(body) = serde_json::from_slice::<CreateApiKey>(data) else {
        return;
    };
    let _ = tenants::name(body.name.unwrap_or_default());
    if let Ok(scopes) = tenants::scopes(body.scopes) {
        assert!(!scopes.is_empty());
        assert!(scopes
            .iter()
            .all(|s| Scope::ALL.iter().any(|k| k.as_str() == s)));
    }
    let _ = tenants::expiry(body.expires_at);
});
