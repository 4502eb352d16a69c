//! `--directory N`: a directory of N more users, written straight into the database through the
//! store's bulk path while the server idles — a million Graph calls would take a quarter of an
//! hour. The server's first start has already run, so it sees them as any other users.

use std::time::{Duration, Instant};

use tapd_store::{Store, UserRecord};
use time::OffsetDateTime;

/// Users per transaction: a few seconds of SQLite's write lock at most, and bounded memory.
const PER_TRANSACTION: usize = 50_000;

/// Seeds `count` users named `seed<i>@tapd.local`; answers how long it took.
pub async fn seed(store: &Store, count: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let tenant = store
        .default_tenant()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the server has not created its directory"))?
        .id;
    for first in (0..count).step_by(PER_TRANSACTION) {
        let users: Vec<UserRecord> = (first..count.min(first + PER_TRANSACTION))
            .map(|i| seed_user(tenant, i, now))
            .collect();
        store.seed_users(&users).await?;
    }
    Ok(started.elapsed())
}

fn seed_user(tenant: uuid::Uuid, i: usize, now: OffsetDateTime) -> UserRecord {
    UserRecord {
        given_name: Some("Seed".into()),
        surname: Some(format!("User {i}")),
        mail: Some(format!("seed{i}@tapd.local")),
        ..UserRecord::member(
            tenant,
            format!("seed{i}@tapd.local"),
            format!("Seed user {i}"),
            now,
        )
    }
}
