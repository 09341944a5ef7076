//! Items read one by one: a bad item never takes good ones with it.
//!
//! Each array of a messaging value (`messages`, `statuses`, `contacts`, …) is an [`Items`]: every
//! element is read on its own, and one that does not have the shape of its kind (a key Meta always
//! sends is missing, a known key has another type) is kept as an [`Unparsed`] item — its index,
//! the parser's reason and its raw JSON — beside the ones that parsed. Likewise a change whose
//! value does not have its field's shape is kept as `ChangeValue::Unparsed`. So only a body that
//! is not an envelope at all fails `Envelope::parse`, and everything else in it can be applied.
//!
//! Written back, an unparsed item returns to its place in its array as the JSON it came as, so
//! the typed view stays lossless. [`ItemPlace`] names where something is in a body
//! (`entry[0].changes[1].value.messages[2]`): the key of an item dead letter.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// An array of webhook items, read item by item, in their order.
#[derive(Debug, Clone, PartialEq)]
pub struct Items<T> {
    parsed: Vec<T>,
    /// By increasing index.
    unparsed: Vec<Unparsed>,
}

/// An item that does not have the shape of its kind: kept as it came, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Unparsed {
    /// Its index in its array.
    pub index: usize,
    /// What the parser found wrong (it may quote the item: not for logs).
    pub error: String,
    pub raw: Value,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items {
            parsed: Vec::new(),
            unparsed: Vec::new(),
        }
    }
}

impl<T> From<Vec<T>> for Items<T> {
    fn from(parsed: Vec<T>) -> Self {
        Items {
            parsed,
            unparsed: Vec::new(),
        }
    }
}

impl<T> Items<T> {
    /// The items that parsed, in their order.
    pub fn parsed(&self) -> &[T] {
        &self.parsed
    }

    /// The items that did not, by index.
    pub fn unparsed(&self) -> &[Unparsed] {
        &self.unparsed
    }

    /// How many items the array has, parsed or not.
    pub fn len(&self) -> usize {
        self.parsed.len() + self.unparsed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every item with its index in the array, in order: `Ok` parsed, `Err` not.
    pub fn iter(&self) -> impl Iterator<Item = (usize, Result<&T, &Unparsed>)> {
        let mut parsed = self.parsed.iter();
        let mut unparsed = self.unparsed.iter().peekable();
        (0..self.len()).filter_map(move |i| match unparsed.peek() {
            Some(u) if u.index == i => unparsed.next().map(|u| (i, Err(u))),
            _ => parsed.next().map(|p| (i, Ok(p))),
        })
    }

    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<Result<&T, &Unparsed>> {
        self.iter().nth(index).map(|(_, item)| item)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemsVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for ItemsVisitor<T> {
            type Value = Items<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<T>, A::Error> {
                let mut items = Items::default();
                let mut index = 0;
                // Each element is taken whole first, so a bad one is kept as it came.
                while let Some(raw) = seq.next_element::<Value>()? {
                    match T::deserialize(&raw) {
                        Ok(item) => items.parsed.push(item),
                        Err(e) => items.unparsed.push(Unparsed {
                            index,
                            error: e.to_string(),
                            raw,
                        }),
                    }
                    index += 1;
                }
                Ok(items)
            }
        }
        d.deserialize_seq(ItemsVisitor(PhantomData))
    }
}

impl<T: Serialize> Serialize for Items<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for (_, item) in self.iter() {
            match item {
                Ok(parsed) => seq.serialize_element(parsed)?,
                Err(unparsed) => seq.serialize_element(&unparsed.raw)?,
            }
        }
        seq.end()
    }
}

/// An array of a messaging value whose items are read one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemArray {
    Contacts,
    Messages,
    MessageEchoes,
    Statuses,
    UserPreferences,
    Errors,
}

impl ItemArray {
    pub const ALL: [ItemArray; 6] = [
        ItemArray::Contacts,
        ItemArray::Messages,
        ItemArray::MessageEchoes,
        ItemArray::Statuses,
        ItemArray::UserPreferences,
        ItemArray::Errors,
    ];

    /// Its key in the value.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemArray::Contacts => "contacts",
            ItemArray::Messages => "messages",
            ItemArray::MessageEchoes => "message_echoes",
            ItemArray::Statuses => "statuses",
            ItemArray::UserPreferences => "user_preferences",
            ItemArray::Errors => "errors",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        ItemArray::ALL.into_iter().find(|a| a.as_str() == key)
    }

    /// One of its items, as a person would say it.
    pub fn item_noun(self) -> &'static str {
        match self {
            ItemArray::Contacts => "contact",
            ItemArray::Messages => "message",
            ItemArray::MessageEchoes => "message echo",
            ItemArray::Statuses => "status",
            ItemArray::UserPreferences => "user preference",
            ItemArray::Errors => "value-level error",
        }
    }
}

impl fmt::Display for ItemArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where something is in a webhook body: a whole change, one array of its value, or one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemPlace {
    /// Index in `entry`.
    pub entry: usize,
    /// Index in that entry's `changes`.
    pub change: usize,
    pub within: Within,
}

/// What of a change an [`ItemPlace`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Within {
    /// The change as a whole.
    Change,
    /// One array of its value, as a whole.
    Array(ItemArray),
    /// One item of an array of its value.
    Item(ItemArray, usize),
}

impl ItemPlace {
    pub fn change(entry: usize, change: usize) -> Self {
        ItemPlace {
            entry,
            change,
            within: Within::Change,
        }
    }

