//! Which events an endpoint receives: its subscription [`pattern`]s (event
//! types with NATS wildcards) and its payload [`filter`]. Both are pure and
//! shared: ingest validates an endpoint with the same parsers the
//! dispatcher matches with, and each endpoint is compiled once into a
//! [`Routing`] when a dispatcher loads it, never per event.

pub mod filter;
pub mod pattern;

pub use filter::{Filter, FilterError};
pub use pattern::{subject_filters, Pattern, PatternError, Subscriptions};

/// An endpoint's subscriptions and filter, compiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    subscriptions: Subscriptions,
    filter: Option<Filter>,
}

/// Why an endpoint's routing does not compile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoutingError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl Routing {
    /// Compile an endpoint's `event_types` and `filter` (`None`, JSON
    /// `null` and `{}` mean no filter).
    pub fn compile<S: AsRef<str>>(
        event_types: &[S],
        filter: Option<&serde_json::Value>,
    ) -> Result<Self, RoutingError> {
        let filter = match filter {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(m)) if m.is_empty() => None,
            Some(f) => Some(Filter::parse(f)?),
        };
        Ok(Self {
            subscriptions: Subscriptions::parse(event_types)?,
            filter,
        })
    }

    /// Whether an event of type `name` is subscribed to.
    pub fn wants_type(&self, name: &str) -> bool {
        self.subscriptions.matches(name)
    }

    /// The payload filter, if any.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routing_combines_patterns_and_filter() {
        let r =
            Routing::compile(&["order.*"], Some(&json!({"amount": {"$gte": 100}}))).expect("valid");
        assert!(r.wants_type("order.created"));
        assert!(!r.wants_type("order.item.added"));
        let f = r.filter().expect("a filter");
        assert!(f.matches(&json!({"amount": 100})));
        assert!(!f.matches(&json!({"amount": 99})));
        for none in [None, Some(json!(null)), Some(json!({}))] {
            let r = Routing::compile(&[">"], none.as_ref()).expect("valid");
            assert!(r.filter().is_none());
        }
        assert!(matches!(
            Routing::compile(&["order.*"], Some(&json!({"a": {"$regex": "x"}}))),
            Err(RoutingError::Filter(FilterError::UnknownOperator { .. }))
        ));
        assert!(matches!(
            Routing::compile(&["order.>.x"], None),
            Err(RoutingError::Pattern(_))
        ));
    }
}
