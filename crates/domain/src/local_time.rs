//! German local time (Europe/Berlin) for people: pages, the Bescheid, messages and the dates the
//! rules compare with. Stored times stay UTC.
//!
//! One zone with one rule, so no time zone database is needed: Central European Time (UTC+1),
//! and summer time (UTC+2) from the last Sunday of March, 01:00 UTC, to the last Sunday of
//! October, 01:00 UTC (Directive 2000/84/EC; in Germany the same since 1996). Should the EU end
//! the change of clocks, this rule is the one place to change (docs/decisions.md).

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const CET: UtcOffset = match UtcOffset::from_hms(1, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("a valid offset"),
};
const CEST: UtcOffset = match UtcOffset::from_hms(2, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("a valid offset"),
};

/// The last Sunday of a month.
fn last_sunday(year: i32, month: Month) -> Date {
    let last = Date::from_calendar_date(year, month, month.length(year)).expect("a valid date");
    let back = last.weekday().number_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// The change to summer time and back in a year, as UTC instants.
fn summer(year: i32) -> (OffsetDateTime, OffsetDateTime) {
    let one = Time::from_hms(1, 0, 0).expect("01:00");
    (
        PrimitiveDateTime::new(last_sunday(year, Month::March), one).assume_utc(),
        PrimitiveDateTime::new(last_sunday(year, Month::October), one).assume_utc(),
    )
}

/// The offset of German local time at an instant.
pub fn berlin_offset(t: OffsetDateTime) -> UtcOffset {
    let utc = t.to_offset(UtcOffset::UTC);
    let (start, end) = summer(utc.year());
    if utc >= start && utc < end { CEST } else { CET }
}

/// An instant in German local time.
pub fn berlin(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(berlin_offset(t))
}

/// Today in Germany.
pub fn today() -> Date {
    berlin(OffsetDateTime::now_utc()).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn summer_time_starts_and_ends_at_one_utc_on_the_last_sundays() {
        assert_eq!(last_sunday(2026, Month::March), time::macros::date!(2026 - 03 - 29));
        assert_eq!(last_sunday(2026, Month::October), time::macros::date!(2026 - 10 - 25));
        assert_eq!(last_sunday(2024, Month::March), time::macros::date!(2024 - 03 - 31));
        for (utc, local) in [
            (datetime!(2026-03-29 00:59:59 UTC), datetime!(2026-03-29 01:59:59 +1)),
            (datetime!(2026-03-29 01:00:00 UTC), datetime!(2026-03-29 03:00:00 +2)),
            (datetime!(2026-10-25 00:59:59 UTC), datetime!(2026-10-25 02:59:59 +2)),
            (datetime!(2026-10-25 01:00:00 UTC), datetime!(2026-10-25 02:00:00 +1)),
            (datetime!(2026-12-06 23:30:00 UTC), datetime!(2026-12-07 00:30:00 +1)),
            (datetime!(2026-07-01 22:15:00 UTC), datetime!(2026-07-02 00:15:00 +2)),
        ] {
            let got = berlin(utc);
            assert_eq!((got, got.offset()), (local, local.offset()), "{utc}");
        }
        // The same instant from any offset.
        assert_eq!(berlin(datetime!(2026-07-01 20:15:00 -2)).offset(), CEST);
    }
}
