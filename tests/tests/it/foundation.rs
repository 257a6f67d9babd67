//! foundation integration tests.
