//! How a parsed filter judges a payload.
//!
//! * A path that does not lead to a value (a missing key, a word after a
//!   scalar, an index past an array's end) is *absent*. `$exists: false`,
//!   `$neq` and `$nin` hold for an absent field; every other test fails.
//!   `null` is a value: `{"$eq": null}` needs the field present and `null`.
//! * Equality (`$eq`, `$neq`, `$in`, `$nin`) is JSON equality with numbers
//!   compared by value (`1` equals `1.0`), arrays element by element and
//!   objects key by key.
//! * `$gt`, `$gte`, `$lt`, `$lte` compare numbers with numbers and strings
//!   with strings (by code point, so ISO 8601 timestamps order by time);
//!   any other pairing fails.
//! * `$startsWith` needs a string field.
//! * `$not` holds exactly when its filter does not.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{Cmp, Node, Test};

pub(super) fn node(n: &Node, payload: &Value) -> bool {
    match n {
        Node::All(all) => all.iter().all(|n| node(n, payload)),
        Node::Any(any) => any.iter().any(|n| node(n, payload)),
        Node::Not(inner) => !node(inner, payload),
        Node::Field { path, test: t } => test(t, lookup(payload, path)),
    }
}

/// The value at `path`, if there is one.
fn lookup<'v>(mut v: &'v Value, path: &[String]) -> Option<&'v Value> {
    for word in path {
        v = match v {
            Value::Object(map) => map.get(word)?,
            Value::Array(items) => items.get(word.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn test(t: &Test, field: Option<&Value>) -> bool {
    match (t, field) {
        (Test::Exists(want), f) => f.is_some() == *want,
        (Test::Neq(v), f) => f.is_none_or(|f| !json_eq(f, v)),
        (Test::Nin(vs), f) => f.is_none_or(|f| !vs.iter().any(|v| json_eq(f, v))),
        (_, None) => false,
        (Test::Eq(v), Some(f)) => json_eq(f, v),
        (Test::In(vs), Some(f)) => vs.iter().any(|v| json_eq(f, v)),
        (Test::Cmp { bound, pass }, Some(f)) => compare(f, bound).is_some_and(|o| passes(*pass, o)),
        (Test::StartsWith(prefix), Some(f)) => {
            f.as_str().is_some_and(|s| s.starts_with(prefix.as_str()))
        }
    }
}

fn passes(pass: Cmp, o: Ordering) -> bool {
    match pass {
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Gte => o != Ordering::Less,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Lte => o != Ordering::Greater,
    }
}

/// `field` against `bound`: numbers with numbers, strings with strings.
fn compare(field: &Value, bound: &Value) -> Option<Ordering> {
    match (field, bound) {
        (Value::Number(a), Value::Number(b)) => number_cmp(a, b),
        (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    }
}

/// Exact for integers, by `f64` otherwise (`None` only for NaN, which JSON
/// cannot carry).
fn number_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// JSON equality with numbers compared by value.
pub(super) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
