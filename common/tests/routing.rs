//! Property tests of the subscription matcher and the payload filter: they
//! never panic, wildcards agree with a reference matcher written from the
//! NATS rules, and the logical operators mean what they say.

use herald_common::routing::{subject_filters, Filter, Pattern};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Words from a small alphabet, so that random names and patterns meet.
fn word() -> impl Strategy<Value = String> {
    prop::sample::select(&["a", "b", "order", "created", "x-1"][..]).prop_map(str::to_string)
}

fn name() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(word(), 1..5)
}

/// A pattern: words, `*` anywhere, `>` only last.
fn pattern() -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::vec(prop_oneof![3 => word(), 1 => Just("*".to_string())], 1..5),
        any::<bool>(),
    )
        .prop_map(|(mut tokens, rest)| {
            if rest {
                if let Some(last) = tokens.last_mut() {
                    *last = ">".to_string();
                }
            }
            tokens
        })
}

/// The NATS rules, written the obvious recursive way.
fn reference(pattern: &[String], name: &[String]) -> bool {
    match (pattern.first().map(String::as_str), name.first()) {
        (None, None) => true,
        (Some(">"), Some(_)) => true,
        (Some("*"), Some(_)) => reference(&pattern[1..], &name[1..]),
        (Some(w), Some(n)) => w == n && reference(&pattern[1..], &name[1..]),
        _ => false,
    }
}

proptest! {
    #[test]
    fn the_matcher_agrees_with_the_nats_rules(p in pattern(), n in name()) {
        let parsed = Pattern::parse(&p.join(".")).expect("generated patterns are valid");
        let want = if p == ["*"] { true } else { reference(&p, &n) };
        prop_assert_eq!(parsed.matches(&n.join(".")), want, "{} ~ {}", p.join("."), n.join("."));
    }

    #[test]
    fn a_name_matches_itself_its_prefixes_with_rest_and_itself_with_stars(
        n in name(), stars in prop::collection::vec(any::<bool>(), 5), cut in 0usize..5,
    ) {
        let text = n.join(".");
        prop_assert!(Pattern::parse(&text).expect("literal").matches(&text));
        let starred: Vec<&str> = n.iter().zip(&stars)
            .map(|(w, s)| if *s { "*" } else { w.as_str() })
            .collect();
        prop_assert!(Pattern::parse(&starred.join(".")).expect("stars").matches(&text));
        let cut = cut.min(n.len());
        let mut rest: Vec<&str> = n[..cut].iter().map(String::as_str).collect();
        rest.push(">");
        // `prefix.>` needs at least one word after the prefix.
        prop_assert_eq!(
            Pattern::parse(&rest.join(".")).expect("rest").matches(&text),
            cut < n.len()
        );
    }

    #[test]
    fn consumer_filters_cover_every_subscription_without_overlapping(
        entries in prop::collection::vec(pattern(), 1..4), n in name(),
    ) {
        let texts: Vec<String> = entries.iter().map(|p| p.join(".")).collect();
        let filters: Vec<Pattern> = subject_filters(&texts)
            .iter()
            .map(|f| Pattern::parse(f).expect("a filter is a pattern"))
            .collect();
        for (i, f) in filters.iter().enumerate() {
            for g in &filters[i + 1..] {
                prop_assert!(!f.overlaps(g), "{} overlaps {}", f, g);
            }
        }
        let name = n.join(".");
        let subscribed = texts.iter().any(|t| Pattern::parse(t).expect("valid").matches(&name));
        if subscribed {
            prop_assert!(filters.iter().any(|f| f.matches(&name)), "{name} lost by {texts:?}");
        }
    }

    #[test]
    fn covers_and_overlaps_agree_with_the_names_matched(a in pattern(), b in pattern(), n in name()) {
        let (pa, pb) = (
            Pattern::parse(&a.join(".")).expect("valid"),
            Pattern::parse(&b.join(".")).expect("valid"),
        );
        let name = n.join(".");
        if pa.covers(&pb) && pb.matches(&name) {
            prop_assert!(pa.matches(&name));
        }
        if pa.matches(&name) && pb.matches(&name) {
            prop_assert!(pa.overlaps(&pb), "{} and {} both match {}", pa, pb, name);
        }
    }

    #[test]
    fn parsing_and_matching_never_panic(p in ".{0,40}", n in ".{0,40}") {
        if let Ok(parsed) = Pattern::parse(&p) {
            let _ = parsed.matches(&n);
        }
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[$a-c.0-9]{0,6}".prop_map(Value::String),
        prop::sample::select(&["$eq", "$gt", "$in", "$not", "$and", "$or", "$exists"][..])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(
                    &["a", "b", "a.b", "$eq", "$gte", "$in", "$not", "$and", "$or", "$regex"][..]
                ),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// A payload with the fields the generated filters look at.
fn payload() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..300).prop_map(Value::from),
        prop::sample::select(&["eu-1", "us-2", "EUR", ""][..]).prop_map(|s| json!(s)),
    ];
    prop::collection::btree_map(
        prop::sample::select(&["a", "b", "c"][..]),
        scalar.clone(),
        0..3,
    )
    .prop_flat_map(move |top| {
        prop::collection::btree_map(prop::sample::select(&["a", "b"][..]), scalar.clone(), 0..2)
            .prop_map(move |nested| {
                let mut v = json!(top.clone());
                v["n"] = json!(nested);
                v
            })
    })
}

