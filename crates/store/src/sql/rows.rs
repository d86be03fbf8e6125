//! Typed rows: one struct per query's columns, decoded with `sqlx::FromRow` on PostgreSQL and
//! with [`FromSqlite`] on SQLite (rusqlite).

use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use time::OffsetDateTime;

/// A row type both backends decode. Every [`row!`] struct is one, and so are tuples of up to
/// six columns (`(i64,)`: by position) and [`Present`].
pub trait Rows: for<'r> FromRow<'r, PgRow> + FromSqlite + Send + Unpin + 'static {}

impl<T> Rows for T where T: for<'r> FromRow<'r, PgRow> + FromSqlite + Send + Unpin + 'static {}

/// A row decoded from SQLite (rusqlite).
pub trait FromSqlite: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// One column's value as SQLite stores it, the way sqlx wrote and read it before (times as
/// RFC 3339 text, booleans as integers), so that databases carry over unchanged.
pub trait Column: Sized {
    fn column(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self>;

    fn get<I: rusqlite::RowIndex>(row: &rusqlite::Row<'_>, index: I) -> rusqlite::Result<Self> {
        let i = index.idx(row.as_ref())?;
        let value = row.get_ref(i)?;
        Self::column(value).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), Box::new(e)))
    }
}

macro_rules! via_from_sql {
    ($($ty:ty),*) => {$(
        impl Column for $ty {
            fn column(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                rusqlite::types::FromSql::column_result(value)
            }
        }
    )*};
}
via_from_sql!(String, i64, i32, f64, Vec<u8>);

impl Column for bool {
    fn column(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(value.as_i64()? != 0)
    }
}

impl Column for OffsetDateTime {
    fn column(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        use rusqlite::types::{FromSqlError, ValueRef};
        match value {
            ValueRef::Text(t) => {
                let text = std::str::from_utf8(t).map_err(|e| FromSqlError::Other(Box::new(e)))?;
                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| FromSqlError::Other(Box::new(e)))
            }
            ValueRef::Integer(i) => OffsetDateTime::from_unix_timestamp(i).map_err(|e| FromSqlError::Other(Box::new(e))),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn column(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match value {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => T::column(v).map(Some),
        }
    }
}

macro_rules! tuple_rows {
    ($(($($t:ident $i:tt),+)),*) => {$(
        impl<$($t: Column),+> FromSqlite for ($($t,)+) {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($($t::get(row, $i)?,)+))
            }
        }
    )*};
}
tuple_rows!((A 0), (A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3), (A 0, B 1, C 2, D 3, E 4), (A 0, B 1, C 2, D 3, E 4, F 5));

/// Declares a row struct whose fields are the query's columns by name, with its `FromRow`
/// for any `sqlx::Row` whose database decodes the field types (what sqlx's derive would write;
/// the derive is left off, as it builds sqlx's macro crate), and its [`FromSqlite`].
macro_rules! row {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)*
        }

        impl<'r, R: ::sqlx::Row> ::sqlx::FromRow<'r, R> for $name
        where
            &'r str: ::sqlx::ColumnIndex<R>,
            $($ty: ::sqlx::Decode<'r, R::Database> + ::sqlx::Type<R::Database>,)*
        {
            fn from_row(row: &'r R) -> ::std::result::Result<Self, ::sqlx::Error> {
                Ok(Self { $($field: row.try_get(stringify!($field))?,)* })
            }
        }

        impl $crate::sql::rows::FromSqlite for $name {
            fn from_sqlite(row: &::rusqlite::Row<'_>) -> ::rusqlite::Result<Self> {
                Ok(Self { $($field: <$ty as $crate::sql::rows::Column>::get(row, stringify!($field))?,)* })
            }
        }
    };
}
pub(crate) use row;

/// A row that is there, whatever its columns: for `SELECT 1 … WHERE …` existence checks.
pub(crate) struct Present;

impl<'r, R: Row> FromRow<'r, R> for Present {
    fn from_row(_: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Present)
    }
}

impl FromSqlite for Present {
    fn from_sqlite(_: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Present)
    }
}
