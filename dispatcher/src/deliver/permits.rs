//! The dispatcher's concurrency permits (`HERALD_DISPATCHER_CONCURRENCY`),
//! shared by the deliver puller and fan-out's direct first attempts.
//!
//! The puller takes its permits *before* it pulls and asks JetStream for as
//! many jobs as it holds, so it never holds a job it cannot start; while its
//! pull is open (up to a second) those permits wait here, *held*. Fan-out may
//! take a held permit for a direct attempt (otherwise an idle puller would hold
//! every permit and no attempt could start directly); a job that then arrives
//! without a held permit waits for one to be freed until [`JOB_WAIT`] after
//! its pull's first job arrived (one deadline for the whole pull, so the jobs
//! behind it do not wait a second each), and is returned to JetStream at once
//! (NAK, no delay) if none is.

use herald_common::shutdown::CancellationToken;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long a pulled job whose held permit was taken waits for another.
pub const JOB_WAIT: Duration = Duration::from_secs(1);

pub struct Permits {
    semaphore: Arc<Semaphore>,
    held: Mutex<Vec<OwnedSemaphorePermit>>,
}

impl Permits {
    pub fn new(concurrency: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(concurrency)),
            held: Mutex::new(Vec::new()),
        }
    }

    fn held(&self) -> MutexGuard<'_, Vec<OwnedSemaphorePermit>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A permit at once, free or held for a pull; `None` if every one is
    /// in use by an attempt.
    pub fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        match self.semaphore.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => self.held().pop(),
        }
    }

    /// Before a pull: wait for one permit, then take as many more as are free
    /// (up to `batch`), and hold them. How many are held; `None` at shutdown.
    pub async fn hold(&self, batch: usize, shutdown: &CancellationToken) -> Option<usize> {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return None,
            p = self.semaphore.clone().acquire_owned() => p.ok()?,
        };
        let mut held = self.held();
        held.push(first);
        while held.len() < batch {
            match self.semaphore.clone().try_acquire_owned() {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        Some(held.len())
    }

    /// The permit of a pulled job: a held one, or one freed by `deadline`
    /// (the pull's first job plus [`JOB_WAIT`]); `None` (return the job)
    /// otherwise.
    pub async fn for_job(&self, deadline: Instant) -> Option<OwnedSemaphorePermit> {
        if let Some(permit) = self.held().pop() {
            return Some(permit);
        }
        let freed = self.semaphore.clone().acquire_owned();
        tokio::time::timeout_at(deadline, freed).await.ok()?.ok()
    }

    /// After a pull: free the permits no job took.
    pub fn release_held(&self) {
        self.held().clear();
    }
}
