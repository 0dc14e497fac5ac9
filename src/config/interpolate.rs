//! (stub) `${NAME}` and `${NAME:-default}` expansion.
