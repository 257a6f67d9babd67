//! When a row is final enough to judge: ids are made by the writer before
//! its transaction commits, and a delete that started before a row was
//! committed does not see it. A row is judged only once both its own
//! transaction and every transaction that could have deleted its parent
//! without seeing it have ended.
//!
//! Each round notes Postgres's clock and the start of the oldest
//! transaction then open in the database ([`Observation`]). A transaction
//! open at time `t` has ended by a round whose oldest open transaction
//! started after `t`. Twice over: the rows made before `t_k` were committed
//! by round `j` (every transaction open at `t_k` had ended), and every
//! transaction open at `t_j` — which includes any delete that started
//! before those rows were committed — has ended by now.

pub use crate::store::integrity::Observation;
use chrono::{DateTime, Utc};

/// The time before which every row is settled, given the observations of
/// the past rounds in order (the last is now), and the index of that
/// observation (the ones before it are no longer needed); `None` until
/// enough rounds have passed.
pub fn settled(seen: &[Observation]) -> Option<(usize, DateTime<Utc>)> {
    let now = seen.last()?;
    let ended_by = |horizon: DateTime<Utc>| seen.iter().rposition(|o| o.at < horizon);
    let j = ended_by(now.oldest_open)?;
    let k = ended_by(seen[j].oldest_open)?;
    Some((k, seen[k].at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    /// (clock, oldest open) in seconds.
    fn seen(rounds: &[(i64, i64)]) -> Vec<Observation> {
        rounds
            .iter()
            .map(|&(t, o)| Observation {
                at: at(t),
                oldest_open: at(o),
            })
            .collect()
    }

    #[test]
    fn settled_lags_two_rounds_past_every_open_transaction() {
        type Case<'a> = (&'a str, &'a [(i64, i64)], Option<(usize, i64)>);
        let table: &[Case] = &[
            ("nothing seen", &[], None),
            ("one quiet round", &[(0, 0)], None),
            ("two quiet rounds", &[(0, 0), (1, 1)], None),
            (
                "three quiet rounds",
                &[(0, 0), (1, 1), (2, 2)],
                Some((0, 0)),
            ),
            (
                "quiet rounds settle two back",
                &[(0, 0), (1, 1), (2, 2), (3, 3)],
                Some((1, 1)),
            ),
            (
                "a transaction open from 1 to between 3 and 4",
                &[(0, 0), (1, 1), (2, 1), (3, 1), (4, 4), (5, 5)],
                Some((3, 3)),
            ),
            (
                "the same transaction seen ended only at the last round",
                &[(0, 0), (1, 1), (2, 1), (3, 1), (4, 4)],
                Some((0, 0)),
            ),
            (
                "held back at round 2 by a transaction from 1, then free",
                &[(0, 0), (1, 1), (2, 1), (3, 3), (4, 4)],
                Some((2, 2)),
            ),
            (
                "a transaction from 1 still open",
                &[(0, 0), (1, 1), (2, 1), (3, 1)],
                None,
            ),
            (
                "a transaction older than every round still open",
                &[(0, 0), (1, 0), (2, 0), (3, 0)],
                None,
            ),
        ];
        for (name, rounds, want) in table {
            let want = want.map(|(i, s)| (i, at(s)));
            assert_eq!(settled(&seen(rounds)), want, "{name}");
        }
    }
}
