// SPDX-License-Identifier: GPL-2.0
//! The bus seam (ARCHITECTURE.md §3): everything the driver above it needs from "an ISP":
//! 32-bit register access in the 24xx window, the 16-bit mailboxes, the queue pointers
//! (24xx window or MQ page, decided by the backend) and a bound `struct device` for DMA.
//! Two backends: [`PciBus`] (BAR MMIO) here, and later the simulator's soft ISP (a C-ABI
//! ops table). The interrupt side is not in the trait: both backends hand the driver plain
//! IRQ numbers, and `irq.rs` requests them the same way.

use kernel::device::{Bound, Device};
use kernel::io::Io;
use kernel::pci;
use qla2x00t_proto::regs::{mailbox_offset, QueuePtr, QueueRegs, Reg};

/// Register access to one ISP. Methods may be called from hard-IRQ context: no sleeping.
/// A read of a register that cannot be reached returns all ones, as a surprise-removed PCI
/// device does, so callers treat it like a dead chip rather than a Rust error.
pub(crate) trait IspBus: Send + Sync {
    /// Reads a 32-bit register of the 24xx window.
    fn read32(&self, reg: Reg) -> u32;
    /// Writes a 32-bit register of the 24xx window.
    fn write32(&self, reg: Reg, value: u32);
    /// Reads mailbox register `n` (0..32).
    fn read_mailbox(&self, n: usize) -> u16;
    /// Writes mailbox register `n` (0..32).
    fn write_mailbox(&self, n: usize, value: u16);
    /// Writes a queue pointer.
    fn write_queue(&self, ptr: QueuePtr, value: u32);
    /// Reads a queue pointer (all ones if it cannot be reached).
    fn read_queue(&self, ptr: QueuePtr) -> u32;
    /// The device DMA memory is allocated against.
    fn dma_device(&self) -> &Device<Bound>;
}

/// An ISP behind a PCI function: the register BAR and, on 83xx/27xx/28xx, the MQ-page BAR.
pub(crate) struct PciBus<'a> {
    pdev: &'a pci::Device<Bound>,
    regs: pci::Bar<'a>,
    mq: Option<pci::Bar<'a>>,
    queue_regs: QueueRegs,
}

impl<'a> PciBus<'a> {
    /// Wraps mapped BARs. `mq` must be present exactly when `queue_regs` is `Mq`.
    pub(crate) fn new(
        pdev: &'a pci::Device<Bound>,
        regs: pci::Bar<'a>,
        mq: Option<pci::Bar<'a>>,
        queue_regs: QueueRegs,
    ) -> Self {
        PciBus {
            pdev,
            regs,
            mq,
            queue_regs,
        }
    }

    fn queue_window(&self) -> &pci::Bar<'a> {
        match (&self.mq, self.queue_regs) {
            (Some(mq), QueueRegs::Mq { .. }) => mq,
            _ => &self.regs,
        }
    }
}

impl IspBus for PciBus<'_> {
    fn read32(&self, reg: Reg) -> u32 {
        (&self.regs)
            .try_read32(reg.offset() as usize)
            .unwrap_or(u32::MAX)
    }

    fn write32(&self, reg: Reg, value: u32) {
        // Offsets come from `Reg` and the window was checked to be 0x100 bytes at probe, so
        // this cannot fail; ignoring the impossible error keeps IRQ paths branch-free.
        let _ = (&self.regs).try_write32(value, reg.offset() as usize);
    }

    fn read_mailbox(&self, n: usize) -> u16 {
        mailbox_offset(n)
            .and_then(|off| (&self.regs).try_read16(off as usize).ok())
            .unwrap_or(u16::MAX)
    }

    fn write_mailbox(&self, n: usize, value: u16) {
        if let Some(off) = mailbox_offset(n) {
            let _ = (&self.regs).try_write16(value, off as usize);
        }
    }

    fn write_queue(&self, ptr: QueuePtr, value: u32) {
        if let Some(off) = self.queue_regs.offset(ptr) {
            let _ = self.queue_window().try_write32(value, off as usize);
        }
    }

    fn read_queue(&self, ptr: QueuePtr) -> u32 {
        self.queue_regs
            .offset(ptr)
            .and_then(|off| self.queue_window().try_read32(off as usize).ok())
            .unwrap_or(u32::MAX)
    }

    fn dma_device(&self) -> &Device<Bound> {
        self.pdev.as_ref()
    }
}
