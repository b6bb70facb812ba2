//! Ferrule target-core logic.
//!
//! Everything here is `no_std`, uses no allocator and no `kernel::` item, so the same files
//! compile into `ferrule.ko` (Kbuild builds this file as the crate `scst_core`) and into the
//! host workspace, where `cargo test`, property tests, fuzzers and benchmarks exercise them.
//!
//! Rules for code in this crate (the kernel build enforces most of them):
//! - no panics on any input: no unchecked indexing, no unchecked arithmetic that can
//!   overflow (the kernel builds with overflow checks on);
//! - no allocation; fixed-capacity tables that the kernel glue places in boxed storage;
//! - no large stack temporaries (the kernel stack is 16 KiB);
//! - every public item documented (`-Wmissing_docs` is an error in the module build).
// The kernel build injects `no_std` itself (and sets `--cfg MODULE`); the host build needs it here.
#![cfg_attr(not(any(test, MODULE)), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod acl;
pub mod backend;
pub mod cdb;
pub mod device;
pub mod exec;
pub mod identity;
pub mod lu;
pub mod mode;
pub mod pr;
pub mod sbc;
pub mod sense;
pub mod spc;
pub mod target;
pub mod task_set;
pub mod tmf;
pub mod types;
pub mod ua;

/// Ferrule's version, shown by the module at load and in `/sys/kernel/config/ferrule/version`.
/// Kept equal to the workspace version (a host test checks it).
pub const VERSION: &str = "0.1.0";

#[cfg(test)]
mod version_tests {
    #[test]
    fn version_matches_cargo() {
        assert_eq!(super::VERSION, env!("CARGO_PKG_VERSION"));
    }
}
