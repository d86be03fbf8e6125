//! Typed rows: one struct per query's columns, decoded with `sqlx::FromRow` on either backend.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row};

/// A row type both backends decode. Every [`row!`] struct is one, and so are sqlx's tuples
/// (`(i64,)`: by position) and [`Present`].
pub trait Rows: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}

impl<T> Rows for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}

/// Declares a row struct whose fields are the query's columns by name, with its `FromRow`
/// for any `sqlx::Row` whose database decodes the field types (what sqlx's derive would write;
/// the derive is left off, as it builds sqlx's macro crate with both drivers).
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
