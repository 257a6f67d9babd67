//! Deployment: reversible migrations, what an operator reads with the
//! `nats` CLI, adding dispatchers under load, `deploy/local/run.sh
//! --cluster` itself, and the container, compose and Kubernetes files
//! checked against the code.

mod compose;
mod k8s;
mod migrations;
mod nats_view;
mod pgbouncer;
mod run_sh;
mod scale_out;
mod support;
mod tools;
