//! Arguments, and the calls into sqlx. The sqlx trait bounds the store needs of a driver are
//! spelled out here and nowhere else; each backend's [`Dialect`](super::Dialect) impl calls
//! these functions for its concrete database, where the bounds are checked once.

use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};
use std::borrow::Cow;
use time::OffsetDateTime;

/// One statement argument, independent of the driver. Placeholders are `$1`, `$2`, … in both
/// dialects.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    /// Text, or NULL (`None`).
    Text(Option<Cow<'a, str>>),
    Bytes(Cow<'a, [u8]>),
    Int(i64),
    /// A 32-bit integer, for `INTEGER` columns of PostgreSQL.
    Int32(i32),
    Bool(bool),
    /// An integer, or NULL (`None`).
    OptInt(Option<i64>),
    /// A double (`REAL` in SQLite, `DOUBLE PRECISION` in PostgreSQL).
    Float(f64),
    /// A time, or NULL (`None`).
    Time(Option<OffsetDateTime>),
}

/// `&[Arg]` from values: `args![id.as_str(), now, limit]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::sql::Arg::from($value)),*]
    };
}
pub(crate) use args;

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Some(Cow::Owned(v)))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v.map(Cow::Borrowed))
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref().map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v.map(Cow::Owned))
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Arg<'_> {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(Cow::Owned(v))
    }
}
impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<i32> for Arg<'_> {
    fn from(v: i32) -> Self {
        Arg::Int32(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<OffsetDateTime> for Arg<'_> {
    fn from(v: OffsetDateTime) -> Self {
        Arg::Time(Some(v))
    }
}
impl From<Option<OffsetDateTime>> for Arg<'_> {
    fn from(v: Option<OffsetDateTime>) -> Self {
        Arg::Time(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}
impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::Float(v)
    }
}

/// A query with its arguments bound, in order.
pub(crate) fn bind<'a, DB>(sql: &'a str, args: &'a [Arg<'a>]) -> Query<'a, DB, DB::Arguments<'a>>
where
    DB: Database,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    i32: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
    f64: Encode<'a, DB> + Type<DB>,
    Option<OffsetDateTime>: Encode<'a, DB> + Type<DB>,
{
    args.iter().fold(sqlx::query::<DB>(sql), |q, arg| match arg {
        Arg::Text(v) => q.bind(v.as_deref()),
        Arg::Bytes(v) => q.bind(&**v),
        Arg::Int(v) => q.bind(*v),
        Arg::Int32(v) => q.bind(*v),
        Arg::Bool(v) => q.bind(*v),
        Arg::OptInt(v) => q.bind(*v),
        Arg::Float(v) => q.bind(*v),
        Arg::Time(v) => q.bind(*v),
    })
}

/// Runs a statement; the caller reads the rows it changed from the driver's result.
pub(crate) async fn execute<'a, DB>(conn: &'a mut DB::Connection, query: Query<'a, DB, DB::Arguments<'a>>) -> Result<DB::QueryResult, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments<'a>: IntoArguments<'a, DB>,
{
    query.execute(conn).await
}

pub(crate) async fn fetch_all<'a, DB, T>(conn: &'a mut DB::Connection, query: Query<'a, DB, DB::Arguments<'a>>) -> Result<Vec<T>, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments<'a>: IntoArguments<'a, DB>,
    T: for<'r> FromRow<'r, DB::Row>,
{
    query.fetch_all(conn).await?.iter().map(T::from_row).collect()
}

pub(crate) async fn fetch_optional<'a, DB, T>(conn: &'a mut DB::Connection, query: Query<'a, DB, DB::Arguments<'a>>) -> Result<Option<T>, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments<'a>: IntoArguments<'a, DB>,
    T: for<'r> FromRow<'r, DB::Row>,
{
    query.fetch_optional(conn).await?.as_ref().map(T::from_row).transpose()
}
