//! (stub) Segment-aware route matching, first match wins.
