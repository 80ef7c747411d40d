//! Repeated login failures slow the next attempts down: after `limit` wrong passwords for one user
//! name, or from one address, each further attempt must wait, twice as long after each new failure
//! (1 s, 2 s, 4 s... up to the maximum). A waiting attempt is refused (429, `Retry-After`) without
//! asking the directory, so that guessing passwords costs time, not the directory's capacity.
//!
//! Attempts still waiting for the directory count too, so that guesses sent all at once cannot all
//! pass: below the limit, as many as the limit leaves; past it, one at a time. A success clears the
//! user's failures; a refusal for another reason (not a member, directory down) counts for nothing.
//! Counts are forgotten after 15 quiet minutes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::settings::ThrottleSettings;

const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// What a caller is told to wait while the attempts before theirs are still being checked.
const BUSY_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, Default)]
struct Attempts {
    failures: u32,
    in_flight: u32,
    blocked_until: Option<Instant>,
}

/// How an admitted attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    WrongCredentials,
    /// Refused for another reason, or abandoned by its caller: it counts for nothing.
    Other,
}

#[derive(Debug)]
pub struct Throttle {
    settings: ThrottleSettings,
    /// By user name (lowercased) and by address; one lock, so that both are checked and counted as
    /// one step.
    counts: Mutex<Counts>,
}

#[derive(Debug)]
struct Counts {
    users: Cache<String, Attempts>,
    addresses: Cache<String, Attempts>,
}

/// An attempt let through: it is settled when dropped, as [`Outcome::Other`] unless told otherwise,
/// so that a caller who hangs up mid-login leaves no attempt counted as in flight.
#[derive(Debug)]
pub struct Admission<'a> {
    throttle: &'a Throttle,
    user: String,
    address: String,
    outcome: Outcome,
}

