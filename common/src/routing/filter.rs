//! Payload filters: an endpoint's optional condition on the event payload,
//! written as a JSON object in the style of MongoDB queries.
//!
//! ```json
//! {"amount": {"$gte": 100}, "customer.tier": {"$in": ["gold", "platinum"]},
//!  "$or": [{"currency": "EUR"}, {"region": {"$startsWith": "eu-"}}]}
//! ```
//!
//! * Every entry of an object must hold (an implicit `$and`); `{}` holds
//!   for every payload.
//! * A key is a field path, dot-separated (`customer.address.city`; a
//!   number indexes an array: `items.0.sku`), or one of `$and`, `$or` (a
//!   non-empty array of filters) and `$not` (a filter).
//! * A field's value is either an object of operators (`$eq`, `$neq`, `$in`,
//!   `$nin`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`, `$startsWith`, `$not`)
//!   or a plain value, which means `$eq`.
//!
//! Semantics are in [`eval`]. A filter is parsed once (when the endpoint is
//! saved, and again when a dispatcher loads it) into a [`Filter`]; parsing
//! refuses unknown operators, wrong operands and oversize filters with a
//! [`FilterError`] that names the offending operator and where it is.

mod eval;

use serde_json::{Map, Value};

/// Deepest nesting of `$and`/`$or`/`$not`.
pub const MAX_DEPTH: usize = 16;
/// Most conditions (field tests and logical operators) in one filter.
pub const MAX_CONDITIONS: usize = 256;
/// Most values in one `$in`/`$nin`.
pub const MAX_IN: usize = 1_000;
/// Most words in a field path.
pub const MAX_PATH_WORDS: usize = 32;

/// The field operators, as the error messages list them.
pub const FIELD_OPERATORS: &str =
    "$eq, $neq, $in, $nin, $gt, $gte, $lt, $lte, $exists, $startsWith, $not";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("unknown filter operator {op:?} at {at} (operators: $and, $or, $not and, on a field, {FIELD_OPERATORS})")]
    UnknownOperator { op: String, at: String },
    #[error("{op} at {at} takes {expected}")]
    Operand {
        op: &'static str,
        at: String,
        expected: &'static str,
    },
    #[error("the filter at {at} must be a JSON object")]
    NotObject { at: String },
    #[error("{path:?} at {at} is not a field path (dot-separated, non-empty names, at most {MAX_PATH_WORDS})")]
    Path { path: String, at: String },
    #[error("the value of {at} mixes operators ($...) with plain keys; write {{\"$eq\": {{...}}}} to compare a whole object")]
    Mixed { at: String },
    #[error("the filter nests $and/$or/$not deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the filter has more than {MAX_CONDITIONS} conditions")]
    TooLarge,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Node);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Field { path: Vec<String>, test: Test },
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Eq(Value),
    Neq(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    /// `$gt` and friends: the ordering(s) of field vs bound that pass.
    Cmp {
        bound: Value,
        pass: Cmp,
    },
    Exists(bool),
    StartsWith(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Filter {
    /// Parse a filter object.
    pub fn parse(v: &Value) -> Result<Self, FilterError> {
        let mut p = Parser { conditions: 0 };
        p.filter(v, "", 0).map(Filter)
    }

    /// Whether `payload` passes.
    pub fn matches(&self, payload: &Value) -> bool {
        eval::node(&self.0, payload)
    }
}

struct Parser {
    conditions: usize,
}

impl Parser {
    fn count(&mut self) -> Result<(), FilterError> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(FilterError::TooLarge);
        }
        Ok(())
    }

    fn filter(&mut self, v: &Value, at: &str, depth: usize) -> Result<Node, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError::TooDeep);
        }
        let Value::Object(map) = v else {
            return Err(FilterError::NotObject { at: place(at) });
        };
        let mut all = Vec::with_capacity(map.len());
        for (key, value) in map {
            all.push(self.entry(key, value, at, depth)?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Node::All(all)
        })
    }

    fn entry(&mut self, key: &str, v: &Value, at: &str, depth: usize) -> Result<Node, FilterError> {
        self.count()?;
        match key {
            "$and" | "$or" => {
                let op = if key == "$and" { "$and" } else { "$or" };
                let items = match v {
                    Value::Array(items) if !items.is_empty() => items,
                    _ => return Err(operand(op, at, "a non-empty array of filters")),
                };
                let nodes = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.filter(item, &join(at, &format!("{op}[{i}]")), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "$and" {
                    Node::All(nodes)
                } else {
                    Node::Any(nodes)
                })
            }
            "$not" => Ok(Node::Not(Box::new(self.filter(
                v,
                &join(at, "$not"),
                depth + 1,
            )?))),
            op if op.starts_with('$') => Err(FilterError::UnknownOperator {
                op: op.into(),
                at: place(at),
            }),
            path => {
                let words = field_path(path, at)?;
                self.field(words, v, &join(at, path), depth)
            }
        }
    }

    /// The tests of one field: an operator object, or a plain value (`$eq`).
    fn field(
        &mut self,
        path: Vec<String>,
        v: &Value,
        at: &str,
        depth: usize,
    ) -> Result<Node, FilterError> {
        let Some(ops) = operator_object(v, at)? else {
            return Ok(Node::Field {
                path,
                test: Test::Eq(v.clone()),
            });
        };
        let mut all = Vec::with_capacity(ops.len());
        for (op, operand) in ops {
            if op == "$not" {
                if depth + 1 > MAX_DEPTH {
                    return Err(FilterError::TooDeep);
                }
                if operator_object(operand, at)?.is_none() {
                    return Err(self::operand("$not", at, "an object of operators"));
                }
                let inner = self.field(path.clone(), operand, at, depth + 1)?;
                all.push(Node::Not(Box::new(inner)));
                continue;
            }
            self.count()?;
            let test = test(op, operand, at)?;
            all.push(Node::Field {
                path: path.clone(),
                test,
            });
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Node::All(all)
        })
    }
}

