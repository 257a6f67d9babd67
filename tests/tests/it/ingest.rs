//! ingest integration tests.
