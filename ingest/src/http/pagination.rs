//! Cursor pagination. Ids are UUIDv7, so id order is creation order: lists
//! are newest first and a cursor is the last id of the previous page,
//! encoded so callers treat it as opaque.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `limit`: 1 to 200, default 50.
pub fn limit(v: Option<i64>) -> Result<i64, ApiError> {
    match v {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_LIMIT} (got {n})"),
        )),
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(v: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
    let bytes: [u8; 16] = bytes.as_slice().try_into().map_err(|_| bad())?;
    Ok(Some(Uuid::from_bytes(bytes)))
}

/// Build a page from `limit + 1` fetched rows: the extra row only says that
/// there is a next page.
pub fn page<T>(rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Page<T> {
    page_by(rows, limit, |r| encode_cursor(id(r)))
}

/// [`page`] for lists ordered by something else than the id: `cursor`
/// encodes the last row's position.
pub fn page_by<T>(mut rows: Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(cursor) } else { None };
    Page {
        data: rows,
        next_cursor,
    }
}

/// The cursor of a list ordered by name: the last name, encoded.
pub fn encode_name_cursor(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(name.as_bytes())
}

pub fn decode_name_cursor(v: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
    let name = String::from_utf8(bytes).map_err(|_| bad())?;
    if name.is_empty() || name.len() > 256 {
        return Err(bad());
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(
            decode_cursor(Some(&encode_cursor(id))).expect("valid"),
            Some(id)
        );
        assert_eq!(decode_cursor(None).expect("none"), None);
        for bad in ["", "!!!", "abc", &id.to_string()] {
            assert_eq!(
                decode_cursor(Some(bad)).expect_err(bad).code,
                "invalid_cursor"
            );
        }
    }

    #[test]
    fn name_cursors_round_trip_and_garbage_is_refused() {
        let c = encode_name_cursor("order.created");
        assert_eq!(
            decode_name_cursor(Some(&c)).expect("valid"),
            Some("order.created".to_string())
        );
        for bad in ["", "!!!", "_w"] {
            assert_eq!(
                decode_name_cursor(Some(bad)).expect_err(bad).code,
                "invalid_cursor"
            );
        }
    }

    #[test]
    fn limits_are_in_range() {
        assert_eq!(limit(None).expect("default"), DEFAULT_LIMIT);
        assert_eq!(limit(Some(200)).expect("max"), 200);
        for bad in [0, -1, 201] {
            assert_eq!(limit(Some(bad)).expect_err("range").code, "invalid_limit");
        }
    }

    #[test]
    fn pages_report_a_cursor_only_when_more_rows_exist() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let p = page(ids.clone(), 2, |u| *u);
        assert_eq!(p.data.len(), 2);
        assert_eq!(p.next_cursor, Some(encode_cursor(ids[1])));
        assert_eq!(page(ids, 3, |u| *u).next_cursor, None);
    }
}
