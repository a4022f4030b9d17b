//! The activity log ("log com"): commits pushed to projects, per user and
//! day, for the contribution heatmap.

use std::collections::BTreeMap;

use rusqlite::params;

use crate::{Result, Store};

/// One commit to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitActivity {
    /// The user the commit's email belongs to.
    pub username: String,
    /// Commit id.
    pub commit: String,
    /// Commit time, epoch seconds.
    pub time: i64,
}

impl Store {
    /// Records commits pushed to a project; a commit already recorded for
    /// the project is not counted twice. Returns how many rows were added.
    pub fn record_activity(&self, project: &str, commits: &[CommitActivity]) -> Result<usize> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT OR IGNORE INTO activity (project, username, commit_id, day, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut added = 0;
        for c in commits {
            let day = chrono::DateTime::from_timestamp(c.time, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "1970-01-01".into());
            added += stmt.execute(params![project, c.username, c.commit, day, c.time])?;
        }
        Ok(added)
    }

    /// Commits per day (`YYYY-MM-DD`, UTC) of a user, in one year or all.
    pub fn activity_by_day(
        &self,
        username: &str,
        year: Option<i32>,
    ) -> Result<BTreeMap<String, u64>> {
        let (from, to) = match year {
            Some(y) => (format!("{y:04}-01-01"), format!("{y:04}-12-31")),
            None => ("0000-01-01".into(), "9999-12-31".into()),
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT day, count(*) FROM activity WHERE username = ?1 AND day BETWEEN ?2 AND ?3
             GROUP BY day ORDER BY day",
        )?;
        let rows = stmt.query_map(params![username, from, to], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One day of a [`YearCalendar`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Its column: weeks since the calendar's first Sunday.
    pub week: u32,
    /// Its row: 0 for Sunday to 6 for Saturday.
    pub weekday: u32,
    /// Commits that day.
    pub count: u64,
}

/// A user's past year of activity, laid out as the heatmap draws it: the
/// days from the Sunday 52 weeks before `today`'s week through `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    /// Every day, in order.
    pub days: Vec<CalendarDay>,
    /// Commits in all.
    pub total: u64,
    /// The most on one day.
    pub max: u64,
}

impl Store {
    /// The year up to the day of `now` (epoch seconds, UTC) of a user's
    /// activity.
    pub fn activity_calendar(&self, username: &str, now: i64) -> Result<YearCalendar> {
        use chrono::{Datelike, Duration};
        let today = chrono::DateTime::from_timestamp(now, 0)
            .unwrap_or_default()
            .date_naive();
        let back = 52 * 7 + today.weekday().num_days_from_sunday();
        let first = today - Duration::days(i64::from(back));
        let counts: BTreeMap<String, u64> = {
            let mut stmt = self.conn().prepare_cached(
                "SELECT day, count(*) FROM activity WHERE username = ?1 AND day BETWEEN ?2 AND ?3
                 GROUP BY day",
            )?;
            let rows = stmt.query_map(
                params![username, first.to_string(), today.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)),
            )?;
            rows.collect::<Result<_, _>>()?
        };
        let mut days = Vec::with_capacity(back as usize + 1);
        for offset in 0..=back {
            let day = first + Duration::days(i64::from(offset));
            let date = day.to_string();
            let count = counts.get(&date).copied().unwrap_or(0);
            days.push(CalendarDay {
                date,
                week: offset / 7,
                weekday: offset % 7,
                count,
            });
        }
        Ok(YearCalendar {
            total: days.iter().map(|d| d.count).sum(),
            max: days.iter().map(|d| d.count).max().unwrap_or(0),
            days,
        })
    }

    /// The commits a user made on one day (`YYYY-MM-DD`): project and commit id.
    pub fn activity_on(&self, username: &str, day: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT project, commit_id FROM activity WHERE username = ?1 AND day = ?2 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map(params![username, day], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_is_a_year_of_whole_weeks_to_today() -> Result<()> {
        let store = Store::open_in_memory()?;
        // 2026-12-04 is a Friday.
        let now = 1_796_342_400 + 9 * 3600;
        let day = |date: &str| -> i64 {
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .expect("date")
                .and_hms_opt(12, 0, 0)
                .expect("noon")
                .and_utc()
                .timestamp()
        };
        let commits: Vec<CommitActivity> = [
            ("a", "2026-12-04"),
            ("b", "2026-12-04"),
            ("c", "2025-11-30"),
            ("d", "2025-11-29"),
        ]
        .iter()
        .map(|(id, date)| CommitActivity {
            username: "alice".into(),
            commit: (*id).into(),
            time: day(date),
        })
        .collect();
        store.record_activity("p", &commits)?;
        let cal = store.activity_calendar("alice", now)?;
        let first = cal.days.first().expect("days");
        assert_eq!(
            (first.date.as_str(), first.weekday, first.week),
            ("2025-11-30", 0, 0)
        );
        let last = cal.days.last().expect("days");
        assert_eq!(
            (last.date.as_str(), last.weekday, last.week),
            ("2026-12-04", 5, 52)
        );
        assert_eq!(cal.days.len(), 52 * 7 + 6);
        // The day before the first is out; the first and today are in.
        assert_eq!((cal.total, cal.max), (3, 2));
        assert_eq!(first.count, 1);
        assert_eq!(last.count, 2);
        Ok(())
    }

    #[test]
    fn counts_per_day_once_per_commit() -> Result<()> {
        let store = Store::open_in_memory()?;
        let c = |commit: &str, time| CommitActivity {
            username: "alice".into(),
            commit: commit.into(),
            time,
        };
        // 2026-11-23T10:00Z twice, 2026-11-24T01:00Z, 2025-01-01
        let commits = [
            c("a", 1_795_428_000),
            c("b", 1_795_428_100),
            c("c", 1_795_482_000),
            c("d", 1_735_700_000),
        ];
        assert_eq!(store.record_activity("p", &commits)?, 4);
        assert_eq!(
            store.record_activity("p", &commits[..1])?,
            0,
            "once per commit"
        );
        let days = store.activity_by_day("alice", Some(2026))?;
        assert_eq!(days.get("2026-11-23"), Some(&2));
        assert_eq!(days.get("2026-11-24"), Some(&1));
        assert_eq!(days.len(), 2);
        assert_eq!(store.activity_by_day("alice", None)?.len(), 3);
        assert!(store.activity_by_day("bob", None)?.is_empty());
        Ok(())
    }
}
