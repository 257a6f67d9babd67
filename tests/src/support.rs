//! Small helpers shared by the harness modules.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A TCP port on 127.0.0.1 that was free a moment ago. Prefer binding
/// `127.0.0.1:0` yourself where the code under test accepts a listener.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Install a tracing subscriber writing to the test's captured output when
/// `TEST_LOG` is set; otherwise tests stay silent. Safe to call many times.
pub fn init_test_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(value) = std::env::var("TEST_LOG") else {
            return;
        };
        let filter = match value.trim() {
            "" | "1" | "true" | "yes" | "on" => "info".to_string(),
            other => other.to_string(),
        };
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Look a program up on `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The program named by the variable `var`, when it is set: an error if
/// that is not an executable.
pub fn binary_from_env(var: &str) -> Option<anyhow::Result<PathBuf>> {
    let p = PathBuf::from(std::env::var_os(var).filter(|p| !p.is_empty())?);
    Some(match is_executable(&p) {
        true => Ok(p),
        false => Err(anyhow::anyhow!(
            "{var}={} is not an executable",
            p.display()
        )),
    })
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The last `lines` lines of a log file, for failure messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

/// True when this process runs as root (postgres refuses to).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Say plainly that `test` did not run, and why.
pub fn skip(test: &str, reason: &str) {
    println!("SKIPPED {test}: {reason}");
    eprintln!("SKIPPED {test}: {reason}");
}

/// For a test that needs something this machine may lack (fixed ports, a
/// tool): [`skip`] with `reason`, except in CI (`CI` set), where the
/// missing thing is a failure.
pub fn skip_or_fail(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: {reason} (CI must run it)");
    }
    skip(test, reason);
}

/// The machine's CPU, as the tests of one process share it.
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by the tests whose figures measure the cluster rather than the
/// machine (the scale-out measure, `run.sh --cluster`): while one runs, no
/// other holder of [`machine_alone`] or [`machine_shared`] does.
pub async fn machine_alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// Held by each load scenario: they run beside each other, never beside a
/// test holding [`machine_alone`].
pub async fn machine_shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}
