//! The Herald binaries for child-process tests: `HERALD_BIN_DIR`, or built
//! once per test process with the running test binary's cargo profile and
//! target dir.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context};

use crate::support::workspace_root;

/// Variables cargo sets for a test process (by prefix).
const TEST_ONLY_VARS: &[&str] = &[
    "CARGO_MANIFEST_",
    "CARGO_PKG_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
];

/// `HERALD_BIN_DIR`, or `target/<profile>` after `cargo build -p herald-ingest
/// -p herald-dispatcher` with the profile of the running test binary.
pub(crate) fn binary_dir() -> anyhow::Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| build_binaries().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn build_binaries() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("HERALD_BIN_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or_else(|| anyhow!("unexpected test binary path {}", exe.display()))?
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow!("unexpected test binary path {}", exe.display()))?;
    let profile = match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // What cargo sets for the running test (CARGO_MANIFEST_DIR, ...), not
    // for a build: some build scripts (ring's) watch them, so passing them
    // on would rebuild everything here and again in the next plain build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if TEST_ONLY_VARS.iter().any(|prefix| key.starts_with(prefix)) {
            command.env_remove(&*key);
        }
    }
    let out = command
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "herald-ingest",
            "-p",
            "herald-dispatcher",
        ])
        .args(["--profile", &profile])
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!(
            "cargo build of the Herald binaries failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(profile_dir)
}
