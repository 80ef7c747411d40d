//! Repeated login failures slow the next attempts down: after `limit` failures of one user name, or
//! from one address, each further attempt must wait, twice as long after each new failure (1 s,
//! 2 s, 4 s... up to the maximum). The attempt is refused (429, `Retry-After`) without asking the
//! directory, so that guessing passwords costs time, not the directory's capacity. A success
//! clears the user's count; counts are forgotten after 15 quiet minutes.

use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::settings::ThrottleSettings;

const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct Throttle {
    settings: ThrottleSettings,
    users: Cache<String, Failures>,
    addresses: Cache<String, Failures>,
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        let cache = || Cache::builder().max_capacity(100_000).time_to_idle(FORGET_AFTER).build();
        Throttle { settings, users: cache(), addresses: cache() }
    }

    /// How long the caller must still wait before trying, if at all.
    pub fn wait(&self, user: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let remaining = |failures: Option<Failures>| {
            failures.and_then(|f| f.blocked_until).and_then(|until| until.checked_duration_since(now))
        };
        let wait = remaining(self.users.get(&user.to_lowercase())).max(remaining(self.addresses.get(address)));
        wait.filter(|wait| !wait.is_zero())
    }

    pub fn failed(&self, user: &str, address: &str) {
        let record = |cache: &Cache<String, Failures>, key: String, limit: u32| {
            let previous = cache.get(&key).map_or(0, |f| f.count);
            let count = previous.saturating_add(1);
            let blocked_until = (count >= limit).then(|| Instant::now() + self.delay(count - limit));
            cache.insert(key, Failures { count, blocked_until });
        };
        record(&self.users, user.to_lowercase(), self.settings.user_failures);
        record(&self.addresses, address.to_owned(), self.settings.address_failures);
    }

    pub fn succeeded(&self, user: &str) {
        self.users.invalidate(&user.to_lowercase());
    }

    fn delay(&self, beyond: u32) -> Duration {
        let doubled = Duration::from_secs(1).saturating_mul(2u32.saturating_pow(beyond.min(30)));
        doubled.min(self.settings.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_limit_and_a_success_clears_the_user() {
        let settings = ThrottleSettings { user_failures: 3, address_failures: 100, max_delay: Duration::from_secs(5) };
        let throttle = Throttle::new(settings);
        throttle.failed("Ann", "10.0.0.1");
        throttle.failed("ann", "10.0.0.1");
        assert_eq!(throttle.wait("ann", "10.0.0.2"), None, "2 failures: no wait yet");
        throttle.failed("ann", "10.0.0.1");
        let first = throttle.wait("ANN", "10.0.0.2").unwrap();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(900), "{first:?}");
        throttle.failed("ann", "10.0.0.1");
        assert!(throttle.wait("ann", "10.0.0.2").unwrap() > Duration::from_millis(1900));
        for _ in 0..10 {
            throttle.failed("ann", "10.0.0.1");
        }
        assert!(throttle.wait("ann", "10.0.0.2").unwrap() <= Duration::from_secs(5), "bounded by the maximum");
        assert_eq!(throttle.wait("bob", "10.0.0.2"), None, "another user from another address");
        throttle.succeeded("ann");
        assert_eq!(throttle.wait("ann", "10.0.0.2"), None);
    }

    #[test]
    fn one_address_trying_many_users_waits_too() {
        let settings = ThrottleSettings { user_failures: 100, address_failures: 3, max_delay: Duration::from_secs(5) };
        let throttle = Throttle::new(settings);
        for user in ["a", "b", "c"] {
            throttle.failed(user, "10.0.0.9");
        }
        assert!(throttle.wait("d", "10.0.0.9").is_some());
        assert_eq!(throttle.wait("d", "10.0.0.8"), None);
    }
}
