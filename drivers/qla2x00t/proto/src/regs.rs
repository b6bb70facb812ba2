//! The ISP24xx register file (BAR MMIO, `struct device_reg_24xx`) and the 25xx+ per-queue
//! MQ page. All registers are 32-bit little-endian except the 16-bit mailboxes.

/// A 32-bit register of the ISP24xx register window, by byte offset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Reg {
    /// Flash/NVRAM address.
    FlashAddr = 0x00,
    /// Flash/NVRAM data.
    FlashData = 0x04,
    /// Control/status ([`ctrl_status`] bits).
    CtrlStatus = 0x08,
    /// Interrupt control ([`ICTRL_EN_RISC_INT`]).
    Ictrl = 0x0C,
    /// Interrupt status ([`ISTATUS_RISC_INT`]).
    Istatus = 0x10,
    /// Request queue in-pointer (host is producer).
    ReqQIn = 0x1C,
    /// Request queue out-pointer (firmware is consumer).
    ReqQOut = 0x20,
    /// Response queue in-pointer (firmware is producer).
    RspQIn = 0x24,
    /// Response queue out-pointer (host is consumer).
    RspQOut = 0x28,
    /// Priority request queue in-pointer.
    PreqQIn = 0x2C,
    /// Priority request queue out-pointer.
    PreqQOut = 0x30,
    /// ATIO queue in-pointer (firmware is producer; the driver polls signatures instead).
    AtioQIn = 0x3C,
    /// ATIO queue out-pointer (host is consumer).
    AtioQOut = 0x40,
    /// Host status ([`HostStatus`]).
    HostStatus = 0x44,
    /// Host command and control ([`HccrCmd`] commands in bits 28-31).
    Hccr = 0x48,
    /// GPIO data.
    Gpiod = 0x4C,
    /// GPIO enable.
    Gpioe = 0x50,
    /// I/O base address.
    IobaseAddr = 0x54,
}

impl Reg {
    /// Byte offset in the register window.
    pub const fn offset(self) -> u32 {
        self as u32
    }

    /// The register at `offset`, if it is one of the modelled 32-bit registers.
    pub const fn from_offset(offset: u32) -> Option<Reg> {
        Some(match offset {
            0x00 => Reg::FlashAddr,
            0x04 => Reg::FlashData,
            0x08 => Reg::CtrlStatus,
            0x0C => Reg::Ictrl,
            0x10 => Reg::Istatus,
            0x1C => Reg::ReqQIn,
            0x20 => Reg::ReqQOut,
            0x24 => Reg::RspQIn,
            0x28 => Reg::RspQOut,
            0x2C => Reg::PreqQIn,
            0x30 => Reg::PreqQOut,
            0x3C => Reg::AtioQIn,
            0x40 => Reg::AtioQOut,
            0x44 => Reg::HostStatus,
            0x48 => Reg::Hccr,
            0x4C => Reg::Gpiod,
            0x50 => Reg::Gpioe,
            0x54 => Reg::IobaseAddr,
            _ => return None,
        })
    }
}

/// Offset of mailbox register 0; mailbox `n` is the 16-bit register at `MAILBOX0 + 2n`.
pub const MAILBOX0: u32 = 0x80;
/// Number of mailbox registers on ISP24xx and later.
pub const MAILBOX_COUNT: usize = 32;

/// Byte offset of mailbox register `n`, `None` past the last one.
pub const fn mailbox_offset(n: usize) -> Option<u32> {
    if n < MAILBOX_COUNT {
        Some(MAILBOX0 + 2 * n as u32)
    } else {
        None
    }
}

/// The mailbox number a 16-bit access at `offset` addresses.
pub const fn mailbox_index(offset: u32) -> Option<usize> {
    if offset < MAILBOX0 || offset % 2 != 0 {
        return None;
    }
    let n = ((offset - MAILBOX0) / 2) as usize;
    if n < MAILBOX_COUNT {
        Some(n)
    } else {
        None
    }
}

