//! A first attempt that fan-out makes itself, through the same stages as a
//! job's (see `crate::fanout::direct`).

use super::{span, JobContext, Prepared};
use crate::deliver::admission::Admitted;
use crate::endpoints_cache::Endpoint;
use herald_common::messages::DeliveryJob;
use std::sync::Arc;
use tracing::Instrument;

impl JobContext {
    /// A first attempt that fan-out makes itself (`crate::fanout::direct`),
    /// to `endpoint`, already admitted. `true` once the attempt is recorded;
    /// `false` if the grace period ended first or it could not be recorded
    /// (its event is returned and comes back to fan-out, which then
    /// publishes a job).
    pub(crate) async fn direct(
        &self,
        job: &DeliveryJob,
        endpoint: Arc<Endpoint>,
        admitted: Admitted,
    ) -> bool {
        let prepared = Prepared { endpoint, admitted };
        let run = async {
            let decided = self.send_and_record(prepared, job).await?;
            decided.count(job.created_at);
            Some(())
        };
        run.instrument(span(job)).await.is_some()
    }
}
