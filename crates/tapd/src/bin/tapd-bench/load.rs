//! The two ways load is offered — a closed loop (a fixed number in flight) and an open loop (a
//! fixed arrival rate) — and what a run measured: each success's latency, the errors, the time.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

pub struct Stats {
    /// Latencies of the successful jobs, sorted.
    latencies: Vec<Duration>,
    pub errors: usize,
    elapsed: Duration,
}

impl Stats {
    pub fn ok(&self) -> usize {
        self.latencies.len()
    }

    pub fn per_second(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64()
    }

    /// The nearest-rank percentile `p` (0..1) of the successes, in milliseconds; 0 without any.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let n = self.latencies.len();
        let rank = ((n as f64 * p).ceil() as usize).clamp(1, n.max(1)) - 1;
        self.latencies
            .get(rank)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Runs `jobs` with at most `concurrency` in flight; times each.
pub async fn closed_loop<F, Fut>(jobs: usize, concurrency: usize, job: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = job(i).await;
            drop(permit);
            (ok, t.elapsed())
        }));
    }
    collect(handles, started).await
}

/// Starts job `i` at `i / rate` seconds, whatever the previous ones are doing.
pub async fn open_loop<F, Fut>(jobs: usize, rate: u64, job: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(jobs);
    for i in 0..jobs {
        tokio::time::sleep_until(
            (started + Duration::from_secs_f64(i as f64 / rate.max(1) as f64)).into(),
        )
        .await;
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = job(i).await;
            (ok, t.elapsed())
        }));
    }
    collect(handles, started).await
}

async fn collect(
    handles: Vec<tokio::task::JoinHandle<(bool, Duration)>>,
    started: Instant,
) -> Stats {
    let mut stats = Stats {
        latencies: Vec::with_capacity(handles.len()),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for h in handles {
        match h.await {
            Ok((true, d)) => stats.latencies.push(d),
            _ => stats.errors += 1,
        }
    }
    stats.elapsed = started.elapsed();
    stats.latencies.sort();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let stats = Stats {
            latencies: (1..=1000).map(Duration::from_millis).collect(),
            errors: 0,
            elapsed: Duration::from_secs(1),
        };
        assert_eq!(stats.percentile_ms(0.5), 500.0);
        assert_eq!(stats.percentile_ms(0.999), 999.0);
        assert_eq!(stats.per_second(), 1000.0);
    }
}
