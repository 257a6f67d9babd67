use super::*;
use serde_json::json;

fn matches(filter: Value, payload: &Value) -> bool {
    Filter::parse(&filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(payload)
}

#[test]
fn each_operator_judges_the_payload() {
    let p = json!({
        "amount": 150,
        "price": 9.5,
        "currency": "EUR",
        "region": "eu-west-1",
        "note": null,
        "paid_at": "2024-05-01T10:00:00Z",
        "customer": {"tier": "gold", "address": {"city": "Lyon"}},
        "items": [{"sku": "A-1"}, {"sku": "B-2"}],
        "tags": ["new", "vip"],
    });
    let cases = [
        (json!({}), true),
        (json!({"amount": {"$gte": 100}}), true),
        (json!({"amount": {"$gte": 150}}), true),
        (json!({"amount": {"$gt": 150}}), false),
        (json!({"amount": {"$lt": 150.5}}), true),
        (json!({"amount": {"$lte": 149}}), false),
        (json!({"amount": 150}), true),
        (json!({"amount": 150.0}), true),
        (json!({"amount": {"$eq": "150"}}), false),
        (json!({"amount": {"$neq": 150}}), false),
        (json!({"amount": {"$gte": 100, "$lt": 200}}), true),
        (json!({"amount": {"$gte": 100, "$lt": 120}}), false),
        (json!({"price": {"$gt": 9}}), true),
        (json!({"currency": {"$in": ["EUR", "USD"]}}), true),
        (json!({"currency": {"$nin": ["EUR", "USD"]}}), false),
        (json!({"currency": {"$gt": 100}}), false),
        (json!({"region": {"$startsWith": "eu-"}}), true),
        (json!({"region": {"$startsWith": "us-"}}), false),
        (json!({"amount": {"$startsWith": "1"}}), false),
        (json!({"paid_at": {"$gte": "2024-01-01"}}), true),
        (json!({"customer.tier": "gold"}), true),
        (
            json!({"customer.address.city": {"$in": ["Lyon", "Paris"]}}),
            true,
        ),
        (
            json!({"customer": {"tier": "gold", "address": {"city": "Lyon"}}}),
            true,
        ),
        (json!({"customer": {"tier": "gold"}}), false),
        (
            json!({"customer": {"$eq": {"address": {"city": "Lyon"}, "tier": "gold"}}}),
            true,
        ),
        (json!({"items.1.sku": "B-2"}), true),
        (json!({"items.2.sku": {"$exists": true}}), false),
        (json!({"tags": ["new", "vip"]}), true),
        (json!({"note": null}), true),
        (json!({"note": {"$exists": true}}), true),
        (json!({"missing": {"$exists": false}}), true),
        (json!({"missing": {"$exists": true}}), false),
        (json!({"missing": {"$neq": 1}}), true),
        (json!({"missing": {"$nin": [1]}}), true),
        (json!({"missing": {"$eq": null}}), false),
        (json!({"missing": {"$lt": 5}}), false),
        (json!({"amount.deeper": {"$exists": true}}), false),
        (
            json!({"$and": [{"amount": {"$gte": 100}}, {"currency": "EUR"}]}),
            true,
        ),
        (
            json!({"$and": [{"amount": {"$gte": 100}}, {"currency": "USD"}]}),
            false,
        ),
        (
            json!({"$or": [{"amount": {"$gte": 1000}}, {"currency": "EUR"}]}),
            true,
        ),
        (
            json!({"$or": [{"amount": {"$gte": 1000}}, {"currency": "USD"}]}),
            false,
        ),
        (json!({"$not": {"currency": "USD"}}), true),
        (json!({"amount": {"$not": {"$gte": 100}}}), false),
        (json!({"missing": {"$not": {"$gte": 100}}}), true),
        (json!({"amount": {"$gte": 100}, "currency": "USD"}), false),
    ];
    for (filter, want) in cases {
        assert_eq!(matches(filter.clone(), &p), want, "{filter}");
    }
}

#[test]
fn large_integers_compare_exactly() {
    let p = json!({"id": 9_007_199_254_740_993_u64});
    assert!(matches(json!({"id": 9_007_199_254_740_993_u64}), &p));
    assert!(!matches(json!({"id": 9_007_199_254_740_992_u64}), &p));
    assert!(matches(json!({"id": {"$gt": -1}}), &p));
}

#[test]
fn bad_filters_name_the_operator_and_the_place() {
    let cases = [
        (json!({"amount": {"$regex": "^1"}}), "\"$regex\" at amount"),
        (json!({"$nor": []}), "\"$nor\" at the top"),
        (
            json!({"$or": [{"a": 1}, {"b": {"$like": 1}}]}),
            "\"$like\" at $or[1].b",
        ),
        (
            json!({"amount": {"$gte": true}}),
            "$gte at amount takes a number or a string",
        ),
        (json!({"a": {"$in": "x"}}), "$in at a takes an array"),
        (
            json!({"a": {"$exists": 1}}),
            "$exists at a takes true or false",
        ),
        (
            json!({"a": {"$startsWith": 1}}),
            "$startsWith at a takes a string",
        ),
        (
            json!({"$and": []}),
            "$and at the top takes a non-empty array",
        ),
        (
            json!({"$or": {"a": 1}}),
            "$or at the top takes a non-empty array",
        ),
        (json!({"$not": [1]}), "at $not must be a JSON object"),
        (
            json!({"a": {"$not": 5}}),
            "$not at a takes an object of operators",
        ),
        (json!({"a": {"$eq": 1, "b": 2}}), "mixes operators"),
        (json!({"a..b": 1}), "is not a field path"),
        (json!([1]), "at the top must be a JSON object"),
    ];
    for (filter, want) in cases {
        let err = Filter::parse(&filter).expect_err(&filter.to_string());
        assert!(err.to_string().contains(want), "{filter}: {err}");
    }
}

#[test]
fn oversize_filters_are_refused() {
    let mut deep = json!({"a": 1});
    for _ in 0..=MAX_DEPTH {
        deep = json!({ "$not": deep });
    }
    assert_eq!(Filter::parse(&deep), Err(FilterError::TooDeep));
    let wide: Map<String, Value> = (0..=MAX_CONDITIONS)
        .map(|i| (format!("f{i}"), json!(i)))
        .collect();
    assert_eq!(
        Filter::parse(&Value::Object(wide)),
        Err(FilterError::TooLarge)
    );
    let long_in = json!({"a": {"$in": vec![1; MAX_IN + 1]}});
    assert!(Filter::parse(&long_in).is_err());
}