/// Bits of the control/status register.
pub mod ctrl_status {
    /// ISP soft reset (self-clearing).
    pub const ISP_SOFT_RESET: u32 = 1 << 0;
    /// Flash BIOS read/write enable.
    pub const FLASH_ENABLE: u32 = 1 << 1;
    /// PCI function number.
    pub const FUNCTION: u32 = 1 << 15;
    /// DMA shutdown control/status.
    pub const DMA_SHUTDOWN: u32 = 1 << 16;
    /// DMA active.
    pub const DMA_ACTIVE: u32 = 1 << 17;
    /// Flash/NVRAM access error.
    pub const FLASH_ACCESS_ERROR: u32 = 1 << 18;
}

/// Interrupt control: enable RISC interrupts on PCI.
pub const ICTRL_EN_RISC_INT: u32 = 1 << 3;
/// Interrupt status: RISC interrupt pending.
pub const ISTATUS_RISC_INT: u32 = 1 << 3;

/// HCCR status bit: host-to-RISC interrupt pending.
pub const HCCR_HOST_INT: u32 = 1 << 6;
/// HCCR status bit: RISC held in reset.
pub const HCCR_RISC_RESET: u32 = 1 << 5;

/// Commands written to HCCR (value occupies bits 28-31).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum HccrCmd {
    /// No operation.
    Noop = 0x0000_0000,
    /// Put the RISC into reset.
    SetRiscReset = 0x1000_0000,
    /// Release the RISC from reset.
    ClrRiscReset = 0x2000_0000,
    /// Pause the RISC.
    SetRiscPause = 0x3000_0000,
    /// Release the RISC pause.
    RelRiscPause = 0x4000_0000,
    /// Raise the host-to-RISC interrupt (mailbox command doorbell).
    SetHostInt = 0x5000_0000,
    /// Clear the host-to-RISC interrupt.
    ClrHostInt = 0x6000_0000,
    /// Acknowledge the RISC-to-host interrupt.
    ClrRiscInt = 0xA000_0000,
}

impl HccrCmd {
    /// Decodes a value written to HCCR (low 28 bits ignored).
    pub const fn from_u32(v: u32) -> Option<HccrCmd> {
        Some(match v & 0xF000_0000 {
            0x0000_0000 => HccrCmd::Noop,
            0x1000_0000 => HccrCmd::SetRiscReset,
            0x2000_0000 => HccrCmd::ClrRiscReset,
            0x3000_0000 => HccrCmd::SetRiscPause,
            0x4000_0000 => HccrCmd::RelRiscPause,
            0x5000_0000 => HccrCmd::SetHostInt,
            0x6000_0000 => HccrCmd::ClrHostInt,
            0xA000_0000 => HccrCmd::ClrRiscInt,
            _ => return None,
        })
    }
}

/// Host status bit: RISC-to-host interrupt pending.
pub const HSR_RISC_INT: u32 = 1 << 15;
/// Host status bit: RISC paused (fatal firmware error when unexpected).
pub const HSR_RISC_PAUSED: u32 = 1 << 8;

/// Interrupt reason in the low byte of host_status (`INTR_*` in qla_def.h).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IntrType {
    /// ROM mailbox command complete (0x01).
    RomMbxSuccess,
    /// ROM mailbox command failed (0x02).
    RomMbxFailed,
    /// Mailbox command complete (0x10).
    MbxSuccess,
    /// Mailbox command failed (0x11).
    MbxFailed,
    /// Asynchronous event in mailbox 0..7 (0x12).
    AsyncEvent,
    /// Response queue updated (0x13).
    RspQueueUpdate,
    /// Response queue updated, 25xx+ form (0x14).
    RspQueueUpdate25,
    /// ATIO queue updated (0x1C).
    AtioQueueUpdate,
    /// ATIO and response queues updated (0x1D).
    AtioRspQueueUpdate,
    /// ATIO queue updated, 27xx form (0x1E).
    AtioQueueUpdate27,
}

