//! Subscription patterns: the event types an endpoint receives, with the
//! wildcard tokens of NATS subjects.
//!
//! | pattern | matches |
//! | --- | --- |
//! | `order.created` | that type only |
//! | `order.*` | one more word: `order.created`, not `order` nor `order.item.added` |
//! | `order.>` | one or more words: `order.created`, `order.item.added`, not `order` |
//! | `*.created` | `order.created`, `invoice.created` |
//! | `>` or `*` alone | every type |
//!
//! `*` alone means every type (as in most webhook APIs) rather than NATS's
//! "one-word names only": event types of one word are rare, and a
//! subscription to `*` means "everything" to whoever writes it. Matching
//! works on any dot-separated name, Herald's own `herald.*` types included,
//! and needs no registry: a type registered later is matched too.

use std::fmt;

use crate::domain::EventType;

/// The longest pattern, as long as the longest event type.
pub const MAX_PATTERN: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    #[error(
        "{0:?} is not an event type or pattern: dot-separated words of A-Z, a-z, 0-9, '_' or '-', \
         where a word may be '*' (any one word) and the last may be '>' (one or more words); \
         at most 128 characters"
    )]
    Syntax(String),
}

/// One token of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// `*`: exactly one word.
    One,
    /// `>`: one or more words (last token only).
    Rest,
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Self, PatternError> {
        let bad = || PatternError::Syntax(s.chars().take(MAX_PATTERN + 2).collect());
        if s.is_empty() || s.len() > MAX_PATTERN {
            return Err(bad());
        }
        let count = s.split('.').count();
        let mut tokens = Vec::with_capacity(count);
        for (i, word) in s.split('.').enumerate() {
            let token = match word {
                "*" => Token::One,
                ">" if i + 1 == count => Token::Rest,
                w if EventType::parse(w).is_ok() => Token::Word(w.to_string()),
                _ => return Err(bad()),
            };
            tokens.push(token);
        }
        if tokens == [Token::One] {
            tokens = vec![Token::Rest];
        }
        Ok(Self {
            text: s.to_string(),
            tokens,
        })
    }

    /// A plain event type (no wildcard).
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Word(_)))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the event type `name` matches. Never allocates.
    pub fn matches(&self, name: &str) -> bool {
        let mut words = name.split('.');
        for token in &self.tokens {
            match token {
                Token::Rest => return words.next().is_some(),
                Token::One => {
                    if words.next().is_none() {
                        return false;
                    }
                }
                Token::Word(w) => {
                    if words.next() != Some(w.as_str()) {
                        return false;
                    }
                }
            }
        }
        words.next().is_none()
    }
}

impl Pattern {
    /// The same pattern as a NATS subject filter writes it (`*` alone, which
    /// Herald reads as every type, is `>`).
    pub fn subject(&self) -> String {
        if self.tokens == [Token::Rest] {
            ">".to_string()
        } else {
            self.text.clone()
        }
    }

    /// The same pattern as an anchored POSIX regular expression (what
    /// Postgres's `~` reads), for finding matching types in SQL:
    /// `order.*` is `^order\.[^.]+$`, `order.>` is `^order\..+$`.
    pub fn regex(&self) -> String {
        let words: Vec<&str> = self
            .tokens
            .iter()
            .map(|t| match t {
                // Words are A-Z, a-z, 0-9, '_' and '-': nothing to escape.
                Token::Word(w) => w.as_str(),
                Token::One => "[^.]+",
                Token::Rest => ".+",
            })
            .collect();
        format!("^{}$", words.join("\\."))
    }

    /// Whether every type `other` matches, this one matches too.
    pub fn covers(&self, other: &Pattern) -> bool {
        covers(&self.tokens, &other.tokens)
    }

    /// Whether some type matches both.
    pub fn overlaps(&self, other: &Pattern) -> bool {
        overlaps(&self.tokens, &other.tokens)
    }
}

fn covers(a: &[Token], b: &[Token]) -> bool {
    match (a.first(), b.first()) {
        (None, None) | (Some(Token::Rest), Some(_)) => true,
        (Some(Token::One), Some(Token::One | Token::Word(_))) => covers(&a[1..], &b[1..]),
        (Some(Token::Word(x)), Some(Token::Word(y))) if x == y => covers(&a[1..], &b[1..]),
        _ => false,
    }
}

fn overlaps(a: &[Token], b: &[Token]) -> bool {
    match (a.first(), b.first()) {
        (None, None) | (Some(Token::Rest), Some(_)) | (Some(_), Some(Token::Rest)) => true,
        (Some(Token::One), Some(_)) | (Some(_), Some(Token::One)) => overlaps(&a[1..], &b[1..]),
        (Some(Token::Word(x)), Some(Token::Word(y))) => x == y && overlaps(&a[1..], &b[1..]),
        _ => false,
    }
}

