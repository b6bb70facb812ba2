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
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod backend;
pub mod cdb;
pub mod device;
pub mod exec;
pub mod mode;
pub mod sbc;
pub mod sense;
pub mod spc;
pub mod types;