    pub fn array(entry: usize, change: usize, array: ItemArray) -> Self {
        ItemPlace {
            entry,
            change,
            within: Within::Array(array),
        }
    }

    pub fn item(entry: usize, change: usize, array: ItemArray, index: usize) -> Self {
        ItemPlace {
            entry,
            change,
            within: Within::Item(array, index),
        }
    }

    /// The array it is in or is, if any.
    pub fn array_name(&self) -> Option<ItemArray> {
        match self.within {
            Within::Change => None,
            Within::Array(a) | Within::Item(a, _) => Some(a),
        }
    }

    /// Its index in its array, for an item.
    pub fn index(&self) -> Option<usize> {
        match self.within {
            Within::Item(_, i) => Some(i),
            _ => None,
        }
    }
}

/// `entry[0].changes[1]`, `entry[0].changes[1].value.errors`,
/// `entry[0].changes[1].value.messages[2]`: a path into the body's JSON.
impl fmt::Display for ItemPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry[{}].changes[{}]", self.entry, self.change)?;
        match self.within {
            Within::Change => Ok(()),
            Within::Array(a) => write!(f, ".value.{a}"),
            Within::Item(a, i) => write!(f, ".value.{a}[{i}]"),
        }
    }
}

/// A path that is not one [`ItemPlace`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a place in a webhook body (like entry[0].changes[0].value.messages[1])")]
pub struct NotAPlace(pub String);

impl FromStr for ItemPlace {
    type Err = NotAPlace;

    fn from_str(s: &str) -> Result<Self, NotAPlace> {
        let bad = || NotAPlace(s.to_owned());
        /// `name[n]` → n.
        fn indexed(part: &str, name: &str) -> Option<usize> {
            let n = part
                .strip_prefix(name)?
                .strip_prefix('[')?
                .strip_suffix(']')?;
            // Digits only: `usize::from_str` would take a sign.
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n.parse().ok()
        }
        let mut parts = s.split('.');
        let entry = parts
            .next()
            .and_then(|p| indexed(p, "entry"))
            .ok_or_else(bad)?;
        let change = parts
            .next()
            .and_then(|p| indexed(p, "changes"))
            .ok_or_else(bad)?;
        let within = match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Within::Change,
            (Some("value"), Some(last), None) => match last.split_once('[') {
                None => Within::Array(ItemArray::parse(last).ok_or_else(bad)?),
                Some((name, _)) => {
                    let array = ItemArray::parse(name).ok_or_else(bad)?;
                    Within::Item(array, indexed(last, name).ok_or_else(bad)?)
                }
            },
            _ => return Err(bad()),
        };
        Ok(ItemPlace {
            entry,
            change,
            within,
        })
    }
}

impl TryFrom<String> for ItemPlace {
    type Error = NotAPlace;

    fn try_from(s: String) -> Result<Self, NotAPlace> {
        s.parse()
    }
}

/// An unparsed item or change of a body, found by `Envelope::unparsed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnparsedItem<'a> {
    pub place: ItemPlace,
    pub error: &'a str,
    pub raw: &'a Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Thing {
        id: String,
    }

    #[test]
    fn a_bad_item_is_kept_beside_the_good_ones_and_written_back_in_place() {
        let json = serde_json::json!([{"id": "a"}, {"id": 5}, {"id": "c"}, "x"]);
        let items: Items<Thing> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            items.parsed(),
            [Thing { id: "a".into() }, Thing { id: "c".into() }]
        );
        let indexes: Vec<usize> = items.unparsed().iter().map(|u| u.index).collect();
        assert_eq!(indexes, [1, 3]);
        assert_eq!(items.unparsed()[0].raw, serde_json::json!({"id": 5}));
        assert!(
            items.unparsed()[0].error.contains("invalid type"),
            "{}",
            items.unparsed()[0].error
        );
        assert_eq!(items.len(), 4);
        assert!(matches!(items.get(2), Some(Ok(t)) if t.id == "c"));
        assert!(matches!(items.get(3), Some(Err(u)) if u.index == 3));
        assert!(items.get(4).is_none());
        assert_eq!(serde_json::to_value(&items).unwrap(), json);
    }

    #[test]
    fn only_a_non_array_fails() {
        assert!(serde_json::from_value::<Items<Thing>>(serde_json::json!({"id": "a"})).is_err());
        let empty: Items<Thing> = serde_json::from_value(serde_json::json!([])).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn places_are_paths_that_read_back() {
        for (place, path) in [
            (ItemPlace::change(0, 1), "entry[0].changes[1]"),
            (
                ItemPlace::array(2, 0, ItemArray::Errors),
                "entry[2].changes[0].value.errors",
            ),
            (
                ItemPlace::item(0, 0, ItemArray::UserPreferences, 12),
                "entry[0].changes[0].value.user_preferences[12]",
            ),
        ] {
            assert_eq!(place.to_string(), path);
            assert_eq!(path.parse::<ItemPlace>(), Ok(place));
        }
        for bad in [
            "",
            "entry[0]",
            "entry[-1].changes[0]",
            "entry[0].changes[+1]",
            "entry[0].changes[0].value",
            "entry[0].changes[0].value.unknown[1]",
            "entry[0].changes[0].value.messages[1].id",
            "entry[0].changes[0].metadata.messages",
        ] {
            assert!(bad.parse::<ItemPlace>().is_err(), "{bad}");
        }
    }
}