/// `Some(operators)` if `v` is a non-empty object whose keys all start with
/// `$`; `None` for a plain value; an error for a mix.
fn operator_object<'v>(
    v: &'v Value,
    at: &str,
) -> Result<Option<&'v Map<String, Value>>, FilterError> {
    let Value::Object(map) = v else {
        return Ok(None);
    };
    let dollars = map.keys().filter(|k| k.starts_with('$')).count();
    match dollars {
        0 => Ok(None),
        n if n == map.len() => Ok(Some(map)),
        _ => Err(FilterError::Mixed { at: place(at) }),
    }
}

fn operand(op: &'static str, at: &str, expected: &'static str) -> FilterError {
    FilterError::Operand {
        op,
        at: place(at),
        expected,
    }
}

/// Where in the filter, for messages: `amount`, `$or[1].currency`.
fn place(at: &str) -> String {
    if at.is_empty() {
        "the top".to_string()
    } else {
        at.to_string()
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn field_path(path: &str, at: &str) -> Result<Vec<String>, FilterError> {
    let words: Vec<String> = path.split('.').map(str::to_string).collect();
    if path.len() > 256 || words.len() > MAX_PATH_WORDS || words.iter().any(String::is_empty) {
        return Err(FilterError::Path {
            path: path.chars().take(260).collect(),
            at: place(at),
        });
    }
    Ok(words)
}

/// One field operator and its operand.
fn test(op: &str, v: &Value, at: &str) -> Result<Test, FilterError> {
    let cmp = |pass: Cmp, name: &'static str| match v {
        Value::Number(_) | Value::String(_) => Ok(Test::Cmp {
            bound: v.clone(),
            pass,
        }),
        _ => Err(operand(name, at, "a number or a string")),
    };
    let list = |name: &'static str| match v {
        Value::Array(items) if items.len() <= MAX_IN => Ok(items.clone()),
        _ => Err(operand(name, at, "an array of at most 1000 values")),
    };
    match op {
        "$eq" => Ok(Test::Eq(v.clone())),
        "$neq" => Ok(Test::Neq(v.clone())),
        "$in" => list("$in").map(Test::In),
        "$nin" => list("$nin").map(Test::Nin),
        "$gt" => cmp(Cmp::Gt, "$gt"),
        "$gte" => cmp(Cmp::Gte, "$gte"),
        "$lt" => cmp(Cmp::Lt, "$lt"),
        "$lte" => cmp(Cmp::Lte, "$lte"),
        "$exists" => v
            .as_bool()
            .map(Test::Exists)
            .ok_or_else(|| operand("$exists", at, "true or false")),
        "$startsWith" => v
            .as_str()
            .map(|s| Test::StartsWith(s.to_string()))
            .ok_or_else(|| operand("$startsWith", at, "a string")),
        other => Err(FilterError::UnknownOperator {
            op: other.into(),
            at: place(at),
        }),
    }
}

#[cfg(test)]
mod tests;
