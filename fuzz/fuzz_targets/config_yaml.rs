//! Configuration YAML through validation: never panics, whatever the file holds; a refusal
//! always names at least one problem.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = tokengate::config::load_str(text, &|name| (name == "SET").then(|| "x".into())) {
        assert!(!e.problems.is_empty());
    }
});
