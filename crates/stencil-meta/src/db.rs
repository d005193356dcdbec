//! A small SQL layer over the two backends, so every repository method is written once.
//!
//! Statements use `?` placeholders; for PostgreSQL they are rewritten to `$1, $2, …` before
//! execution. Arguments and result cells are a closed set of plain types, which is all the
//! schema uses, so no backend-specific type ever leaks out of this file.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, PgPool, Row, SqlitePool};

use crate::MetaError;

/// A bound argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    I64(i64),
    Text(String),
    OptText(Option<String>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::I64(i64::from(v))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

/// `LIMIT ? OFFSET ?` arguments, saturating at what SQL can take.
pub(crate) fn limit_offset(limit: u64, offset: u64) -> [Arg; 2] {
    [
        Arg::I64(i64::try_from(limit).unwrap_or(i64::MAX)),
        Arg::I64(i64::try_from(offset).unwrap_or(i64::MAX)),
    ]
}

/// One result row, decoded by position.
pub(crate) enum DbRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl DbRow {
    pub(crate) fn text(&self, i: usize) -> Result<String, MetaError> {
        match self {
            DbRow::Sqlite(r) => r.try_get::<String, _>(i),
            DbRow::Postgres(r) => r.try_get::<String, _>(i),
        }
        .map_err(|e| MetaError::Backend(format!("column {i}: {e}")))
    }

    pub(crate) fn i64(&self, i: usize) -> Result<i64, MetaError> {
        match self {
            DbRow::Sqlite(r) => r.try_get::<i64, _>(i),
            DbRow::Postgres(r) => r.try_get::<i64, _>(i),
        }
        .map_err(|e| MetaError::Backend(format!("column {i}: {e}")))
    }
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path` (embedded, single node).
    Sqlite,
    /// `postgres://user@host:port/db` (scale-out).
    Postgres,
}

/// A connection pool to one of the backends.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on one of the backends.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

fn backend_err(e: impl std::fmt::Display) -> MetaError {
    MetaError::Backend(e.to_string())
}

/// Rewrites `?` placeholders to `$n` (none of our SQL has `?` inside string literals).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::OptText(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}

impl Pool {
    /// Opens the pool for `url`, creating a SQLite file if missing, and runs migrations.
    pub(crate) async fn open(url: &str) -> Result<(Pool, Backend), MetaError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| MetaError::Config(format!("metadata.url {url:?}: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // Each SQLite connection is a thread; past four, on two cores, the hand-offs cost
            // more than the parallel reads gain (bench/describe_images).
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await
                .map_err(backend_err)?;
            sqlx::migrate!("./migrations/sqlite")
                .run(&pool)
                .await
                .map_err(backend_err)?;
            Ok((Pool::Sqlite(pool), Backend::Sqlite))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(backend_err)?;
            sqlx::migrate!("./migrations/postgres")
                .run(&pool)
                .await
                .map_err(backend_err)?;
            Ok((Pool::Postgres(pool), Backend::Postgres))
        } else {
            Err(MetaError::Config(format!(
                "metadata.url {url:?} must start with sqlite:// or postgres://"
            )))
        }
    }

    pub(crate) async fn fetch(&self, sql: &str, args: &[Arg]) -> Result<Vec<DbRow>, MetaError> {
        match self {
            Pool::Sqlite(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args);
                Ok(q.fetch_all(p)
                    .await
                    .map_err(backend_err)?
                    .into_iter()
                    .map(DbRow::Sqlite)
                    .collect())
            }
            Pool::Postgres(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(numbered(sql))), args);
                Ok(q.fetch_all(p)
                    .await
                    .map_err(backend_err)?
                    .into_iter()
                    .map(DbRow::Postgres)
                    .collect())
            }
        }
    }

    /// Runs a `SELECT COUNT(…)` and returns its single cell.
    pub(crate) async fn count(&self, sql: &str, args: &[Arg]) -> Result<u64, MetaError> {
        let n = match self.fetch(sql, args).await?.first() {
            Some(row) => row.i64(0)?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) async fn begin(&self) -> Result<Tx, MetaError> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await.map_err(backend_err)?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await.map_err(backend_err)?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    /// Executes a statement and returns the number of rows it affected.
    pub(crate) async fn exec(&mut self, sql: &str, args: &[Arg]) -> Result<u64, MetaError> {
        match self {
            Tx::Sqlite(t) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args);
                Ok(q.execute(&mut **t)
                    .await
                    .map_err(backend_err)?
                    .rows_affected())
            }
            Tx::Postgres(t) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(numbered(sql))), args);
                Ok(q.execute(&mut **t)
                    .await
                    .map_err(backend_err)?
                    .rows_affected())
            }
        }
    }

    /// Runs a `SELECT COUNT(…)` inside the transaction (it sees the transaction's own writes)
    /// and returns its single cell.
    pub(crate) async fn count(&mut self, sql: &str, args: &[Arg]) -> Result<u64, MetaError> {
        let n: i64 = match self {
            Tx::Sqlite(t) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args);
                q.fetch_one(&mut **t)
                    .await
                    .map_err(backend_err)?
                    .try_get(0)
                    .map_err(backend_err)?
            }
            Tx::Postgres(t) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(numbered(sql))), args);
                q.fetch_one(&mut **t)
                    .await
                    .map_err(backend_err)?
                    .try_get(0)
                    .map_err(backend_err)?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) async fn commit(self) -> Result<(), MetaError> {
        match self {
            Tx::Sqlite(t) => t.commit().await.map_err(backend_err),
            Tx::Postgres(t) => t.commit().await.map_err(backend_err),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            super::numbered("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
    }
}
