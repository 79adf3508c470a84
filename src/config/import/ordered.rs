//! A JSON object read with its keys in the order written, so that the imported `jobs.toml` keeps
//! the original's order of namespaces, jobs and keys (`serde_json::Map` sorts them).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Object(Vec<(String, Json)>),
    Other(Value),
}

impl Json {
    pub(super) fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(entries) => Some(entries),
            Json::Other(_) => None,
        }
    }

    /// The value as plain JSON (objects lose their order).
    pub(super) fn to_value(&self) -> Value {
        match self {
            Json::Object(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
            Json::Other(value) => value.clone(),
        }
    }

    /// `object`, `array`, `string`, … for messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Json::Object(_) => "an object",
            Json::Other(Value::Array(_)) => "a list",
            Json::Other(Value::String(_)) => "a string",
            Json::Other(Value::Number(_)) => "a number",
            Json::Other(Value::Bool(_)) => "a boolean",
            Json::Other(Value::Null) => "null",
            Json::Other(Value::Object(_)) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            // A repeated key: the last one wins, as in Python's `json.loads`.
            entries.retain(|(k, _)| *k != key);
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item.to_value());
        }
        Ok(Json::Other(Value::Array(items)))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Other(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Other(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Other(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Other(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Other(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Other(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Other(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_the_order_written() {
        let json: Json = serde_json::from_str(r#"{"z": 1, "a": {"y": true, "b": [1, "x"]}, "m": null}"#).unwrap();
        let entries = json.as_object().unwrap();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
        let inner: Vec<&str> = entries[1].1.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(inner, ["y", "b"]);
        assert_eq!(entries[2].1, Json::Other(Value::Null));
    }
}