/// A valid filter over the payload's fields.
fn filter() -> impl Strategy<Value = Value> {
    let path = prop::sample::select(&["a", "b", "c", "n.a", "n.b", "missing"][..]);
    let number = (-3i64..300).prop_map(Value::from);
    let operand = prop_oneof![
        number.clone(),
        prop::sample::select(&["eu-1", "EUR"][..]).prop_map(|s| json!(s))
    ];
    let test = prop_oneof![
        operand.clone().prop_map(|v| json!({ "$eq": v })),
        operand.clone().prop_map(|v| json!({ "$neq": v })),
        prop::collection::vec(operand.clone(), 0..3).prop_map(|v| json!({ "$in": v })),
        prop::collection::vec(operand.clone(), 0..3).prop_map(|v| json!({ "$nin": v })),
        operand.clone().prop_map(|v| json!({ "$gt": v })),
        operand.clone().prop_map(|v| json!({ "$gte": v })),
        operand.clone().prop_map(|v| json!({ "$lt": v })),
        operand.clone().prop_map(|v| json!({ "$lte": v })),
        any::<bool>().prop_map(|b| json!({ "$exists": b })),
        prop::sample::select(&["eu", "U", ""][..]).prop_map(|s| json!({ "$startsWith": s })),
        operand
            .clone()
            .prop_map(|v| json!({ "$not": { "$gte": v } })),
        operand,
    ];
    let leaf = (path, test).prop_map(|(p, t)| json!({ p: t }));
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({ "$and": v })),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({ "$or": v })),
            inner.clone().prop_map(|f| json!({ "$not": f })),
            (inner.clone(), inner).prop_map(|(a, b)| {
                let mut m = a.as_object().cloned().unwrap_or_default();
                m.extend(b.as_object().cloned().unwrap_or_default());
                Value::Object(m)
            }),
        ]
    })
}

fn eval(filter: &Value, payload: &Value) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(payload)
}

proptest! {
    #[test]
    fn a_filter_never_panics(f in any_json(), p in any_json()) {
        if let Ok(filter) = Filter::parse(&f) {
            let _ = filter.matches(&p);
        }
    }

    #[test]
    fn not_inverts(f in filter(), p in payload()) {
        prop_assert_eq!(eval(&json!({ "$not": f }), &p), !eval(&f, &p), "{}", f);
    }

    #[test]
    fn and_or_of_one_filter_are_that_filter(f in filter(), p in payload()) {
        let once = eval(&f, &p);
        prop_assert_eq!(eval(&json!({ "$and": [f] }), &p), once, "{}", f);
        prop_assert_eq!(eval(&json!({ "$or": [f] }), &p), once, "{}", f);
    }

    #[test]
    fn de_morgan_holds(a in filter(), b in filter(), p in payload()) {
        let not_or = eval(&json!({ "$not": { "$or": [a, b] } }), &p);
        let and_not = eval(&json!({ "$and": [{ "$not": a }, { "$not": b }] }), &p);
        prop_assert_eq!(not_or, and_not);
    }

    #[test]
    fn a_plain_value_means_eq(v in (-3i64..300), p in payload()) {
        prop_assert_eq!(eval(&json!({ "a": v }), &p), eval(&json!({ "a": { "$eq": v } }), &p));
    }
}
