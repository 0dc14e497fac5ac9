//! The revocation API's JSON: never panics; an accepted entry survives its stored form
//! unchanged (what one replica writes, another reads back exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::revocation::Entry;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(entry) = Entry::from_json(&value, &["main", "other"], 1_800_000_000, 86_400) {
        assert_eq!(Entry::from_stored(&entry.to_json()), Some(entry));
    }
    let _ = Entry::from_stored(&value);
});