impl Admission<'_> {
    pub fn settle(mut self, outcome: Outcome) {
        self.outcome = outcome;
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.throttle.settle(&self.user, &self.address, self.outcome);
    }
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        let cache = || Cache::builder().max_capacity(100_000).time_to_idle(FORGET_AFTER).build();
        Throttle { settings, counts: Mutex::new(Counts { users: cache(), addresses: cache() }) }
    }

    /// Lets the attempt through, or says how long the caller must wait.
    pub fn admit(&self, user: &str, address: &str) -> Result<Admission<'_>, Duration> {
        let now = Instant::now();
        let counts = self.lock();
        let user = user.to_lowercase();
        let mut by_user = counts.users.get(&user).unwrap_or_default();
        let mut by_address = counts.addresses.get(address).unwrap_or_default();
        let wait = |attempts: &Attempts, limit: u32| -> Option<Duration> {
            if let Some(remaining) = attempts.blocked_until.and_then(|until| until.checked_duration_since(now)) {
                return Some(remaining).filter(|remaining| !remaining.is_zero());
            }
            let busy = attempts.failures + attempts.in_flight >= limit && attempts.in_flight > 0;
            busy.then_some(BUSY_WAIT)
        };
        if let Some(wait) =
            wait(&by_user, self.settings.user_failures).max(wait(&by_address, self.settings.address_failures))
        {
            return Err(wait);
        }
        by_user.in_flight += 1;
        by_address.in_flight += 1;
        counts.users.insert(user.clone(), by_user);
        counts.addresses.insert(address.to_owned(), by_address);
        Ok(Admission { throttle: self, user, address: address.to_owned(), outcome: Outcome::Other })
    }

    fn settle(&self, user: &str, address: &str, outcome: Outcome) {
        let now = Instant::now();
        let counts = self.lock();
        let settle = |cache: &Cache<String, Attempts>, key: &str, limit: u32, clear: bool| {
            let Some(mut attempts) = cache.get(key) else { return };
            attempts.in_flight = attempts.in_flight.saturating_sub(1);
            if clear {
                attempts.failures = 0;
                attempts.blocked_until = None;
            } else if outcome == Outcome::WrongCredentials {
                attempts.failures = attempts.failures.saturating_add(1);
                if attempts.failures >= limit {
                    attempts.blocked_until = Some(now + self.delay(attempts.failures - limit));
                }
            }
            cache.insert(key.to_owned(), attempts);
        };
        settle(&counts.users, user, self.settings.user_failures, outcome == Outcome::Succeeded);
        settle(&counts.addresses, address, self.settings.address_failures, false);
    }

    fn delay(&self, beyond: u32) -> Duration {
        let doubled = Duration::from_secs(1).saturating_mul(2u32.saturating_pow(beyond.min(30)));
        doubled.min(self.settings.max_delay)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(user_failures: u32, address_failures: u32) -> Throttle {
        Throttle::new(ThrottleSettings { user_failures, address_failures, max_delay: Duration::from_secs(5) })
    }

    fn attempt(throttle: &Throttle, user: &str, address: &str, outcome: Outcome) {
        throttle.admit(user, address).unwrap().settle(outcome);
    }

    #[test]
    fn waits_follow_the_failures_double_and_a_success_clears_the_user() {
        let throttle = limits(3, 100);
        attempt(&throttle, "Ann", "10.0.0.1", Outcome::WrongCredentials);
        attempt(&throttle, "ann", "10.0.0.1", Outcome::WrongCredentials);
        assert!(throttle.admit("ann", "10.0.0.2").is_ok(), "2 failures: no wait yet");
        attempt(&throttle, "ann", "10.0.0.1", Outcome::WrongCredentials);
        let first = throttle.admit("ANN", "10.0.0.2").unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(500), "{first:?}");
        assert!(throttle.admit("bob", "10.0.0.2").is_ok(), "another user from another address");
        std::thread::sleep(first);
        attempt(&throttle, "ann", "10.0.0.1", Outcome::WrongCredentials);
        assert!(throttle.admit("ann", "10.0.0.2").unwrap_err() > Duration::from_millis(1500), "doubled");
        assert_eq!(throttle.delay(40), Duration::from_secs(5), "bounded by the maximum");

        let strict = Throttle::new(ThrottleSettings {
            user_failures: 1,
            address_failures: 100,
            max_delay: Duration::from_secs(5),
        });
        let throttle = strict;
        attempt(&throttle, "ann", "10.0.0.1", Outcome::WrongCredentials);
        std::thread::sleep(Duration::from_secs(1));
        attempt(&throttle, "ann", "10.0.0.1", Outcome::Succeeded);
        attempt(&throttle, "ann", "10.0.0.1", Outcome::WrongCredentials);
        std::thread::sleep(Duration::from_secs(1));
        assert!(throttle.admit("ann", "10.0.0.1").is_ok(), "a success started the count again");
    }

    #[test]
    fn attempts_sent_at_once_pass_only_as_far_as_the_limit_then_one_at_a_time() {
        let throttle = limits(3, 100);
        let admitted: Vec<Admission<'_>> = (0..10).filter_map(|_| throttle.admit("ann", "10.0.0.1").ok()).collect();
        assert_eq!(admitted.len(), 3, "before any answer, only the limit passes");
        drop(admitted);
        let again: Vec<Admission<'_>> = (0..10).filter_map(|_| throttle.admit("ann", "10.0.0.1").ok()).collect();
        assert_eq!(again.len(), 3, "abandoned attempts were given back");
        drop(again);

        for _ in 0..3 {
            attempt(&throttle, "bob", "10.0.0.1", Outcome::WrongCredentials);
        }
        std::thread::sleep(Duration::from_secs(1));
        let one = throttle.admit("bob", "10.0.0.1").unwrap();
        assert_eq!(throttle.admit("bob", "10.0.0.1").unwrap_err(), BUSY_WAIT, "past the limit, one at a time");
        drop(one);
    }

    #[test]
    fn successes_and_other_refusals_never_make_anyone_wait() {
        let throttle = limits(2, 2);
        attempt(&throttle, "x", "10.0.0.1", Outcome::WrongCredentials);
        attempt(&throttle, "y", "10.0.0.1", Outcome::WrongCredentials);
        std::thread::sleep(Duration::from_secs(1));
        for _ in 0..5 {
            attempt(&throttle, "ann", "10.0.0.1", Outcome::Succeeded);
            attempt(&throttle, "bob", "10.0.0.1", Outcome::Other);
        }
        assert!(throttle.admit("carol", "10.0.0.1").is_ok(), "the address' wait ended and nothing since re-armed it");
    }

    #[test]
    fn one_address_trying_many_users_waits_too() {
        let throttle = limits(100, 3);
        for user in ["a", "b", "c"] {
            attempt(&throttle, user, "10.0.0.9", Outcome::WrongCredentials);
        }
        assert!(throttle.admit("d", "10.0.0.9").is_err());
        assert!(throttle.admit("d", "10.0.0.8").is_ok());
    }
}
