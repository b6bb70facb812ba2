//! libFuzzer target for the exec entry point; the harness (input format and result
//! contract) is the one the stable test tests/fuzz_exec.rs runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run_input(data));
