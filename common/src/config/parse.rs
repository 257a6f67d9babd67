//! Reading and parsing single variables; errors are collected, not returned,
//! so every bad variable is reported at once.

use std::str::FromStr;
use std::time::Duration;

use super::Env;

pub(super) struct Reader<'a> {
    pub(super) env: &'a dyn Env,
    pub(super) errors: Vec<String>,
}

impl Reader<'_> {
    pub(super) fn raw(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn parse<T: FromStr>(&mut self, key: &str, default: T, what: &str) -> T {
        match self.raw(key) {
            None => default,
            Some(v) => match v.parse::<T>() {
                Ok(x) => x,
                Err(_) => {
                    self.errors.push(format!("{key}={v:?} is not {what}"));
                    default
                }
            },
        }
    }

    pub(super) fn positive<T: FromStr + PartialOrd + Default + Copy>(
        &mut self,
        key: &str,
        default: T,
        what: &str,
    ) -> T {
        let v = self.parse(key, default, what);
        if v <= T::default() {
            self.errors.push(format!("{key} must be greater than 0"));
            return default;
        }
        v
    }

    pub(super) fn duration(&mut self, key: &str, default: &str) -> Duration {
        let fallback = parse_duration(default).unwrap_or(Duration::from_secs(1));
        match self.raw(key) {
            None => fallback,
            Some(v) => match parse_duration(&v) {
                Ok(d) => d,
                Err(e) => {
                    self.errors.push(format!("{key}={v:?}: {e}"));
                    fallback
                }
            },
        }
    }

    pub(super) fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.raw(key).map(|v| v.to_ascii_lowercase()) {
            None => default,
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    self.errors
                        .push(format!("{key}={v:?} is not a boolean (true/false)"));
                    default
                }
            },
        }
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
