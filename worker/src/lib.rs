//! Threads for warden.
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]
