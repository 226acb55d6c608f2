//! The running test stack's `env` file (`FLEETSCOPE_STACK_ENV`, written by
//! `tests/stack/stack.sh up`) as a map: PROM_EAST_URL, LOKI_EAST_URL, STACK_DATA_END_MS, …

#![allow(dead_code)]

use std::collections::HashMap;

/// Fails (never skips) when the stack is not there: `make test` starts it.
pub fn stack_env() -> HashMap<String, String> {
    let path = std::env::var("FLEETSCOPE_STACK_ENV").unwrap_or_else(|_| {
        panic!("FLEETSCOPE_STACK_ENV is not set: run these tests via `make test`, or `tests/stack/stack.sh up` and point it at .stack/env")
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect()
}
