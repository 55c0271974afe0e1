//! The sign-in rate limit: per client address, a few tries at once, then a few a minute,
//! so the token cannot be guessed through the login form.
//!
//! Behind a proxy every client shares the proxy's address and so one allowance: the
//! limit errs on the side of refusing, never on the side of letting guesses through.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Sign-in attempts allowed at once from one address.
pub const BURST: u32 = 5;
/// Attempts a minute allowed from one address once the burst is spent.
pub const PER_MINUTE: u32 = 5;
/// Addresses remembered before forgetting those whose allowance is full again.
const REMEMBERED: usize = 10_000;

/// Counts sign-in attempts per client address.
pub struct LoginLimiter {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
    clock: DefaultClock,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("burst", &BURST)
            .field("per_minute", &PER_MINUTE)
            .finish_non_exhaustive()
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let quota = Quota::per_minute(nonzero(PER_MINUTE)).allow_burst(nonzero(BURST));
        LoginLimiter {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt from `client`; `Err` holds how long it must wait.
    pub fn attempt(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > REMEMBERED {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client.to_canonical())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// A wait in whole seconds, rounded up, for `Retry-After`.
pub fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_wait_per_address() {
        let limiter = LoginLimiter::default();
        let one: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..BURST {
            assert_eq!(limiter.attempt(one), Ok(()));
        }
        let wait = limiter.attempt(one).expect_err("limited");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        assert_eq!(
            limiter.attempt(other),
            Ok(()),
            "each address has its own allowance"
        );
        assert_eq!(whole_seconds(Duration::from_millis(11_200)), 12);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }
}
