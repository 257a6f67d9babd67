//! dispatcher integration tests.
