//! Herald test harness.
