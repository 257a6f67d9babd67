//! What the deployment tests share: the generous wait, and the rule for a
//! test that needs something this machine may lack (fixed ports, a tool):
//! it says plainly that it skipped, except in CI (`CI` set), where the
//! missing thing is a failure.

use std::time::Duration;

/// Generous bound for anything that should happen "soon" on a busy machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Skip with `reason` (printed), or panic when running in CI.
pub fn skip_or_fail(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: {reason} (CI must run it)");
    }
    println!("SKIPPED {test}: {reason}");
    eprintln!("SKIPPED {test}: {reason}");
}
