//! PostgreSQL connections of the hot paths held outside the pool: the point reads of
//! `read` and the batch writers of `batch`. sqlx's pool sends a test round trip each time a
//! connection goes back to it (and, unless told not to, each time one is taken), so a point
//! read cost two or three round trips instead of one. A connection here is taken, used and
//! put back with nothing in between. One whose work did not finish (an error, or a request
//! dropped half-way, which may leave it mid-protocol) is closed instead of put back; a read
//! that failed on one is made again through the pool.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AnyConnection, Connection};

use crate::Result;

/// Most connections the readers hold open; beyond them a read goes through the pool.
const MAX_READERS: usize = 8;

/// Connections to one PostgreSQL database, opened on demand.
pub(crate) struct Direct {
    url: String,
    idle: Mutex<Vec<AnyConnection>>,
    open: AtomicUsize,
}

/// A connection taken from [`Direct`]: back to it by [`Held::put_back`], closed if dropped.
pub(crate) struct Held<'a> {
    conn: Option<AnyConnection>,
    owner: &'a Direct,
}

impl Direct {
    pub(crate) fn new(url: &str) -> Direct {
        Direct {
            url: url.to_string(),
            idle: Mutex::new(Vec::new()),
            open: AtomicUsize::new(0),
        }
    }

    /// An idle connection, or a new one while fewer than `MAX_READERS` are open; `None` when
    /// that many are busy or a new one can't be opened (the caller then uses the pool).
    pub(crate) async fn take(&self) -> Option<Held<'_>> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(conn) = idle {
            return Some(self.held(conn));
        }
        if self.open.fetch_add(1, Ordering::AcqRel) >= MAX_READERS {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        match AnyConnection::connect(&self.url).await {
            Ok(conn) => Some(self.held(conn)),
            Err(_) => {
                self.open.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }

    fn held(&self, conn: AnyConnection) -> Held<'_> {
        Held {
            conn: Some(conn),
            owner: self,
        }
    }
}

impl Held<'_> {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a held connection")
    }

    /// Returns the connection for the next caller: its work finished.
    pub(crate) fn put_back(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.owner.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(conn);
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.owner.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Prepared statements a batch writer's connection keeps. A batch's statements vary with its
/// size (an `IN` list, a multi-row `VALUES`, up to a batch's jobs each), so a few kinds make
/// hundreds of texts; with sqlx's default of 100 most batches parsed and planned their
/// statements again (5–9 % of PostgreSQL's CPU per sign-in). SQLite's writer keeps as many.
const WRITER_STATEMENTS: usize = 512;

/// A batch writer's own connection, opened when first needed and again after a failure.
pub(crate) struct Owned {
    url: String,
    conn: Option<AnyConnection>,
}

impl Owned {
    pub(crate) fn new(url: &str) -> Owned {
        let sep = if url.contains('?') { '&' } else { '?' };
        Owned {
            url: format!("{url}{sep}statement-cache-capacity={WRITER_STATEMENTS}"),
            conn: None,
        }
    }

    /// The connection, opened if there is none.
    pub(crate) async fn get(&mut self) -> Result<&mut AnyConnection> {
        if self.conn.is_none() {
            self.conn = Some(AnyConnection::connect(&self.url).await?);
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Closes the connection after a failure: the next batch opens a new one.
    pub(crate) fn discard(&mut self) {
        self.conn = None;
    }
}
