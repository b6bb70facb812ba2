// SPDX-License-Identifier: GPL-2.0
//! What the driver needs to know per ISP part, chosen from the PCI device ID alone (binding
//! is by driver_override, so probe sees devices that are not in any ID table). No kernel
//! calls here: the tables are KUnit-tested below.

#[allow(unused_imports)] // kunit_tests comes from the prelude
use kernel::prelude::*;
use qla2x00t_proto::regs::QueueRegs;

/// ISP families this driver knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Family {
    /// ISP2422/2432 (4 Gb).
    Isp24xx,
    /// ISP2532 (8 Gb).
    Isp25xx,
    /// ISP8001 (CNA, FC side).
    Isp81xx,
    /// ISP2031 (16 Gb, 83xx core).
    Isp83xx,
    /// ISP2071/2261/2271 (16/32 Gb).
    Isp27xx,
    /// ISP2281/2289 (32/64 Gb).
    Isp28xx,
}

impl Family {
    /// The same family as the NVRAM code names it.
    pub(crate) const fn nvram(self) -> qla2x00t_proto::nvram::NvramFamily {
        use qla2x00t_proto::nvram::NvramFamily as N;
        match self {
            Family::Isp24xx => N::Isp24xx,
            Family::Isp25xx => N::Isp25xx,
            Family::Isp81xx => N::Isp81xx,
            Family::Isp83xx => N::Isp83xx,
            Family::Isp27xx => N::Isp27xx,
            Family::Isp28xx => N::Isp28xx,
        }
    }
}

/// Per-part facts used by probe and init.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ChipInfo {
    /// PCI device ID.
    pub(crate) device_id: u16,
    /// Family.
    pub(crate) family: Family,
    /// The BAR with the 24xx register window.
    pub(crate) regs_bar: u32,
    /// The BAR with the per-queue MQ page, when queue pointers live there.
    pub(crate) mq_bar: Option<u32>,
    /// Default firmware file (`request_firmware` name).
    pub(crate) firmware: &'static CStr,
    /// MSI-X is usable (qla2xxx avoids it on the ISP2422).
    pub(crate) msix: bool,
}

use core::ffi::CStr;

impl ChipInfo {
    /// The part with PCI device ID `device_id`, `None` for one this driver does not drive.
    pub(crate) const fn from_device_id(device_id: u16) -> Option<ChipInfo> {
        let family = match device_id {
            0x2422 | 0x2432 => Family::Isp24xx,
            0x2532 => Family::Isp25xx,
            0x8001 => Family::Isp81xx,
            0x2031 => Family::Isp83xx,
            0x2071 | 0x2261 | 0x2271 => Family::Isp27xx,
            0x2281 | 0x2289 => Family::Isp28xx,
            _ => return None,
        };
        // 24xx/25xx/81xx: registers in BAR 1, queue pointers in that window (the 25xx/81xx
        // MQ page in BAR 3 is only for extra queues, which this driver does not use).
        // 83xx/27xx/28xx: registers in BAR 0, queue pointers always in the MQ page, BAR 4.
        let (regs_bar, mq_bar, firmware) = match family {
            Family::Isp24xx => (1, None, c"ql2400_fw.bin"),
            Family::Isp25xx => (1, None, c"ql2500_fw.bin"),
            Family::Isp81xx => (1, None, c"ql8100_fw.bin"),
            Family::Isp83xx => (0, Some(4), c"ql2600_fw.bin"),
            Family::Isp27xx => (0, Some(4), c"ql2700_fw.bin"),
            Family::Isp28xx => (0, Some(4), c"ql2800_fw.bin"),
        };
        Some(ChipInfo {
            device_id,
            family,
            regs_bar,
            mq_bar,
            firmware,
            msix: device_id != 0x2422,
        })
    }

    /// Where the queue in/out pointers are, relative to the BAR that holds them.
    pub(crate) const fn queue_regs(&self) -> QueueRegs {
        match self.mq_bar {
            None => QueueRegs::Isp24xx,
            Some(_) => QueueRegs::Mq { base: 0 },
        }
    }
}

/// The interrupt mode probe ended up with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum VectorKind {
    /// MSI-X: one vector per role.
    MsiX,
    /// One MSI vector for everything.
    Msi,
    /// Legacy INTx (possibly shared with other devices).
    Intx,
}

