//! Ferrule qla2x00t protocol layer: everything about talking to a QLogic ISP24xx..28xx in
//! target mode that needs no kernel: the register file, the 64-byte IOCB codecs, ring index
//! arithmetic, Immediate Notify / async-event decoding, mailbox command builders and a
//! deterministic firmware model (used by host tests and by the simulator module).
//!
//! Same rules as `scst_core`: `no_std`, no allocation, no panics on any input, every public
//! item documented. Multi-byte IOCB fields are little-endian unless a field says otherwise;
//! the FC frame header inside ATIO type 7 is in wire (big-endian) order.
// The kernel build injects `no_std` itself (and sets `--cfg MODULE`); the host build needs it here.
#![cfg_attr(not(any(test, MODULE)), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod fabric;
pub mod fwimage;
pub mod fwmodel;
pub mod iocb;
pub mod mailbox;
pub mod notify;
pub mod nvram;
pub mod port;
pub mod regs;
pub mod ring;
