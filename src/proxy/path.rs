//! (stub) Path normalization and hostile-path rejection.
