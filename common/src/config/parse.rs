//! Reading declared settings. Errors are collected, not returned, so every
//! bad variable is reported at once; a getter returns `None` after recording
//! an error, and the caller builds its section only when every part is there.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use super::settings::{Fallback, Setting};
use super::Env;

pub(super) struct Reader<'a> {
    env: &'a dyn Env,
    pub(super) errors: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(env: &'a dyn Env) -> Self {
        Self {
            env,
            errors: Vec::new(),
        }
    }

    /// The variable as set (trimmed; empty counts as unset).
    pub(super) fn raw(&self, s: &Setting) -> Option<String> {
        self.env
            .get(s.name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A variable that is not Herald's (`HOME`, `XDG_STATE_HOME`), if set.
    pub(super) fn outside(&self, name: &str) -> Option<String> {
        self.env.get(name).filter(|v| !v.trim().is_empty())
    }

    /// Parsed like [`Reader::read`] when set; `Some(None)` when unset.
    pub(super) fn optional<T>(
        &mut self,
        s: &Setting,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        if self.raw(s).is_none() {
            return Some(None);
        }
        self.read(s, parse).map(Some)
    }

    /// The variable as set, else the declared default value, if any.
    fn value(&self, s: &Setting) -> Option<String> {
        match (self.raw(s), s.default) {
            (Some(v), _) => Some(v),
            (None, Fallback::Value(v)) => Some(v.to_string()),
            (None, Fallback::Described(_)) => None,
        }
    }

    pub(super) fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    /// The value as set, else the declared default value; parsed by `parse`,
    /// whose error is reported as `NAME="value": error`.
    pub(super) fn read<T>(
        &mut self,
        s: &Setting,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let Some(value) = self.value(s) else {
            self.error(format!("{} has no default value to parse", s.name));
            return None;
        };
        match parse(&value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(format!("{}={value:?}: {e}", s.name));
                None
            }
        }
    }

    /// Any `FromStr` value; `what` names it in the error.
    pub(super) fn parse<T: FromStr>(&mut self, s: &Setting, what: &str) -> Option<T> {
        self.read(s, |v| v.parse().map_err(|_| format!("not {what}")))
    }

    /// A number within `range`.
    pub(super) fn number<T>(&mut self, s: &Setting, range: RangeInclusive<T>) -> Option<T>
    where
        T: FromStr + PartialOrd + Display,
    {
        self.read(s, |v| {
            let n: T = v.parse().map_err(|_| "not a number".to_string())?;
            if range.contains(&n) {
                Ok(n)
            } else {
                Err(format!("not between {} and {}", range.start(), range.end()))
            }
        })
    }

    /// A whole number greater than 0.
    pub(super) fn positive<T>(&mut self, s: &Setting) -> Option<T>
    where
        T: FromStr + PartialOrd + Default,
    {
        self.read(s, |v| match v.parse::<T>() {
            Ok(n) if n > T::default() => Ok(n),
            _ => Err("not a whole number greater than 0".to_string()),
        })
    }

    pub(super) fn duration(&mut self, s: &Setting) -> Option<Duration> {
        self.read(s, parse_duration)
    }

    pub(super) fn boolean(&mut self, s: &Setting) -> Option<bool> {
        self.read(s, |v| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("not a boolean (true/false)".to_string()),
        })
    }

    /// One of named `options` (several names may mean the same value; the
    /// first name of each value is the one the error lists).
    pub(super) fn choice<T: Copy + PartialEq>(
        &mut self,
        s: &Setting,
        options: &[(&str, T)],
    ) -> Option<T> {
        self.read(s, |v| {
            if let Some((_, value)) = options.iter().find(|(name, _)| *name == v) {
                return Ok(*value);
            }
            let mut names: Vec<&str> = Vec::new();
            for (i, (name, value)) in options.iter().enumerate() {
                if !options[..i].iter().any(|(_, seen)| seen == value) {
                    names.push(name);
                }
            }
            Err(format!("not one of {}", names.join(", ")))
        })
    }

    /// A comma-separated list, each entry parsed by `parse`; every bad
    /// entry is reported.
    pub(super) fn list<T>(
        &mut self,
        s: &Setting,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<T>> {
        let value = self.value(s).unwrap_or_default();
        let mut items = Vec::new();
        let mut ok = true;
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse(entry) {
                Ok(item) => items.push(item),
                Err(e) => {
                    self.error(format!("{} entry {entry:?}: {e}", s.name));
                    ok = false;
                }
            }
        }
        ok.then_some(items)
    }
}

/// Parse `250ms`, `5s`, `5m`, `2h`, `1d`, or a humantime expression like `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        if let Ok(n) = ms.trim().parse::<u64>() {
            return Ok(Duration::from_millis(n));
        }
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("not a duration ({e}); use e.g. 250ms, 5s, 5m, 2h, 1d"))
}

/// Parse a comma-separated retry schedule such as `5s,5m,30m`.
pub fn parse_retry_schedule(s: &str) -> Result<Vec<Duration>, String> {
    let delays: Result<Vec<_>, _> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(parse_duration)
        .collect();
    let delays = delays?;
    if delays.is_empty() {
        return Err("the retry schedule is empty".into());
    }
    if delays.len() > 50 {
        return Err("the retry schedule has more than 50 delays".into());
    }
    Ok(delays)
}

/// Parse a stream size limit: `unlimited`, or a size such as `64KiB`,
/// `512MB`, `10GiB` or a number of bytes (at least 1 KiB).
pub fn parse_max_bytes(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let size: bytesize::ByteSize = s
        .parse()
        .map_err(|_| "not a size; use e.g. 64MiB, 10GB, or unlimited".to_string())?;
    match size.as_u64() {
        n if n < 1024 => Err("less than 1KiB; use a size such as 64MiB, or unlimited".into()),
        n => Ok(Some(n)),
    }
}