impl IntrType {
    /// The low-byte code.
    pub const fn code(self) -> u8 {
        match self {
            IntrType::RomMbxSuccess => 0x01,
            IntrType::RomMbxFailed => 0x02,
            IntrType::MbxSuccess => 0x10,
            IntrType::MbxFailed => 0x11,
            IntrType::AsyncEvent => 0x12,
            IntrType::RspQueueUpdate => 0x13,
            IntrType::RspQueueUpdate25 => 0x14,
            IntrType::AtioQueueUpdate => 0x1C,
            IntrType::AtioRspQueueUpdate => 0x1D,
            IntrType::AtioQueueUpdate27 => 0x1E,
        }
    }

    /// Decodes the low byte of host_status.
    pub const fn from_code(c: u8) -> Option<IntrType> {
        Some(match c {
            0x01 => IntrType::RomMbxSuccess,
            0x02 => IntrType::RomMbxFailed,
            0x10 => IntrType::MbxSuccess,
            0x11 => IntrType::MbxFailed,
            0x12 => IntrType::AsyncEvent,
            0x13 => IntrType::RspQueueUpdate,
            0x14 => IntrType::RspQueueUpdate25,
            0x1C => IntrType::AtioQueueUpdate,
            0x1D => IntrType::AtioRspQueueUpdate,
            0x1E => IntrType::AtioQueueUpdate27,
            _ => return None,
        })
    }

    /// Mailbox command completion (success or failure); mailboxes hold the result.
    pub const fn is_mailbox(self) -> bool {
        matches!(
            self,
            IntrType::RomMbxSuccess
                | IntrType::RomMbxFailed
                | IntrType::MbxSuccess
                | IntrType::MbxFailed
        )
    }

    /// The response queue has new entries.
    pub const fn has_response(self) -> bool {
        matches!(
            self,
            IntrType::RspQueueUpdate | IntrType::RspQueueUpdate25 | IntrType::AtioRspQueueUpdate
        )
    }

    /// The ATIO queue has new entries.
    pub const fn has_atio(self) -> bool {
        matches!(
            self,
            IntrType::AtioQueueUpdate | IntrType::AtioRspQueueUpdate | IntrType::AtioQueueUpdate27
        )
    }
}

/// A host_status value as read from the register.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct HostStatus(pub u32);

impl HostStatus {
    /// A RISC interrupt is pending.
    pub const fn risc_int(self) -> bool {
        self.0 & HSR_RISC_INT != 0
    }
    /// The RISC is paused.
    pub const fn paused(self) -> bool {
        self.0 & HSR_RISC_PAUSED != 0
    }
    /// The interrupt reason, if the low byte is a known code.
    pub const fn intr_type(self) -> Option<IntrType> {
        IntrType::from_code((self.0 & 0xff) as u8)
    }
    /// For mailbox/async interrupts the upper 16 bits carry mailbox 0.
    pub const fn mailbox0(self) -> u16 {
        (self.0 >> 16) as u16
    }
    /// Builds the value firmware presents for an interrupt with `mb0` in the upper half.
    pub const fn raised(intr: IntrType, mb0: u16) -> HostStatus {
        HostStatus(((mb0 as u32) << 16) | HSR_RISC_INT | intr.code() as u32)
    }
}

/// Queue pointers in the per-queue MQ page of 25xx (with MQ), 83xx, 27xx and 28xx parts
/// (`struct device_reg_25xxmq`). The driver uses these instead of the 24xx offsets when the
/// part is MQ-capable.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum MqReg {
    /// Request queue in-pointer.
    ReqQIn = 0x00,
    /// Request queue out-pointer.
    ReqQOut = 0x04,
    /// Response queue in-pointer.
    RspQIn = 0x08,
    /// Response queue out-pointer.
    RspQOut = 0x0C,
    /// ATIO queue in-pointer.
    AtioQIn = 0x10,
    /// ATIO queue out-pointer.
    AtioQOut = 0x14,
}

impl MqReg {
    /// Byte offset inside the MQ page.
    pub const fn offset(self) -> u32 {
        self as u32
    }
}

/// Where the driver finds the queue pointers of one HBA.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum QueueRegs {
    /// ISP24xx: pointers in the main register window.
    Isp24xx,
    /// MQ-capable part: pointers in the MQ page at `base` (a BAR offset).
    Mq {
        /// Byte offset of the MQ page.
        base: u32,
    },
}

