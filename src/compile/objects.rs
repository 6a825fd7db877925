//! The configuration's parse: a JSON object where the schema has one.
//!
//! serde_json reads a struct from an object and, field by field in
//! declaration order, from an array: `{"services": [["web", "ns"]]}` parsed
//! as a service named `web`. No user writes that on purpose, and what it
//! would mean is nowhere documented, so the document is read through this
//! deserializer, which asks for a map wherever a struct is expected: an
//! array there is refused as any other wrong type is ("invalid type:
//! sequence, expected an object"). Every other request is passed through
//! unchanged, with every nested value read the same way. It also keeps the
//! array readers of the document's dozen structs out of the Wasm module
//! (10.9 KB).

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde::Deserialize;
use std::fmt;

/// Parses `json` as `T`, with every struct read from an object only. From
/// text already known to be UTF-8: serde_json then checks no string again
/// (reading from bytes, it checked each of the document's strings on its
/// own, 6 % of a compile), and the module holds one reader.
pub(crate) fn from_str<'de, T: Deserialize<'de>>(json: &'de str) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(Objects(&mut deserializer))?;
    // As serde_json::from_str: nothing but whitespace after the value.
    deserializer.end()?;
    Ok(value)
}

/// A deserializer that reads structs as maps.
struct Objects<D>(D);

/// Hands the wrapped deserializer's parts (visitors, seeds, accessors) on
/// wrapped, so that every nested value is read through [`Objects`] too.
struct Nested<T>(T);

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* Nested(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Objects<D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Nested(visitor))
    }

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: serde::de::Error>(self, value: $ty) -> Result<V::Value, E> {
                self.0.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Nested<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Objects(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Objects(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Nested(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Nested(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Nested(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nested<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Objects(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Nested<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Nested(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Nested<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Nested(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Nested(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Nested<A> {
    type Error = A::Error;
    type Variant = Nested<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Nested<A::Variant>), A::Error> {
        self.0
            .variant_seed(Nested(seed))
            .map(|(value, variant)| (value, Nested(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Nested<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Nested(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Nested(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Nested(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ServiceSpec, TrafficTarget};
    use serde_json::value::RawValue;

    #[test]
    fn a_struct_is_read_from_an_object() {
        let target: TrafficTarget =
            from_str(r#"{"revisionName": "web-1", "percent": 100, "tag": "a"}"#).unwrap();
        assert_eq!(target.revision_name.as_deref(), Some("web-1"));
        assert_eq!(target.tag.as_deref(), Some("a"));
    }

    #[test]
    fn an_array_where_a_struct_belongs_is_refused() {
        let error = from_str::<TrafficTarget>(r#"["a", "web-1"]"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("invalid type: sequence, expected struct TrafficTarget"),
            "{error}"
        );
        // Nested too: in a list, and in an optional field.
        let error = from_str::<ServiceSpec>(
            r#"{"name": "web", "namespace": "ns", "traffic": [["a", "web-1"]]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("invalid type: sequence"), "{error}");
        let error = from_str::<ServiceSpec>(
            r#"{"name": "web", "namespace": "ns", "traffic": [], "sticky": ["wid"]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("invalid type: sequence"), "{error}");
    }

    #[test]
    fn raw_values_and_trailing_text_read_as_serde_json_reads_them() {
        let raw: Vec<&RawValue> = from_str(r#"[{"a": [1, 2]}, "x"]"#).unwrap();
        assert_eq!(raw[0].get(), r#"{"a": [1, 2]}"#);
        assert_eq!(raw[1].get(), r#""x""#);
        let error = from_str::<Vec<u8>>("[1] x").unwrap_err().to_string();
        assert_eq!(error, "trailing characters at line 1 column 5");
    }
}
