//! Serde for one section at a time: a failure is reported at its full key path, and an
//! unknown key is reported, removed and the rest deserialized again, so that every unknown
//! key and every other problem of a section are reported together.

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use super::Validator;

/// How many problems one value may report before deserializing it is given up.
const MAX_ATTEMPTS: usize = 32;

impl Validator {
    /// Deserializes one value at `path` (`issuers[0]`); `None` after a problem that is not
    /// an unknown key, or after `MAX_ATTEMPTS` problems.
    pub(super) fn de<T: DeserializeOwned>(&mut self, value: &Value, path: &str) -> Option<T> {
        let mut value = value.clone();
        for _ in 0..MAX_ATTEMPTS {
            match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(t) => return Some(t),
                Err(e) => {
                    let inner = e.path().to_string();
                    let full = join_path(path, &inner);
                    let message = e.into_inner().to_string();
                    let message = message.split(" at line ").next().unwrap_or_default();
                    let unknown = message.starts_with("unknown field");
                    self.problem(&full, message);
                    if !(unknown && remove_at(&mut value, &inner)) {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// An optional mapping section: absent or `null` is `T::default()` (every key omitted),
    /// and so is a section that could not be deserialized (its problems are reported).
    pub(super) fn section<T: DeserializeOwned + Default>(&mut self, map: &Mapping, key: &str) -> T {
        match map.get(key) {
            None | Some(Value::Null) => T::default(),
            Some(value) => self.de(value, key).unwrap_or_default(),
        }
    }

    /// A list section: `None` when absent or `null`; each item deserialized on its own
    /// (`None` for an item with a problem). Not a list: reported, and an empty list.
    pub(super) fn list<T: DeserializeOwned>(
        &mut self,
        map: &Mapping,
        key: &str,
    ) -> Option<Vec<Option<T>>> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Sequence(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.de(item, &format!("{key}[{i}]")))
                    .collect(),
            ),
            Some(_) => {
                self.problem(key, "must be a list");
                Some(Vec::new())
            }
        }
    }
}

/// A section's path joined with a path inside it (`server` + `tls.cert_file`, `issuers[0]` +
/// `[1]`); serde_path_to_error writes the value itself as `.`.
fn join_path(base: &str, inner: &str) -> String {
    match (base.is_empty(), inner) {
        (_, ".") => base.to_owned(),
        (true, _) => inner.to_owned(),
        (false, i) if i.starts_with('[') => format!("{base}{i}"),
        (false, i) => format!("{base}.{i}"),
    }
}

/// Removes the key at a serde_path_to_error path (`a.b[2].c`) from a YAML tree.
fn remove_at(value: &mut Value, path: &str) -> bool {
    let mut steps: Vec<&str> = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                steps.push(&rest[..i]);
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                steps.push(&rest[..=end]);
                rest = &rest[end + 1..];
            }
        } else if !rest.is_empty() {
            steps.push(rest);
        }
    }
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut current = value;
    for step in parents {
        let next = if let Some(index) = step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            index
                .parse::<usize>()
                .ok()
                .and_then(|i| current.as_sequence_mut().and_then(|s| s.get_mut(i)))
        } else {
            current.as_mapping_mut().and_then(|m| m.get_mut(*step))
        };
        match next {
            Some(n) => current = n,
            None => return false,
        }
    }
    current
        .as_mapping_mut()
        .is_some_and(|m| m.remove(*last).is_some())
}
