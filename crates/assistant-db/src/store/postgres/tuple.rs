//! A record as one tuple of a binary `COPY` stream, its columns read from the table's
//! description ([`crate::table`]).
//!
//! The record is serialized with serde into a [`serde::Serializer`] that writes each
//! field straight into the stream — its length, then its bytes in PostgreSQL's binary
//! form for the column's type — so nothing is built in between. The record's fields must
//! come in the table's column order, one per column; a record that does not match its
//! table is refused, naming the field, before anything is sent.

use chrono::{DateTime, Utc};
use serde::ser::{self, Impossible, Serialize};

use crate::table::{ColumnDefault, SqlType, Table};

/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_UNIX: i64 = 946_684_800;

/// Why a record could not become a tuple.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub(crate) struct TupleError {
    /// The field at fault.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ser::Error for TupleError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        TupleError {
            field: String::new(),
            message: msg.to_string(),
        }
    }
}

/// Appends `record` to `out` as one tuple of `table`: the field count, then each field.
/// A NULL in a column whose default is `now()` is written as `now` (the writing
/// transaction's time), as the write functions fill it in.
pub(crate) fn write<T: Serialize>(
    out: &mut Vec<u8>,
    table: &Table,
    record: &T,
    now: DateTime<Utc>,
) -> Result<(), TupleError> {
    let start = out.len();
    // The column count fits an i16: PostgreSQL allows at most 1600 columns.
    out.extend_from_slice(&(table.columns.len() as i16).to_be_bytes());
    let result = record.serialize(Row {
        out: &mut *out,
        table,
        next: 0,
        now,
    });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The serializer of a whole record: a struct whose fields are the table's columns.
struct Row<'a> {
    out: &'a mut Vec<u8>,
    table: &'a Table,
    next: usize,
    now: DateTime<Utc>,
}

impl Row<'_> {
    fn not_a_struct(&self) -> TupleError {
        TupleError {
            field: self.table.name.to_owned(),
            message: "a record of this table must be a struct of its columns".into(),
        }
    }
}

/// Refuses every serde shape but a struct, for [`Row`].
macro_rules! only_structs {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Self::Ok, TupleError> {
            Err(self.not_a_struct())
        }
    )*};
}

impl<'a> ser::Serializer for Row<'a> {
    type Ok = ();
    type Error = TupleError;
    type SerializeSeq = Impossible<(), TupleError>;
    type SerializeTuple = Impossible<(), TupleError>;
    type SerializeTupleStruct = Impossible<(), TupleError>;
    type SerializeTupleVariant = Impossible<(), TupleError>;
    type SerializeMap = Impossible<(), TupleError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), TupleError>;

    only_structs! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, TupleError> {
        Err(self.not_a_struct())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, TupleError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, TupleError> {
        Err(self.not_a_struct())
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

impl ser::SerializeStruct for Row<'_> {
    type Ok = ();
    type Error = TupleError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), TupleError> {
        let column = self
            .table
            .columns
            .get(self.next)
            .ok_or_else(|| TupleError {
                field: key.to_owned(),
                message: format!("is not a column of {}", self.table.name),
            })?;
        if column.name != key {
            return Err(TupleError {
                field: key.to_owned(),
                message: format!(
                    "comes where {} has column `{}`: the record's fields must follow the \
                     table's columns",
                    self.table.name, column.name
                ),
            });
        }
        self.next += 1;
        let now = (column.default == Some(ColumnDefault::Now)).then_some(self.now);
        let wrong = |message: String| TupleError {
            field: key.to_owned(),
            message,
        };
        if column.sql_type == SqlType::Jsonb {
            // jsonb's binary form: version 1, then the JSON text; a `None` is NULL.
            let value = serde_json::to_value(value).map_err(|e| wrong(e.to_string()))?;
            if value.is_null() {
                null(self.out);
            } else {
                let at = open(self.out);
                self.out.push(1);
                serde_json::to_writer(&mut *self.out, &value).map_err(|e| wrong(e.to_string()))?;
                close(self.out, at).map_err(wrong)?;
            }
            return Ok(());
        }
        value
            .serialize(Field {
                out: &mut *self.out,
                sql_type: column.sql_type,
                now,
            })
            .map_err(|e| TupleError {
                field: key.to_owned(),
                message: e.message,
            })
    }

    fn end(self) -> Result<(), TupleError> {
        match self.table.columns.get(self.next) {
            None => Ok(()),
            Some(column) => Err(TupleError {
                field: column.name.to_owned(),
                message: format!(
                    "is a column of {} the record does not give",
                    self.table.name
                ),
            }),
        }
    }
}

