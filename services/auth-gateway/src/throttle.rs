//! Repeated login failures slow the next attempts down: after `limit` attempts of one user name, or
//! from one address, that did not succeed, each further attempt must wait, twice as long after each
//! (1 s, 2 s, 4 s... up to the maximum). A waiting attempt is refused (429, `Retry-After`) without
//! asking the directory, so that guessing passwords costs time, not the directory's capacity.
//!
//! An attempt is counted when it is let through, before the directory answers, so that guesses sent
//! all at once are counted as they arrive and cannot all pass. A success clears the user's count and
//! gives the address its attempt back, as does an attempt that failed for another reason than the
//! password (not a member, directory down). Counts are forgotten after 15 quiet minutes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::settings::ThrottleSettings;

const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, Default)]
struct Attempts {
    count: u32,
    blocked_until: Option<Instant>,
}

/// How an attempt that was let through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// A wrong user name or password: it stays counted.
    WrongCredentials,
    /// Refused for another reason: it does not count.
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

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        let cache = || Cache::builder().max_capacity(100_000).time_to_idle(FORGET_AFTER).build();
        Throttle { settings, counts: Mutex::new(Counts { users: cache(), addresses: cache() }) }
    }

    /// Lets the attempt through and counts it, or says how long the caller must still wait.
    pub fn admit(&self, user: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let counts = self.lock();
        let (user, address) = (user.to_lowercase(), address.to_owned());
        let user_attempts = counts.users.get(&user).unwrap_or_default();
        let address_attempts = counts.addresses.get(&address).unwrap_or_default();
        let remaining = |attempts: Attempts| attempts.blocked_until.and_then(|until| until.checked_duration_since(now));
        if let Some(wait) = remaining(user_attempts).max(remaining(address_attempts)).filter(|w| !w.is_zero()) {
            return Err(wait);
        }
        counts.users.insert(user, self.counted(user_attempts, self.settings.user_failures, now));
        counts.addresses.insert(address, self.counted(address_attempts, self.settings.address_failures, now));
        Ok(())
    }

    /// Records how an admitted attempt ended.
    pub fn settle(&self, user: &str, address: &str, outcome: Outcome) {
        let counts = self.lock();
        let user = user.to_lowercase();
        match outcome {
            Outcome::WrongCredentials => {}
            Outcome::Succeeded => {
                counts.users.invalidate(&user);
                self.give_back(&counts.addresses, address.to_owned(), self.settings.address_failures);
            }
            Outcome::Other => {
                self.give_back(&counts.users, user, self.settings.user_failures);
                self.give_back(&counts.addresses, address.to_owned(), self.settings.address_failures);
            }
        }
    }

    fn counted(&self, attempts: Attempts, limit: u32, now: Instant) -> Attempts {
        let count = attempts.count.saturating_add(1);
        Attempts { count, blocked_until: (count >= limit).then(|| now + self.delay(count - limit)) }
    }

    fn give_back(&self, cache: &Cache<String, Attempts>, key: String, limit: u32) {
        if let Some(attempts) = cache.get(&key) {
            let count = attempts.count.saturating_sub(1);
            let blocked_until = attempts.blocked_until.filter(|_| count >= limit);
            cache.insert(key, Attempts { count, blocked_until });
        }
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

    fn throttle(user_failures: u32, address_failures: u32) -> Throttle {
        Throttle::new(ThrottleSettings { user_failures, address_failures, max_delay: Duration::from_secs(5) })
    }

    fn fail(throttle: &Throttle, user: &str, address: &str) {
        throttle.admit(user, address).unwrap();
        throttle.settle(user, address, Outcome::WrongCredentials);
    }

    #[test]
    fn waits_double_after_the_limit_and_a_success_clears_the_user() {
        let throttle = throttle(3, 100);
        fail(&throttle, "Ann", "10.0.0.1");
        fail(&throttle, "ann", "10.0.0.1");
        fail(&throttle, "ann", "10.0.0.1");
        let first = throttle.admit("ANN", "10.0.0.2").unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(500), "{first:?}");
        assert!(throttle.admit("bob", "10.0.0.2").is_ok(), "another user from another address");
        std::thread::sleep(first);
        fail(&throttle, "ann", "10.0.0.1");
        assert!(throttle.admit("ann", "10.0.0.2").unwrap_err() > Duration::from_millis(1500), "doubled");
    }

    #[test]
    fn attempts_refused_while_waiting_do_not_count_and_the_wait_is_bounded() {
        let throttle = throttle(1, 100);
        for _ in 0..10 {
            let _ = throttle.admit("ann", "10.0.0.1");
        }
        assert_eq!(throttle.lock().users.get("ann").map(|a| a.count), Some(1));
        throttle.settle("ann", "10.0.0.1", Outcome::Succeeded);
        assert!(throttle.admit("ann", "10.0.0.1").is_ok(), "a success clears the user");
        assert_eq!(throttle.delay(40), Duration::from_secs(5), "bounded by the maximum");
    }

    #[test]
    fn attempts_sent_at_once_are_counted_as_they_arrive() {
        let throttle = throttle(3, 100);
        let admitted = (0..10).filter(|_| throttle.admit("ann", "10.0.0.1").is_ok()).count();
        assert_eq!(admitted, 3, "before any answer, only the limit passes");
    }

    #[test]
    fn refusals_for_other_reasons_give_the_attempt_back() {
        let throttle = throttle(2, 100);
        for _ in 0..5 {
            throttle.admit("ann", "10.0.0.1").unwrap();
            throttle.settle("ann", "10.0.0.1", Outcome::Other);
        }
        assert!(throttle.admit("ann", "10.0.0.1").is_ok(), "a directory outage is no guess");
    }

    #[test]
    fn one_address_trying_many_users_waits_too() {
        let throttle = throttle(100, 3);
        for user in ["a", "b", "c"] {
            fail(&throttle, user, "10.0.0.9");
        }
        assert!(throttle.admit("d", "10.0.0.9").is_err());
        assert!(throttle.admit("d", "10.0.0.8").is_ok());
    }
}
