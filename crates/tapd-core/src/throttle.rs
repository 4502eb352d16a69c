//! How many wrong secrets an account or a client may present before it must wait (NIST SP
//! 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account).
//!
//! One rule for both: a run of consecutive failures, counted in the database so that it holds
//! across replicas. Once the run reaches its limit, attempts are refused (without checking the
//! secret) until the cool-down after the last failure has passed; the next failure then starts
//! another cool-down, so beyond the limit a guesser gets one try per cool-down. A success, or an
//! administrator setting a new password, ends the run.

use time::{Duration, OffsetDateTime};

/// What the database keeps about one account's or one client's run of wrong secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRun {
    /// Consecutive failures since the last success (or reset).
    pub failures: u32,
    pub last_failure_at: OffsetDateTime,
}

/// The limit of one kind of secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// Consecutive failures allowed before attempts are refused.
    pub limit: u32,
    /// How long after the last failure attempts are refused, once the limit is reached.
    pub cool_down: Duration,
}

/// Password sign-in of one account: 100 wrong passwords in a row, then one hour's wait after
/// each further wrong one.
pub const PASSWORD_THROTTLE: Throttle = Throttle {
    limit: 100,
    cool_down: Duration::hours(1),
};

/// Secret checks of one OAuth client at the token endpoint: 20 wrong secrets in a row, then a
/// minute's wait after each further wrong one (answered 429 with `Retry-After`).
pub const CLIENT_THROTTLE: Throttle = Throttle {
    limit: 20,
    cool_down: Duration::minutes(1),
};

impl Throttle {
    /// Until when attempts are refused, or `None` when a secret may be checked `now`.
    pub fn refused_until(
        &self,
        run: Option<&FailureRun>,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let run = run?;
        if run.failures < self.limit {
            return None;
        }
        let until = run.last_failure_at.checked_add(self.cool_down)?;
        (now < until).then_some(until)
    }

    /// Whole seconds to wait until `until`, at least one (for `Retry-After`).
    pub fn retry_after(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
        let wait = until - now;
        let secs = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
        secs.max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn run(failures: u32) -> FailureRun {
        FailureRun {
            failures,
            last_failure_at: T,
        }
    }

    #[test]
    fn below_the_limit_nothing_is_refused() {
        assert_eq!(PASSWORD_THROTTLE.refused_until(None, T), None);
        assert_eq!(PASSWORD_THROTTLE.refused_until(Some(&run(99)), T), None);
    }

    #[test]
    fn at_the_limit_attempts_wait_for_the_cool_down_after_the_last_failure() {
        let until = T + Duration::hours(1);
        for failures in [100, 250] {
            let r = run(failures);
            assert_eq!(PASSWORD_THROTTLE.refused_until(Some(&r), T), Some(until));
            let just_before = until - Duration::microseconds(1);
            assert_eq!(
                PASSWORD_THROTTLE.refused_until(Some(&r), just_before),
                Some(until)
            );
            assert_eq!(PASSWORD_THROTTLE.refused_until(Some(&r), until), None);
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(Throttle::retry_after(T + Duration::seconds(60), T), 60);
        assert_eq!(
            Throttle::retry_after(T + Duration::milliseconds(1500), T),
            2
        );
        assert_eq!(Throttle::retry_after(T, T), 1);
    }

    #[test]
    fn a_run_at_the_end_of_time_does_not_overflow() {
        let r = FailureRun {
            failures: 500,
            last_failure_at: datetime!(9999-12-31 23:59:59 UTC),
        };
        assert_eq!(CLIENT_THROTTLE.refused_until(Some(&r), T), None);
    }
}
