//! Limits every JSON body meets before it is parsed, in one pass over its
//! bytes: valid UTF-8, nesting at most [`MAX_DEPTH`] deep, numbers a 64-bit
//! float can hold (at most [`MAX_NUMBER_LEN`] characters, finite), and no
//! `\u0000` or unpaired surrogate escape (PostgreSQL stores neither, and
//! many receivers' parsers refuse them). serde_json's own recursion limit
//! (128) protects the stack; this gives the documented, lower limit and a
//! clear code for each problem.

use std::fmt;

/// Deepest nesting of arrays and objects.
pub const MAX_DEPTH: usize = 64;
/// Longest number literal.
pub const MAX_NUMBER_LEN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    InvalidUtf8,
    TooDeep,
    /// A number too long, or out of a 64-bit float's range.
    Number,
    /// `\u0000` or an unpaired surrogate.
    Unicode,
}

impl Problem {
    /// The error code of the `400` answer.
    pub fn code(self) -> &'static str {
        match self {
            Problem::InvalidUtf8 => "invalid_utf8",
            Problem::TooDeep => "too_deep",
            Problem::Number => "invalid_number",
            Problem::Unicode => "invalid_unicode",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::InvalidUtf8 => f.write_str("the body is not valid UTF-8"),
            Problem::TooDeep => write!(f, "the body nests arrays and objects more than {MAX_DEPTH} levels deep"),
            Problem::Number => write!(
                f,
                "a number is longer than {MAX_NUMBER_LEN} characters or beyond a 64-bit float's range"
            ),
            Problem::Unicode => f.write_str("a string holds \\u0000 or an unpaired surrogate escape"),
        }
    }
}

/// Check `body`; malformed JSON is left for the parser to report.
pub fn check(body: &[u8]) -> Result<(), Problem> {
    if std::str::from_utf8(body).is_err() {
        return Err(Problem::InvalidUtf8);
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Problem::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                i = string_end(body, i + 1)?;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                i = number_end(body, i)?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Index just past the string that starts at `i` (after its quote).
fn string_end(body: &[u8], mut i: usize) -> Result<usize, Problem> {
    let mut pending_high = false;
    while i < body.len() {
        match body[i] {
            b'"' if !pending_high => return Ok(i + 1),
            b'\\' if body.get(i + 1) == Some(&b'u') => {
                let unit = hex4(body.get(i + 2..i + 6));
                match unit {
                    Some(0) => return Err(Problem::Unicode),
                    Some(0xd800..=0xdbff) if !pending_high => pending_high = true,
                    Some(0xdc00..=0xdfff) if pending_high => pending_high = false,
                    Some(0xd800..=0xdfff) => return Err(Problem::Unicode),
                    // Malformed escapes are the parser's to report.
                    _ if pending_high => return Err(Problem::Unicode),
                    _ => {}
                }
                i += 6;
                continue;
            }
            _ if pending_high => return Err(Problem::Unicode),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Ok(body.len())
}

fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    let text = std::str::from_utf8(digits?).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// Index just past the number that starts at `i`.
fn number_end(body: &[u8], start: usize) -> Result<usize, Problem> {
    let len = body[start..]
        .iter()
        .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        .count();
    if len > MAX_NUMBER_LEN {
        return Err(Problem::Number);
    }
    let text = std::str::from_utf8(&body[start..start + len]).unwrap_or("");
    match text.parse::<f64>() {
        Ok(n) if !n.is_finite() => Err(Problem::Number),
        _ => Ok(start + len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn bodies_within_the_limits_pass() {
        for ok in [
            r#"{"type":"order.created","payload":{"n":1.5e300,"s":"a\"[[[\\u0000"}}"#,
            r#"{"emoji":"\ud83d\ude00","plain":"\u00e9","esc":"\\ud800"}"#,
            r#"{"n":-0.0000001,"big":12345678901234567890123456789,"e":1E-400}"#,
            "{\"tab\":\"a\\tb\",\"utf8\":\"日本\"}",
            &nested(64),
            "{\"x\":",
        ] {
            assert_eq!(check(ok.as_bytes()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn each_problem_is_named() {
        let long = format!("{{\"n\":{}}}", "9".repeat(101));
        for (bad, problem) in [
            (&b"{\"a\":\"\xff\"}"[..], Problem::InvalidUtf8),
            (nested(65).as_bytes(), Problem::TooDeep),
            (
                format!("{{\"a\":{}}}", nested(64)).as_bytes(),
                Problem::TooDeep,
            ),
            (&b"{\"n\":1e999}"[..], Problem::Number),
            (&b"{\"n\":-1e309}"[..], Problem::Number),
            (long.as_bytes(), Problem::Number),
            (&br#"{"s":"a\u0000b"}"#[..], Problem::Unicode),
            (&br#"{"s":"\ud800"}"#[..], Problem::Unicode),
            (&br#"{"s":"\ud800x"}"#[..], Problem::Unicode),
            (&br#"{"s":"\udc00"}"#[..], Problem::Unicode),
            (&br#"{"s":"\ud800\ud800"}"#[..], Problem::Unicode),
        ] {
            assert_eq!(check(bad), Err(problem), "{}", String::from_utf8_lossy(bad));
        }
    }
}
