// SPDX-License-Identifier: GPL-2.0
//! The qla2x00t FC target driver, kernel side (first slice: bus, rings, interrupts, mailbox
//! engine, firmware bring-up). Protocol logic lives in the `qla2x00t_proto` crate.
//!
//! Built as modules of the `ferrule_main` crate: scst_core/kernel/ferrule_main.rs declares
//! `#[path = "../../drivers/qla2x00t/kernel/mod.rs"] mod qla2x00t;`, so Kbuild compiles these
//! files with the rest of the glue (no Kbuild change) and they share its bindings module.
//!
//! Layout: `chip` (per-part facts), `bus` (the IspBus seam + PCI backend), `rings` (DMA
//! rings), `hba` (mailbox engine, interrupt decoding, bring-up steps), `bringup` (the
//! sequence both backends run), `irq` (IRQ lines), `pci` (the pci_driver), `softbus` (the
//! soft-ISP backend of rust/ferrule_soft_isp.h, used by ferrule_isp_sim.ko).

pub(crate) mod bringup;
pub(crate) mod bus;
pub(crate) mod chip;
pub(crate) mod fcport;
pub(crate) mod hba;
pub(crate) mod irq;
pub(crate) mod pci;
pub(crate) mod rings;
pub(crate) mod softbus;
pub(crate) mod tgt;

use core::ffi::CStr;

/// The firmware file for `chip`: the `qla2x00t_fw` module parameter when set, else the
/// part's default.
pub(crate) fn firmware_name(chip: &chip::ChipInfo) -> &'static CStr {
    // SAFETY: the helper returns NULL or the parameter's NUL-terminated string, which the
    // module owns until unload (parameter is read-only at runtime: mode 0444).
    let p = unsafe { crate::bindings::ferrule_h_qla_fw_override() };
    if p.is_null() {
        return chip.firmware;
    }
    // SAFETY: non-NULL: a valid C string with module lifetime (see above).
    let name = unsafe { CStr::from_ptr(p.cast()) };
    if name.is_empty() {
        chip.firmware
    } else {
        name
    }
}
