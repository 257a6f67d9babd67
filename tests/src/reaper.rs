//! A watchdog that outlives the test process by a moment: processes the
//! harness starts are registered with it, and when the test process is gone
//! (even by `kill -9`, when no `Drop` runs) it kills whatever is still
//! registered. It is a small bash loop reading a pipe whose write end only
//! this process holds (Rust opens pipes close-on-exec), so end-of-file means
//! the test process has exited.

use std::io::Write;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

const SCRIPT: &str = r#"
trap '' INT TERM HUP
pids=" "
cmds=()
while IFS=' ' read -r op arg; do
  case "$op" in
    add) pids="$pids$arg " ;;
    del) pids="${pids/ $arg / }" ;;
    run) cmds+=("$arg") ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
for c in "${cmds[@]}"; do bash -c "$c" >/dev/null 2>&1; done
"#;

fn pipe() -> &'static Mutex<Option<ChildStdin>> {
    static PIPE: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();
    PIPE.get_or_init(|| {
        let child = Command::new("bash")
            .arg("-c")
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(mut child) => Mutex::new(child.stdin.take()),
            Err(error) => {
                tracing::warn!(%error, "Could not start the process reaper.");
                Mutex::new(None)
            }
        }
    })
}

fn send(line: String) {
    let mut guard = match pipe().lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(stdin) = guard.as_mut() {
        let _ = stdin.write_all(line.as_bytes());
        let _ = stdin.flush();
    }
}

/// Kill `pid` when the test process exits, unless [`unregister`]ed first.
pub fn register(pid: u32) {
    send(format!("add {pid}\n"));
}

/// The harness has reaped `pid` itself.
pub fn unregister(pid: u32) {
    send(format!("del {pid}\n"));
}

/// Run a shell command (one line) when the test process exits.
pub fn at_exit(command: &str) {
    send(format!("run {}\n", command.replace('\n', " ")));
}
