//! Several replicas starting together on one database: migrations and the first start's
//! directory creation happen once.

use tapd_server::Keys;
use tapd_server::service::{Services, operator};
use tapd_store::Store;

use crate::helpers::{fresh_database_url, t0};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_create_the_directory_once() {
    let url = fresh_database_url().await;
    let keys = Keys::generate();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let (url, keys) = (url.clone(), keys.clone());
            tokio::spawn(async move {
                let store = Store::connect(&url).await.expect("connect and migrate");
                let svc = Services::new(store, keys);
                operator::bootstrap(&svc, "tapd.test", t0())
                    .await
                    .expect("bootstrap")
                    .is_some()
            })
        })
        .collect();
    let mut created = 0;
    for start in starts {
        created += start.await.expect("task") as usize;
    }
    assert_eq!(
        created, 1,
        "exactly one replica created the directory and printed a pass"
    );
    let store = Store::connect(&url).await.expect("connect");
    assert_eq!(
        store.count_users().await.expect("count"),
        1,
        "one bootstrap admin"
    );
}