/// What one interrupt vector signals.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum VectorRole {
    /// Mailbox completions and async events, and (with one vector) everything: the handler
    /// reads host_status to find out.
    Default,
    /// Response queue updates (MSI-X vector 1).
    Response,
    /// ATIO queue updates (MSI-X vector 2).
    Atio,
}

/// MSI-X vectors the driver asks for: default, response queue, ATIO queue.
pub(crate) const MSIX_VECTORS: usize = 3;

/// The role of vector `index` in mode `kind`; only MSI-X has more than one vector.
pub(crate) const fn vector_role(kind: VectorKind, index: usize) -> Option<VectorRole> {
    match (kind, index) {
        (_, 0) => Some(VectorRole::Default),
        (VectorKind::MsiX, 1) => Some(VectorRole::Response),
        (VectorKind::MsiX, 2) => Some(VectorRole::Atio),
        _ => None,
    }
}

/// The MSI-X entries to program into the init control block (response, ATIO) for `kind`.
pub(crate) const fn icb_msix(kind: VectorKind) -> (u16, u16) {
    match kind {
        VectorKind::MsiX => (1, 2),
        _ => (0, 0),
    }
}

#[kunit_tests(ferrule_qla2x00t_chip)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_id_has_its_family_bars_and_firmware() {
        let table: [(u16, Family, u32, Option<u32>, &CStr); 10] = [
            (0x2422, Family::Isp24xx, 1, None, c"ql2400_fw.bin"),
            (0x2432, Family::Isp24xx, 1, None, c"ql2400_fw.bin"),
            (0x2532, Family::Isp25xx, 1, None, c"ql2500_fw.bin"),
            (0x8001, Family::Isp81xx, 1, None, c"ql8100_fw.bin"),
            (0x2031, Family::Isp83xx, 0, Some(4), c"ql2600_fw.bin"),
            (0x2071, Family::Isp27xx, 0, Some(4), c"ql2700_fw.bin"),
            (0x2261, Family::Isp27xx, 0, Some(4), c"ql2700_fw.bin"),
            (0x2271, Family::Isp27xx, 0, Some(4), c"ql2700_fw.bin"),
            (0x2281, Family::Isp28xx, 0, Some(4), c"ql2800_fw.bin"),
            (0x2289, Family::Isp28xx, 0, Some(4), c"ql2800_fw.bin"),
        ];
        for (id, family, regs, mq, fw) in table {
            let c = ChipInfo::from_device_id(id);
            assert!(c.is_some());
            if let Some(c) = c {
                assert_eq!(c.family, family);
                assert_eq!(c.regs_bar, regs);
                assert_eq!(c.mq_bar, mq);
                assert_eq!(c.firmware, fw);
                assert_eq!(c.msix, id != 0x2422);
            }
        }
        // ISP2312 (2 Gb, not 24xx-class) and ISP8044 (CNA, other firmware interface).
        assert!(ChipInfo::from_device_id(0x2312).is_none());
        assert!(ChipInfo::from_device_id(0x8044).is_none());
    }

    #[test]
    fn queue_pointer_window_follows_the_mq_bar() {
        let c24 = ChipInfo::from_device_id(0x2432).map(|c| c.queue_regs());
        assert_eq!(c24, Some(QueueRegs::Isp24xx));
        let c27 = ChipInfo::from_device_id(0x2271).map(|c| c.queue_regs());
        assert_eq!(c27, Some(QueueRegs::Mq { base: 0 }));
    }

    #[test]
    fn vector_roles_per_mode() {
        assert_eq!(vector_role(VectorKind::MsiX, 0), Some(VectorRole::Default));
        assert_eq!(vector_role(VectorKind::MsiX, 1), Some(VectorRole::Response));
        assert_eq!(vector_role(VectorKind::MsiX, 2), Some(VectorRole::Atio));
        assert_eq!(vector_role(VectorKind::MsiX, 3), None);
        assert_eq!(vector_role(VectorKind::Msi, 0), Some(VectorRole::Default));
        assert_eq!(vector_role(VectorKind::Msi, 1), None);
        assert_eq!(vector_role(VectorKind::Intx, 1), None);
        assert_eq!(icb_msix(VectorKind::MsiX), (1, 2));
        assert_eq!(icb_msix(VectorKind::Intx), (0, 0));
    }
}