/// One of the queue pointers, independent of the part.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum QueuePtr {
    /// Request queue in.
    ReqIn,
    /// Request queue out.
    ReqOut,
    /// Response queue in.
    RspIn,
    /// Response queue out.
    RspOut,
    /// ATIO queue in.
    AtioIn,
    /// ATIO queue out.
    AtioOut,
}

impl QueueRegs {
    /// The absolute byte offset of `ptr` for this part, `None` if the MQ base would overflow.
    pub const fn offset(self, ptr: QueuePtr) -> Option<u32> {
        match self {
            QueueRegs::Isp24xx => Some(match ptr {
                QueuePtr::ReqIn => Reg::ReqQIn.offset(),
                QueuePtr::ReqOut => Reg::ReqQOut.offset(),
                QueuePtr::RspIn => Reg::RspQIn.offset(),
                QueuePtr::RspOut => Reg::RspQOut.offset(),
                QueuePtr::AtioIn => Reg::AtioQIn.offset(),
                QueuePtr::AtioOut => Reg::AtioQOut.offset(),
            }),
            QueueRegs::Mq { base } => base.checked_add(match ptr {
                QueuePtr::ReqIn => MqReg::ReqQIn.offset(),
                QueuePtr::ReqOut => MqReg::ReqQOut.offset(),
                QueuePtr::RspIn => MqReg::RspQIn.offset(),
                QueuePtr::RspOut => MqReg::RspQOut.offset(),
                QueuePtr::AtioIn => MqReg::AtioQIn.offset(),
                QueuePtr::AtioOut => MqReg::AtioQOut.offset(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_device_reg_24xx() {
        let table = [
            (Reg::ReqQIn, 0x1C),
            (Reg::ReqQOut, 0x20),
            (Reg::RspQIn, 0x24),
            (Reg::RspQOut, 0x28),
            (Reg::AtioQIn, 0x3C),
            (Reg::AtioQOut, 0x40),
            (Reg::HostStatus, 0x44),
            (Reg::Hccr, 0x48),
        ];
        for (r, off) in table {
            assert_eq!(r.offset(), off);
            assert_eq!(Reg::from_offset(off), Some(r));
        }
        assert_eq!(Reg::from_offset(0x18), None);
        assert_eq!(mailbox_offset(0), Some(0x80));
        assert_eq!(mailbox_offset(31), Some(0xBE));
        assert_eq!(mailbox_offset(32), None);
        assert_eq!(mailbox_index(0x92), Some(9));
        assert_eq!(mailbox_index(0x81), None);
        assert_eq!(mailbox_index(0xC0), None);
    }

    #[test]
    fn mq_page_offsets() {
        let mq = QueueRegs::Mq { base: 0x1000 };
        assert_eq!(mq.offset(QueuePtr::AtioIn), Some(0x1010));
        assert_eq!(mq.offset(QueuePtr::AtioOut), Some(0x1014));
        assert_eq!(QueueRegs::Isp24xx.offset(QueuePtr::AtioOut), Some(0x40));
        assert_eq!(
            QueueRegs::Mq { base: u32::MAX }.offset(QueuePtr::RspOut),
            None
        );
    }

    #[test]
    fn host_status_decoding() {
        let hs = HostStatus(0x4000_801D);
        assert!(hs.risc_int());
        assert_eq!(hs.intr_type(), Some(IntrType::AtioRspQueueUpdate));
        assert!(hs
            .intr_type()
            .is_some_and(|t| t.has_atio() && t.has_response()));
        assert_eq!(hs.mailbox0(), 0x4000);
        assert_eq!(
            HostStatus::raised(IntrType::MbxSuccess, 0x4000),
            HostStatus(0x4000_8010)
        );
        assert_eq!(HccrCmd::from_u32(0xA000_0000), Some(HccrCmd::ClrRiscInt));
        assert_eq!(HccrCmd::from_u32(0x7000_0000), None);
    }
}