/// The serializer of one field, for a column of `sql_type`.
struct Field<'a> {
    out: &'a mut Vec<u8>,
    sql_type: SqlType,
    /// What a NULL becomes, for a column whose default is `now()`.
    now: Option<DateTime<Utc>>,
}

impl Field<'_> {
    fn mismatch(&self, got: &str) -> TupleError {
        TupleError {
            field: String::new(),
            message: format!("a {got} does not fit a {:?} column", self.sql_type),
        }
    }

    fn timestamp(self, at: DateTime<Utc>) -> Result<(), TupleError> {
        let micros = pg_micros(at).ok_or_else(|| TupleError {
            field: String::new(),
            message: format!("{at} is outside the range of a timestamp"),
        })?;
        field(self.out, &micros.to_be_bytes());
        Ok(())
    }
}

impl<'a> ser::Serializer for Field<'a> {
    type Ok = ();
    type Error = TupleError;
    type SerializeSeq = Impossible<(), TupleError>;
    type SerializeTuple = Impossible<(), TupleError>;
    type SerializeTupleStruct = Impossible<(), TupleError>;
    type SerializeTupleVariant = Impossible<(), TupleError>;
    type SerializeMap = Impossible<(), TupleError>;
    type SerializeStruct = Impossible<(), TupleError>;
    type SerializeStructVariant = Impossible<(), TupleError>;

    fn serialize_bool(self, v: bool) -> Result<(), TupleError> {
        match self.sql_type {
            SqlType::Boolean => {
                field(self.out, &[u8::from(v)]);
                Ok(())
            }
            _ => Err(self.mismatch("boolean")),
        }
    }

    fn serialize_i32(self, v: i32) -> Result<(), TupleError> {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), TupleError> {
        match self.sql_type {
            SqlType::Integer => {
                let v = i32::try_from(v).map_err(|_| self.mismatch("number beyond INTEGER"))?;
                field(self.out, &v.to_be_bytes());
                Ok(())
            }
            SqlType::Float8 => self.serialize_f64(v as f64),
            _ => Err(self.mismatch("number")),
        }
    }

    fn serialize_u64(self, v: u64) -> Result<(), TupleError> {
        let v = i64::try_from(v).map_err(|_| self.mismatch("number beyond INTEGER"))?;
        self.serialize_i64(v)
    }

    fn serialize_u32(self, v: u32) -> Result<(), TupleError> {
        self.serialize_i64(v.into())
    }

    fn serialize_f64(self, v: f64) -> Result<(), TupleError> {
        match self.sql_type {
            SqlType::Float8 => {
                field(self.out, &v.to_be_bytes());
                Ok(())
            }
            _ => Err(self.mismatch("floating-point number")),
        }
    }

    fn serialize_str(self, v: &str) -> Result<(), TupleError> {
        match self.sql_type {
            SqlType::Text | SqlType::VarChar(_) => {
                field(self.out, v.as_bytes());
                Ok(())
            }
            SqlType::Uuid => {
                let id = uuid::Uuid::parse_str(v).map_err(|_| self.mismatch("non-UUID text"))?;
                field(self.out, id.as_bytes());
                Ok(())
            }
            SqlType::TimestampTz => {
                // chrono's own text, which `serialize` of a `DateTime` writes (years
                // beyond four digits included).
                let at = v
                    .parse::<DateTime<Utc>>()
                    .map_err(|_| self.mismatch("non-timestamp text"))?;
                self.timestamp(at)
            }
            _ => Err(self.mismatch("string")),
        }
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), TupleError> {
        // A UUID serialized by a serializer that is not human-readable: its 16 bytes.
        match self.sql_type {
            SqlType::Uuid if v.len() == 16 => {
                field(self.out, v);
                Ok(())
            }
            _ => Err(self.mismatch("byte string")),
        }
    }