/// Subject filters (the event type part) for a JetStream consumer that must
/// see every type `entries` match: each entry as NATS writes it, without
/// those another entry covers. JetStream refuses filters of one consumer
/// that overlap, so entries that still overlap (`order.*` and `*.created`)
/// give the one filter `>`, and the consumer's reader must match each
/// event itself. Entries that do not parse are left out.
pub fn subject_filters<S: AsRef<str>>(entries: &[S]) -> Vec<String> {
    let mut patterns: Vec<Pattern> = Vec::with_capacity(entries.len());
    for p in entries
        .iter()
        .filter_map(|e| Pattern::parse(e.as_ref()).ok())
    {
        if patterns.iter().any(|q| q.covers(&p)) {
            continue;
        }
        patterns.retain(|q| !p.covers(q));
        patterns.push(p);
    }
    let overlap = patterns
        .iter()
        .enumerate()
        .any(|(i, p)| patterns[i + 1..].iter().any(|q| p.overlaps(q)));
    if overlap {
        return vec![">".to_string()];
    }
    let mut subjects: Vec<String> = patterns.iter().map(Pattern::subject).collect();
    subjects.sort();
    subjects
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An endpoint's subscriptions, compiled once: plain types compared as
/// strings, wildcard patterns matched token by token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    exact: Vec<String>,
    wildcards: Vec<Pattern>,
    everything: bool,
}

impl Subscriptions {
    /// Parse every entry; the first that is not a pattern is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, PatternError> {
        let mut out = Self::default();
        for entry in entries {
            let p = Pattern::parse(entry.as_ref())?;
            if p.tokens == [Token::Rest] {
                out.everything = true;
            }
            if p.is_literal() {
                out.exact.push(p.text);
            } else {
                out.wildcards.push(p);
            }
        }
        Ok(out)
    }

    /// Whether an event of type `name` is subscribed to.
    pub fn matches(&self, name: &str) -> bool {
        self.everything
            || self.exact.iter().any(|e| e == name)
            || self.wildcards.iter().any(|p| p.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern).expect(pattern).matches(name)
    }

    #[test]
    fn wildcards_follow_nats_subject_tokens() {
        let cases = [
            ("order.created", "order.created", true),
            ("order.created", "order.updated", false),
            ("order.created", "order.created.v2", false),
            ("order.*", "order.created", true),
            ("order.*", "order.updated", true),
            ("order.*", "order.item.added", false),
            ("order.*", "order", false),
            ("order.*", "invoice.created", false),
            ("order.>", "order.created", true),
            ("order.>", "order.updated", true),
            ("order.>", "order.item.added", true),
            ("order.>", "order", false),
            ("order.>", "orders.created", false),
            ("*.created", "order.created", true),
            ("*.created", "order.item.created", false),
            ("order.*.added", "order.item.added", true),
            ("order.*.>", "order.item.added", true),
            ("order.*.>", "order.item", false),
            (">", "order", true),
            (">", "herald.endpoint.disabled", true),
            ("*", "order.item.added", true),
            ("*", "user", true),
            ("herald.>", "herald.endpoint.disabled", true),
            ("herald.>", "order.created", false),
            ("herald.endpoint.*", "herald.endpoint.disabled", true),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), want, "{pattern} ~ {name}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "",
            ".",
            "order.",
            ".order",
            "order..created",
            "order.>.created",
            ">.order",
            "order*",
            "order.cre*",
            "order.>>",
            "order. created",
            "é",
            &"a".repeat(129),
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Pattern::parse("order.created").expect("ok").is_literal());
        assert!(!Pattern::parse("order.*").expect("ok").is_literal());
    }

    #[test]
    fn patterns_read_as_anchored_regular_expressions() {
        for (p, want) in [
            ("order.created", "^order\\.created$"),
            ("order.*", "^order\\.[^.]+$"),
            ("order.>", "^order\\..+$"),
            ("*.item-2.>", "^[^.]+\\.item-2\\..+$"),
            (">", "^.+$"),
            ("*", "^.+$"),
        ] {
            assert_eq!(Pattern::parse(p).expect(p).regex(), want, "{p}");
        }
    }

    #[test]
    fn consumer_filters_never_overlap_and_cover_every_entry() {
        let cases: [(&[&str], &[&str]); 7] = [
            (
                &["order.updated", "order.created"],
                &["order.created", "order.updated"],
            ),
            (&["order.created", "order.*"], &["order.*"]),
            (&["order.*", "order.>", "order.created"], &["order.>"]),
            (&["*"], &[">"]),
            (&["order.*", "*.created"], &[">"]),
            (
                &["order.*", "invoice.>", "user.signed_up"],
                &["invoice.>", "order.*", "user.signed_up"],
            ),
            (&["a.*.c", "a.b.*"], &[">"]),
        ];
        for (entries, want) in cases {
            assert_eq!(subject_filters(entries), want, "{entries:?}");
        }
    }

    #[test]
    fn subscriptions_match_any_entry() {
        let s = Subscriptions::parse(&["user.signed_up", "order.*"]).expect("valid");
        assert!(s.matches("user.signed_up"));
        assert!(s.matches("order.created"));
        assert!(!s.matches("order.item.added"));
        assert!(!s.matches("user.deleted"));
        assert!(Subscriptions::parse(&[">"]).expect("all").matches("x.y.z"));
        assert!(!Subscriptions::parse::<&str>(&[])
            .expect("none")
            .matches("x"));
        assert_eq!(
            Subscriptions::parse(&["ok", "bad..one"]),
            Err(PatternError::Syntax("bad..one".into()))
        );
    }
}
