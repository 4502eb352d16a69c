//! A per-client token bucket in front of the sign-in endpoints. It lives in memory, per replica;
//! the brute-force limit that matters (a pass locks after ten wrong codes) lives in the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32) -> Self {
        RateLimiter {
            per_sec: per_sec as f64,
            burst: (per_sec as f64 * 10.0).max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; false when its bucket is empty.
    pub fn allow(&self, client: IpAddr) -> bool {
        self.allow_at(client, Instant::now())
    }

    fn allow_at(&self, client: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 100_000 {
            // Forget idle clients rather than grow without bound.
            let (per_sec, burst) = (self.per_sec, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_allowed_then_refused_then_refilled() {
        let limiter = RateLimiter::new(2);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(limiter.allow_at(ip, t0));
        }
        assert!(!limiter.allow_at(ip, t0));
        assert!(
            limiter.allow_at("127.0.0.2".parse().unwrap(), t0),
            "other clients unaffected"
        );
        assert!(limiter.allow_at(ip, t0 + Duration::from_millis(600)));
        assert!(!limiter.allow_at(ip, t0 + Duration::from_millis(600)));
    }
}