    fn serialize_none(self) -> Result<(), TupleError> {
        match self.now {
            Some(now) => self.timestamp(now),
            None => {
                null(self.out);
                Ok(())
            }
        }
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), TupleError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), TupleError> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), TupleError> {
        // The CHECK enums serialize as their SQL values.
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), TupleError> {
        value.serialize(self)
    }

    fn serialize_i8(self, v: i8) -> Result<(), TupleError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), TupleError> {
        self.serialize_i64(v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<(), TupleError> {
        self.serialize_i64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), TupleError> {
        self.serialize_i64(v.into())
    }
    fn serialize_f32(self, v: f32) -> Result<(), TupleError> {
        self.serialize_f64(v.into())
    }
    fn serialize_char(self, v: char) -> Result<(), TupleError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), TupleError> {
        self.serialize_none()
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), TupleError> {
        Err(self.mismatch("enum with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, TupleError> {
        Err(self.mismatch("list"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, TupleError> {
        Err(self.mismatch("tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, TupleError> {
        Err(self.mismatch("tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, TupleError> {
        Err(self.mismatch("enum with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, TupleError> {
        Err(self.mismatch("map"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, TupleError> {
        Err(self.mismatch("struct"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, TupleError> {
        Err(self.mismatch("enum with data"))
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// A field whose length is known up front.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Values are far below 1 GB (PostgreSQL's limit), so the length fits an i32.
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Starts a field whose length is filled in by [`close`].
fn open(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    at
}

fn close(out: &mut [u8], at: usize) -> Result<(), String> {
    let len = i32::try_from(out.len() - at - 4).map_err(|_| "is longer than 1 GB".to_owned())?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Microseconds since PostgreSQL's epoch, rounded as PostgreSQL rounds the fraction of
/// the RFC 3339 text the JSON path sends (`rint(fraction * 1e6)` on the parsed double,
/// ties to even), so both paths store the same instant. A leap second (chrono's
/// nanoseconds ≥ 1e9) is written `:60`, which PostgreSQL reads as the next second.
pub(crate) fn pg_micros(value: DateTime<Utc>) -> Option<i64> {
    let nanos = value.timestamp_subsec_nanos();
    let (carry, nanos) = if nanos >= 1_000_000_000 {
        (1, nanos - 1_000_000_000)
    } else {
        (0, nanos)
    };
    // `nanos / 1e9` is the double nearest the decimal fraction, as strtod reads it.
    let fraction = (f64::from(nanos) / 1e9 * 1e6).round_ties_even() as i64;
    value
        .timestamp()
        .checked_add(carry)?
        .checked_sub(PG_EPOCH_UNIX)?
        .checked_mul(1_000_000)?
        .checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{AssistantMode, Interaction, Outcome};
    use crate::table::{ESCALATIONS, INTERACTIONS};

    #[test]
    fn timestamps_count_from_2000_and_round_like_postgresql() {
        let at = |secs: i64, nanos: u32| {
            pg_micros(Utc.timestamp_opt(secs, nanos).single().expect("valid")).expect("range")
        };
        assert_eq!(at(PG_EPOCH_UNIX, 0), 0);
        assert_eq!(at(PG_EPOCH_UNIX + 1, 123_456_000), 1_123_456);
        assert_eq!(at(PG_EPOCH_UNIX, 499), 0);
        assert_eq!(at(PG_EPOCH_UNIX, 501), 1);
        assert_eq!(at(PG_EPOCH_UNIX, 999_999_600), 1_000_000);
        assert_eq!(at(PG_EPOCH_UNIX - 1, 0), -1_000_000);
        assert_eq!(at(0, 0), -PG_EPOCH_UNIX * 1_000_000);
    }

    #[test]
    fn a_record_becomes_one_field_per_column_of_its_table() {
        let mut row =
            Interaction::new(AssistantMode::Banker, "q", Outcome::Resolved).expect("valid");
        row.created_at = None;
        let now = Utc
            .timestamp_opt(PG_EPOCH_UNIX + 10, 0)
            .single()
            .expect("valid");
        let mut out = Vec::new();
        write(&mut out, &INTERACTIONS, &row, now).expect("a tuple");
        assert_eq!(
            &out[..2],
            &(INTERACTIONS.columns.len() as i16).to_be_bytes()
        );
        // The id, then the last field: created_at filled in with `now`.
        assert_eq!(&out[2..6], &16i32.to_be_bytes());
        assert_eq!(&out[6..22], row.id.as_bytes());
        assert_eq!(&out[out.len() - 12..out.len() - 8], &8i32.to_be_bytes());
        assert_eq!(&out[out.len() - 8..], &10_000_000i64.to_be_bytes());
    }

    #[test]
    fn a_record_of_another_table_is_refused_and_nothing_written() {
        let row = Interaction::new(AssistantMode::Banker, "q", Outcome::Resolved).expect("valid");
        let mut out = vec![7];
        let err = write(&mut out, &ESCALATIONS, &row, Utc::now()).expect_err("not an escalation");
        assert_eq!(err.field, "timestamp", "{err}");
        assert!(err.message.contains("interaction_id"), "{err}");
        assert_eq!(out, [7], "nothing of the refused record stays");
    }
}
