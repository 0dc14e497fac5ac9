//! (stub) Header hygiene: remove before add.
