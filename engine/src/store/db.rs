//! One way to run a statement on either database the engine stores to:
//! SQLite (the embedded default) or PostgreSQL (a fleet's shared store).
//!
//! The capabilities write each statement once, in the SQL both read
//! (`$N` placeholders, `RETURNING`, `IS NOT DISTINCT FROM`, TRUE/FALSE;
//! `dialects_tests.rs` prepares them on PostgreSQL), bind values of a few kinds
//! ([`Arg`]) and read rows into types that decode from both drivers' rows.
//! The statement then runs on the native driver of the pool it is given:
//! no value is converted on the way back, and SQLite keeps its own types
//! (a flag is an INTEGER there, a BOOLEAN in PostgreSQL, a `bool` here).

use std::borrow::Cow;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Decode, FromRow, Type};

/// Which database a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to one of the two databases.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A transaction that writes: SQLite takes its write lock at the start
    /// (`BEGIN IMMEDIATE`: a deferred one that reads and then writes fails
    /// at once with SQLITE_BUSY when another connection committed in
    /// between, in WAL mode); PostgreSQL locks the rows it writes.
    pub async fn begin_write(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Conn::SqliteTx(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Conn::PgTx(p.begin().await?),
        })
    }

    /// A transaction (SQLite: deferred, for reads that must agree).
    pub async fn begin(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Conn::SqliteTx(p.begin().await?),
            Pool::Postgres(p) => Conn::PgTx(p.begin().await?),
        })
    }

    /// One connection of the pool, held until dropped.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => Conn::Pg(p.acquire().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A connection held: a transaction (ended by [`Conn::commit`], rolled
/// back when dropped) or a plain pooled connection.
#[derive(Debug)]
pub enum Conn {
    SqliteTx(sqlx::Transaction<'static, Sqlite>),
    PgTx(sqlx::Transaction<'static, Postgres>),
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl Conn {
    /// Commits a transaction (a plain connection has nothing to commit).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::SqliteTx(t) => t.commit().await,
            Conn::PgTx(t) => t.commit().await,
            Conn::Sqlite(_) | Conn::Pg(_) => Ok(()),
        }
    }
}

/// Where a statement runs: a pool (any free connection) or a connection
/// held (a transaction's).
pub enum Exec<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

pub trait Executor<'c>: Send {
    fn exec(self) -> Exec<'c>;
}

impl<'c> Executor<'c> for &'c Pool {
    fn exec(self) -> Exec<'c> {
        match self {
            Pool::Sqlite(p) => Exec::SqlitePool(p),
            Pool::Postgres(p) => Exec::PgPool(p),
        }
    }
}

impl<'c> Executor<'c> for &'c mut Conn {
    fn exec(self) -> Exec<'c> {
        match self {
            Conn::SqliteTx(t) => Exec::Sqlite(t),
            Conn::PgTx(t) => Exec::Pg(t),
            Conn::Sqlite(c) => Exec::Sqlite(c),
            Conn::Pg(c) => Exec::Pg(c),
        }
    }
}

/// A value bound to a `$N` placeholder. `None` is a NULL of the kind's
/// type (PostgreSQL wants to know which).
#[derive(Debug, Clone)]
pub enum Arg<'q> {
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<Cow<'q, str>>),
    Bytes(Option<Cow<'q, [u8]>>),
}

macro_rules! arg_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {
        $(impl<'q> From<$t> for Arg<'q> {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

arg_from! {
    i64 => |v| Arg::I64(Some(v));
    &'q i64 => |v| Arg::I64(Some(*v));
    Option<i64> => |v| Arg::I64(v);
    i32 => |v| Arg::I64(Some(i64::from(v)));
    u32 => |v| Arg::I64(Some(i64::from(v)));
    f64 => |v| Arg::F64(Some(v));
    bool => |v| Arg::Bool(Some(v));
    Option<bool> => |v| Arg::Bool(v);
    &'q str => |v| Arg::Text(Some(Cow::Borrowed(v)));
    &'q &'q str => |v| Arg::Text(Some(Cow::Borrowed(*v)));
    String => |v| Arg::Text(Some(Cow::Owned(v)));
    &'q String => |v| Arg::Text(Some(Cow::Borrowed(v.as_str())));
    Option<&'q str> => |v| Arg::Text(v.map(Cow::Borrowed));
    Option<String> => |v| Arg::Text(v.map(Cow::Owned));
    &'q Option<String> => |v| Arg::Text(v.as_deref().map(Cow::Borrowed));
    &'q [u8] => |v| Arg::Bytes(Some(Cow::Borrowed(v)));
    Vec<u8> => |v| Arg::Bytes(Some(Cow::Owned(v)));
    &'q Vec<u8> => |v| Arg::Bytes(Some(Cow::Borrowed(v.as_slice())));
    Option<Vec<u8>> => |v| Arg::Bytes(v.map(Cow::Owned));
    &'q Option<Vec<u8>> => |v| Arg::Bytes(v.as_deref().map(Cow::Borrowed));
}

/// Binds `args` in order onto a sqlx query of either driver.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Bytes(v) => q.bind(v.as_deref()),
            };
        }
        q
    }};
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// A statement returning no rows (or whose rows are not read).
#[must_use = "a query does nothing until it is executed"]
pub struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg<'q>>,
}

pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, v: impl Into<Arg<'q>>) -> Self {
        self.args.push(v.into());
        self
    }

    pub async fn execute<'c>(self, e: impl Executor<'c>) -> Result<Done, sqlx::Error> {
        let rows_affected = match e.exec() {
            Exec::SqlitePool(p) => bind_all!(sqlx::query(self.sql), &self.args)
                .execute(p)
                .await?
                .rows_affected(),
            Exec::Sqlite(c) => bind_all!(sqlx::query(self.sql), &self.args)
                .execute(c)
                .await?
                .rows_affected(),
            Exec::PgPool(p) => bind_all!(sqlx::query(self.sql), &self.args)
                .execute(p)
                .await?
                .rows_affected(),
            Exec::Pg(c) => bind_all!(sqlx::query(self.sql), &self.args)
                .execute(c)
                .await?
                .rows_affected(),
        };
        Ok(Done { rows_affected })
    }
}

/// A row type both drivers' rows decode into.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A statement whose rows are read as `T`.
#[must_use = "a query does nothing until it is fetched"]
pub struct QueryAs<'q, T> {
    sql: &'q str,
    args: Vec<Arg<'q>>,
    row: std::marker::PhantomData<fn() -> T>,
}

pub fn query_as<T: Row>(sql: &str) -> QueryAs<'_, T> {
    QueryAs {
        sql,
        args: Vec::new(),
        row: std::marker::PhantomData,
    }
}

/// Runs `$method` of a sqlx `query_as` on whichever pool or connection.
macro_rules! fetch_as {
    ($self:ident, $e:ident, $method:ident) => {
        match $e.exec() {
            Exec::SqlitePool(p) => {
                bind_all!(sqlx::query_as::<Sqlite, T>($self.sql), &$self.args)
                    .$method(p)
                    .await
            }
            Exec::Sqlite(c) => {
                bind_all!(sqlx::query_as::<Sqlite, T>($self.sql), &$self.args)
                    .$method(c)
                    .await
            }
            Exec::PgPool(p) => {
                bind_all!(sqlx::query_as::<Postgres, T>($self.sql), &$self.args)
                    .$method(p)
                    .await
            }
            Exec::Pg(c) => {
                bind_all!(sqlx::query_as::<Postgres, T>($self.sql), &$self.args)
                    .$method(c)
                    .await
            }
        }
    };
}

impl<'q, T: Row> QueryAs<'q, T> {
    pub fn bind(mut self, v: impl Into<Arg<'q>>) -> Self {
        self.args.push(v.into());
        self
    }

    pub async fn fetch_all<'c>(self, e: impl Executor<'c>) -> Result<Vec<T>, sqlx::Error> {
        fetch_as!(self, e, fetch_all)
    }

    pub async fn fetch_one<'c>(self, e: impl Executor<'c>) -> Result<T, sqlx::Error> {
        fetch_as!(self, e, fetch_one)
    }

    pub async fn fetch_optional<'c>(self, e: impl Executor<'c>) -> Result<Option<T>, sqlx::Error> {
        fetch_as!(self, e, fetch_optional)
    }
}

/// A value of one column both drivers decode.
pub trait Scalar:
    Type<Sqlite>
    + for<'r> Decode<'r, Sqlite>
    + Type<Postgres>
    + for<'r> Decode<'r, Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: Type<Sqlite>
        + for<'r> Decode<'r, Sqlite>
        + Type<Postgres>
        + for<'r> Decode<'r, Postgres>
        + Send
        + Unpin
{
}

/// A statement whose rows are one column, read as `T`.
#[must_use = "a query does nothing until it is fetched"]
pub struct QueryScalar<'q, T> {
    inner: QueryAs<'q, (T,)>,
}

pub fn query_scalar<T: Scalar>(sql: &str) -> QueryScalar<'_, T> {
    QueryScalar {
        inner: QueryAs {
            sql,
            args: Vec::new(),
            row: std::marker::PhantomData,
        },
    }
}

impl<'q, T: Scalar> QueryScalar<'q, T> {
    pub fn bind(mut self, v: impl Into<Arg<'q>>) -> Self {
        self.inner.args.push(v.into());
        self
    }

    pub async fn fetch_all<'c>(self, e: impl Executor<'c>) -> Result<Vec<T>, sqlx::Error> {
        Ok(self
            .inner
            .fetch_all(e)
            .await?
            .into_iter()
            .map(|(v,)| v)
            .collect())
    }

    pub async fn fetch_one<'c>(self, e: impl Executor<'c>) -> Result<T, sqlx::Error> {
        Ok(self.inner.fetch_one(e).await?.0)
    }

    pub async fn fetch_optional<'c>(self, e: impl Executor<'c>) -> Result<Option<T>, sqlx::Error> {
        Ok(self.inner.fetch_optional(e).await?.map(|(v,)| v))
    }
}

/// A statement put together from pieces: each bound value adds its own
/// `$N` placeholder.
#[derive(Debug, Default)]
pub struct Builder<'q> {
    sql: String,
    args: Vec<Arg<'q>>,
}

impl<'q> Builder<'q> {
    pub fn new(sql: impl Into<String>) -> Self {
        Builder {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    pub fn push_bind(&mut self, v: impl Into<Arg<'q>>) -> &mut Self {
        self.args.push(v.into());
        self.sql.push('$');
        self.sql.push_str(&self.args.len().to_string());
        self
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn build_query_as<T: Row>(&self) -> QueryAs<'_, T> {
        QueryAs {
            sql: &self.sql,
            args: self.args.clone(),
            row: std::marker::PhantomData,
        }
    }

    pub fn build_query_scalar<T: Scalar>(&self) -> QueryScalar<'_, T> {
        QueryScalar {
            inner: self.build_query_as(),
        }
    }

    pub fn build(&self) -> Query<'_> {
        Query {
            sql: &self.sql,
            args: self.args.clone(),
        }
    }
}
