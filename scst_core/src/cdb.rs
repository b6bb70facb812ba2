//! CDB decoding driven by one opcode table: [`OPS`] is the single source of truth for
//! decoding, reserved-bit validation, dispatch and REPORT SUPPORTED OPERATION CODES.

use crate::types::{DataDirection, Sense};

/// Operation codes Ferrule knows.
#[allow(missing_docs)]
pub mod opcode {
    pub const TEST_UNIT_READY: u8 = 0x00;
    pub const REQUEST_SENSE: u8 = 0x03;
    pub const READ_6: u8 = 0x08;
    pub const WRITE_6: u8 = 0x0a;
    pub const INQUIRY: u8 = 0x12;
    pub const MODE_SELECT_6: u8 = 0x15;
    pub const RESERVE_6: u8 = 0x16;
    pub const RELEASE_6: u8 = 0x17;
    pub const MODE_SENSE_6: u8 = 0x1a;
    pub const START_STOP_UNIT: u8 = 0x1b;
    pub const READ_CAPACITY_10: u8 = 0x25;
    pub const READ_10: u8 = 0x28;
    pub const WRITE_10: u8 = 0x2a;
    pub const WRITE_VERIFY_10: u8 = 0x2e;
    pub const VERIFY_10: u8 = 0x2f;
    pub const SYNCHRONIZE_CACHE_10: u8 = 0x35;
    pub const WRITE_SAME_10: u8 = 0x41;
    pub const UNMAP: u8 = 0x42;
    pub const MODE_SELECT_10: u8 = 0x55;
    pub const RESERVE_10: u8 = 0x56;
    pub const RELEASE_10: u8 = 0x57;
    pub const MODE_SENSE_10: u8 = 0x5a;
    pub const PERSISTENT_RESERVE_IN: u8 = 0x5e;
    pub const PERSISTENT_RESERVE_OUT: u8 = 0x5f;
    pub const READ_16: u8 = 0x88;
    pub const COMPARE_AND_WRITE: u8 = 0x89;
    pub const WRITE_16: u8 = 0x8a;
    pub const WRITE_VERIFY_16: u8 = 0x8e;
    pub const VERIFY_16: u8 = 0x8f;
    pub const SYNCHRONIZE_CACHE_16: u8 = 0x91;
    pub const WRITE_SAME_16: u8 = 0x93;
    pub const SERVICE_ACTION_IN_16: u8 = 0x9e;
    pub const REPORT_LUNS: u8 = 0xa0;
    pub const MAINTENANCE_IN: u8 = 0xa3;
    pub const READ_12: u8 = 0xa8;
    pub const WRITE_12: u8 = 0xaa;
    /// SERVICE ACTION IN(16) service actions.
    pub const SAI_READ_CAPACITY_16: u8 = 0x10;
    pub const SAI_GET_LBA_STATUS: u8 = 0x12;
    /// MAINTENANCE IN service actions.
    pub const MI_REPORT_TARGET_PORT_GROUPS: u8 = 0x0a;
    pub const MI_REPORT_SUPPORTED_OPCODES: u8 = 0x0c;
    pub const MI_REPORT_SUPPORTED_TMFS: u8 = 0x0d;
}

/// What executes a command. Commands with several CDB sizes share a handler and decode by
/// [`OpInfo::cdb_len`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Handler {
    TestUnitReady,
    RequestSense,
    Inquiry,
    ReportLuns,
    ModeSense,
    ModeSelect,
    StartStopUnit,
    ReadCapacity10,
    ReadCapacity16,
    GetLbaStatus,
    Read,
    Write,
    WriteAndVerify,
    Verify,
    SynchronizeCache,
    WriteSame,
    Unmap,
    CompareAndWrite,
    ReportTargetPortGroups,
    ReportSupportedOpcodes,
    ReportSupportedTmfs,
    /// PERSISTENT RESERVE IN: goes to [`crate::exec::Hooks`].
    PersistentReserveIn,
    /// PERSISTENT RESERVE OUT: goes to [`crate::exec::Hooks`].
    PersistentReserveOut,
    /// RESERVE(6)/(10): goes to [`crate::exec::Hooks`].
    Reserve,
    /// RELEASE(6)/(10): goes to [`crate::exec::Hooks`].
    Release,
}

/// Command property flags ([`OpInfo::flags`]).
pub mod flags {
    /// Accesses the medium: NOT READY while the LU is stopped.
    pub const MEDIUM: u16 = 1 << 0;
    /// Reads the medium (for reservation conflict classification).
    pub const READS: u16 = 1 << 1;
    /// Modifies the medium: refused on write-protected LUs.
    pub const WRITES: u16 = 1 << 2;
    /// Reported and executed even with a unit attention pending (SAM-5 5.14:
    /// INQUIRY, REPORT LUNS, REQUEST SENSE).
    pub const NO_UA: u16 = 1 << 3;
    /// Implemented by the reservation module through the hooks; absent until it is wired.
    pub const RESERVATION: u16 = 1 << 4;
    /// Needs a thin-provisioned device.
    pub const THIN: u16 = 1 << 5;
    /// Needs COMPARE AND WRITE support (max_caw_blocks > 0).
    pub const CAW: u16 = 1 << 6;
}

/// One row of the opcode table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OpInfo {
    /// Operation code.
    pub opcode: u8,
    /// Service action (in CDB byte 1 bits 4..0), for opcodes that have them.
    pub service_action: Option<u8>,
    /// Command name.
    pub name: &'static str,
    /// CDB length in bytes.
    pub cdb_len: u8,
    /// CDB usage data (SPC-4 6.35.3): bits the device server interprets. Any other bit set
    /// (except vendor bits 7..6 of the control byte) is rejected as INVALID FIELD IN CDB.
    pub usage: [u8; 16],
    /// Data direction.
    pub dir: DataDirection,
    /// [`flags`] bits.
    pub flags: u16,
    /// The executing handler.
    pub handler: Handler,
    /// Bits that must be zero in the first 16 CDB bytes (big-endian), derived from `usage`:
    /// a one-instruction reserved-bit check on the hot path.
    pub reserved: u128,
}

impl OpInfo {
    /// The used part of the usage data.
    pub fn usage(&self) -> &[u8] {
        self.usage
            .get(..usize::from(self.cdb_len))
            .unwrap_or(&self.usage)
    }
    /// True when `flag` (from [`flags`]) is set.
    pub const fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

const fn pad<const N: usize>(b: [u8; N]) -> [u8; 16] {
    let mut u = [0u8; 16];
    let mut i = 0;
    while i < N && i < 16 {
        u[i] = b[i];
        i += 1;
    }
    u
}

#[allow(clippy::too_many_arguments)]
const fn row<const N: usize>(
    opcode: u8,
    service_action: Option<u8>,
    name: &'static str,
    usage: [u8; N],
    dir: DataDirection,
    flags: u16,
    handler: Handler,
) -> OpInfo {
    let mut usage = pad(usage);
    // SPC-4 6.35.3: the usage data carries the service action value itself.
    if let Some(sa) = service_action {
        usage[1] = (usage[1] & 0xe0) | (sa & 0x1f);
    }
    OpInfo {
        opcode,
        service_action,
        name,
        cdb_len: N as u8,
        usage,
        dir,
        flags,
        handler,
        reserved: reserved_mask(&usage, N),
    }
}

/// Reserved bits of bytes 1..len (vendor bits 7..6 of the control byte are allowed).
const fn reserved_mask(usage: &[u8; 16], len: usize) -> u128 {
    let mut m = [0u8; 16];
    let mut i = 1;
    while i < len && i < 16 {
        m[i] = !usage[i];
        if i + 1 == len {
            m[i] &= 0x3f;
        }
        i += 1;
    }
    u128::from_be_bytes(m)
}

use opcode as o;
use DataDirection::{FromDevice as In, None as NoData, ToDevice as Out};
use Handler as H;
const RD: u16 = flags::MEDIUM | flags::READS;
const WR: u16 = flags::MEDIUM | flags::WRITES;
const RSV: u16 = flags::RESERVATION;

/// The opcode table, sorted by opcode then service action.
#[rustfmt::skip]
pub static OPS: [OpInfo; 49] = [
    row(o::TEST_UNIT_READY, None, "TEST UNIT READY", [0x00, 0, 0, 0, 0, 0], NoData, flags::MEDIUM, H::TestUnitReady),
    row(o::REQUEST_SENSE, None, "REQUEST SENSE", [0x03, 0x01, 0, 0, 0xff, 0], In, flags::NO_UA, H::RequestSense),
    row(o::READ_6, None, "READ(6)", [0x08, 0x1f, 0xff, 0xff, 0xff, 0], In, RD, H::Read),
    row(o::WRITE_6, None, "WRITE(6)", [0x0a, 0x1f, 0xff, 0xff, 0xff, 0], Out, WR, H::Write),
    row(o::INQUIRY, None, "INQUIRY", [0x12, 0x01, 0xff, 0xff, 0xff, 0], In, flags::NO_UA, H::Inquiry),
    row(o::MODE_SELECT_6, None, "MODE SELECT(6)", [0x15, 0x11, 0, 0, 0xff, 0], Out, 0, H::ModeSelect),
    row(o::RESERVE_6, None, "RESERVE(6)", [0x16, 0, 0, 0, 0, 0], NoData, RSV, H::Reserve),
    row(o::RELEASE_6, None, "RELEASE(6)", [0x17, 0, 0, 0, 0, 0], NoData, RSV, H::Release),
    row(o::MODE_SENSE_6, None, "MODE SENSE(6)", [0x1a, 0x08, 0xff, 0xff, 0xff, 0], In, 0, H::ModeSense),
    row(o::START_STOP_UNIT, None, "START STOP UNIT", [0x1b, 0x01, 0, 0, 0x07, 0], NoData, 0, H::StartStopUnit),
    row(o::READ_CAPACITY_10, None, "READ CAPACITY(10)", [0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0], In, 0, H::ReadCapacity10),
    row(o::READ_10, None, "READ(10)", rw10(0x28, 0x1e), In, RD, H::Read),
    row(o::WRITE_10, None, "WRITE(10)", rw10(0x2a, 0x1a), Out, WR, H::Write),
    row(o::WRITE_VERIFY_10, None, "WRITE AND VERIFY(10)", rw10(0x2e, 0x12), Out, WR, H::WriteAndVerify),
    row(o::VERIFY_10, None, "VERIFY(10)", rw10(0x2f, 0x16), Out, RD, H::Verify),
    row(o::SYNCHRONIZE_CACHE_10, None, "SYNCHRONIZE CACHE(10)", rw10(0x35, 0x06), NoData, flags::MEDIUM, H::SynchronizeCache),
    row(o::WRITE_SAME_10, None, "WRITE SAME(10)", rw10(0x41, 0x08), Out, WR, H::WriteSame),
    row(o::UNMAP, None, "UNMAP", [0x42, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0], Out, WR | flags::THIN, H::Unmap),
    row(o::MODE_SELECT_10, None, "MODE SELECT(10)", [0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0], Out, 0, H::ModeSelect),
    row(o::RESERVE_10, None, "RESERVE(10)", [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0], NoData, RSV, H::Reserve),
    row(o::RELEASE_10, None, "RELEASE(10)", [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0], NoData, RSV, H::Release),
    row(o::MODE_SENSE_10, None, "MODE SENSE(10)", [0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0], In, 0, H::ModeSense),
    row(o::PERSISTENT_RESERVE_IN, Some(0x00), "PERSISTENT RESERVE IN/READ KEYS", PRIN, In, RSV, H::PersistentReserveIn),
    row(o::PERSISTENT_RESERVE_IN, Some(0x01), "PERSISTENT RESERVE IN/READ RESERVATION", PRIN, In, RSV, H::PersistentReserveIn),
    row(o::PERSISTENT_RESERVE_IN, Some(0x02), "PERSISTENT RESERVE IN/REPORT CAPABILITIES", PRIN, In, RSV, H::PersistentReserveIn),
    row(o::PERSISTENT_RESERVE_IN, Some(0x03), "PERSISTENT RESERVE IN/READ FULL STATUS", PRIN, In, RSV, H::PersistentReserveIn),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x00), "PERSISTENT RESERVE OUT/REGISTER", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x01), "PERSISTENT RESERVE OUT/RESERVE", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x02), "PERSISTENT RESERVE OUT/RELEASE", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x03), "PERSISTENT RESERVE OUT/CLEAR", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x04), "PERSISTENT RESERVE OUT/PREEMPT", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x05), "PERSISTENT RESERVE OUT/PREEMPT AND ABORT", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x06), "PERSISTENT RESERVE OUT/REGISTER AND IGNORE EXISTING KEY", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::PERSISTENT_RESERVE_OUT, Some(0x07), "PERSISTENT RESERVE OUT/REGISTER AND MOVE", PROUT, Out, RSV, H::PersistentReserveOut),
    row(o::READ_16, None, "READ(16)", rw16(0x88, 0x1e), In, RD, H::Read),
    row(o::COMPARE_AND_WRITE, None, "COMPARE AND WRITE",
        [0x89, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0x1f, 0], Out, WR | flags::READS | flags::CAW, H::CompareAndWrite),
    row(o::WRITE_16, None, "WRITE(16)", rw16(0x8a, 0x1a), Out, WR, H::Write),
    row(o::WRITE_VERIFY_16, None, "WRITE AND VERIFY(16)", rw16(0x8e, 0x12), Out, WR, H::WriteAndVerify),
    row(o::VERIFY_16, None, "VERIFY(16)", rw16(0x8f, 0x16), Out, RD, H::Verify),
    row(o::SYNCHRONIZE_CACHE_16, None, "SYNCHRONIZE CACHE(16)", rw16(0x91, 0x06), NoData, flags::MEDIUM, H::SynchronizeCache),
    row(o::WRITE_SAME_16, None, "WRITE SAME(16)", rw16(0x93, 0x09), Out, WR, H::WriteSame),
    row(o::SERVICE_ACTION_IN_16, Some(o::SAI_READ_CAPACITY_16), "READ CAPACITY(16)",
        [0x9e, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0], In, 0, H::ReadCapacity16),
    row(o::SERVICE_ACTION_IN_16, Some(o::SAI_GET_LBA_STATUS), "GET LBA STATUS",
        [0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0], In, RD | flags::THIN, H::GetLbaStatus),
    row(o::REPORT_LUNS, None, "REPORT LUNS", [0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], In, flags::NO_UA, H::ReportLuns),
    row(o::MAINTENANCE_IN, Some(o::MI_REPORT_TARGET_PORT_GROUPS), "REPORT TARGET PORT GROUPS",
        [0xa3, 0x2a, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], In, 0, H::ReportTargetPortGroups),
    row(o::MAINTENANCE_IN, Some(o::MI_REPORT_SUPPORTED_OPCODES), "REPORT SUPPORTED OPERATION CODES",
        [0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0], In, 0, H::ReportSupportedOpcodes),
    row(o::MAINTENANCE_IN, Some(o::MI_REPORT_SUPPORTED_TMFS), "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
        [0xa3, 0x0d, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], In, 0, H::ReportSupportedTmfs),
    row(o::READ_12, None, "READ(12)", rw12(0xa8, 0x1e), In, RD, H::Read),
    row(o::WRITE_12, None, "WRITE(12)", rw12(0xaa, 0x1a), Out, WR, H::Write),
];

const PRIN: [u8; 10] = [0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0];
const PROUT: [u8; 10] = [0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0];

const fn rw10(op: u8, b1: u8) -> [u8; 10] {
    [op, b1, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0]
}
const fn rw16(op: u8, b1: u8) -> [u8; 16] {
    [
        op, b1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
    ]
}
const fn rw12(op: u8, b1: u8) -> [u8; 12] {
    [
        op, b1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
    ]
}

/// Row `i` of the table.
pub fn op_at(i: usize) -> Option<&'static OpInfo> {
    OPS.get(i)
}

/// Iterates all table rows in opcode order.
pub fn all_ops() -> impl Iterator<Item = &'static OpInfo> {
    OPS.iter()
}

const NONE: u8 = 0xff;

/// opcode -> index of its first row in [`OPS`] (NONE when unknown).
static FIRST_ROW: [u8; 256] = {
    let mut t = [NONE; 256];
    let mut i = OPS.len();
    while i > 0 {
        i -= 1;
        t[OPS[i].opcode as usize] = i as u8;
    }
    t
};

/// True when `opcode` has service actions in the table.
pub fn has_service_actions(opcode: u8) -> bool {
    first_row(opcode).is_some_and(|op| op.service_action.is_some())
}

fn first_row(opcode: u8) -> Option<&'static OpInfo> {
    match FIRST_ROW.get(usize::from(opcode)).copied() {
        Some(NONE) | None => None,
        Some(i) => op_at(usize::from(i)),
    }
}

/// Finds the row for `opcode` (and `service_action`, ignored for opcodes without service
/// actions).
pub fn find(opcode: u8, service_action: u8) -> Option<&'static OpInfo> {
    let first = FIRST_ROW.get(usize::from(opcode)).copied()?;
    if first == NONE {
        return None;
    }
    let mut i = usize::from(first);
    while let Some(op) = op_at(i) {
        if op.opcode != opcode {
            return None;
        }
        match op.service_action {
            None => return Some(op),
            Some(sa) if sa == service_action => return Some(op),
            Some(_) => {}
        }
        i = i.checked_add(1)?;
    }
    None
}

/// Decodes the row for a CDB: INVALID COMMAND OPERATION CODE for unknown opcodes, INVALID
/// FIELD IN CDB (byte 1, bit 4) for unknown service actions of a known opcode.
pub fn lookup(cdb: &[u8]) -> Result<&'static OpInfo, Sense> {
    let opcode = *cdb.first().ok_or(Sense::invalid_opcode())?;
    let sa = cdb.get(1).copied().unwrap_or(0) & 0x1f;
    match find(opcode, sa) {
        Some(op) => Ok(op),
        None if has_service_actions(opcode) => Err(Sense::invalid_cdb_field(1, Some(4))),
        None => Err(Sense::invalid_opcode()),
    }
}

/// Rejects CDBs shorter than the opcode needs and bits outside the usage data.
pub fn validate(op: &OpInfo, cdb: &[u8]) -> Result<(), Sense> {
    // Fast path: FCP always carries 16 CDB bytes.
    if let Some(first16) = cdb.first_chunk::<16>() {
        if u128::from_be_bytes(*first16) & op.reserved == 0 {
            return Ok(());
        }
    }
    let n = usize::from(op.cdb_len);
    let Some(bytes) = cdb.get(..n) else {
        return Err(Sense::invalid_cdb_field(cdb.len() as u16, None));
    };
    let last = n.saturating_sub(1);
    for (i, (&b, &u)) in bytes.iter().zip(op.usage.iter()).enumerate().skip(1) {
        let allowed = if i == last { u | 0xc0 } else { u };
        let bad = b & !allowed;
        if bad != 0 {
            let bit = 7u32.saturating_sub(bad.leading_zeros()) as u8;
            return Err(Sense::invalid_cdb_field(i as u16, Some(bit)));
        }
    }
    Ok(())
}

/// Big-endian field readers over a CDB or parameter list (missing bytes read as zero; exec
/// validates lengths before decoding).
pub fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([byte(b, off), byte(b, off.wrapping_add(1))])
}
/// Big-endian 24-bit field.
pub fn be24(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([
        0,
        byte(b, off),
        byte(b, off.wrapping_add(1)),
        byte(b, off.wrapping_add(2)),
    ])
}
/// Big-endian 32-bit field.
pub fn be32(b: &[u8], off: usize) -> u32 {
    let mut v = [0u8; 4];
    for (k, d) in v.iter_mut().enumerate() {
        *d = byte(b, off.wrapping_add(k));
    }
    u32::from_be_bytes(v)
}
/// Big-endian 64-bit field.
pub fn be64(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    for (k, d) in v.iter_mut().enumerate() {
        *d = byte(b, off.wrapping_add(k));
    }
    u64::from_be_bytes(v)
}
/// One byte (zero when missing).
pub fn byte(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// LBA and transfer length of a block command, with the CDB byte where the length starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LbaRange {
    /// Starting LBA.
    pub lba: u64,
    /// Number of blocks as encoded (6-byte 0 is *not* translated here).
    pub blocks: u32,
    /// CDB byte offset of the length field (for field pointers).
    pub len_byte: u16,
}

/// Decodes the LBA and length of a 6/10/12/16-byte block CDB.
pub fn lba_range(cdb: &[u8], cdb_len: u8) -> LbaRange {
    match cdb_len {
        6 => LbaRange {
            lba: u64::from(be24(cdb, 1) & 0x1f_ffff),
            blocks: byte(cdb, 4).into(),
            len_byte: 4,
        },
        10 => LbaRange {
            lba: be32(cdb, 2).into(),
            blocks: be16(cdb, 7).into(),
            len_byte: 7,
        },
        12 => LbaRange {
            lba: be32(cdb, 2).into(),
            blocks: be32(cdb, 6),
            len_byte: 6,
        },
        _ => LbaRange {
            lba: be64(cdb, 2),
            blocks: be32(cdb, 10),
            len_byte: 10,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut prev: Option<(u8, u8)> = None;
        for op in all_ops() {
            assert_eq!(op.usage[0], op.opcode, "{}", op.name);
            assert!(matches!(op.cdb_len, 6 | 10 | 12 | 16), "{}", op.name);
            if let Some(sa) = op.service_action {
                assert_eq!(op.usage[1] & 0x1f, sa, "{}", op.name);
                assert!(sa < 0x20);
            }
            let key = (op.opcode, op.service_action.unwrap_or(0));
            if let Some(p) = prev {
                assert!(p < key, "table not sorted at {}", op.name);
            }
            prev = Some(key);
            assert!(core::ptr::eq(
                find(op.opcode, op.service_action.unwrap_or(0)).unwrap(),
                op
            ));
        }
        assert!(OPS.len() < usize::from(NONE));
    }

    #[test]
    fn lookup_errors() {
        assert_eq!(lookup(&[0x28; 10]).unwrap().name, "READ(10)");
        assert_eq!(lookup(&[0xff, 0, 0, 0, 0, 0]), Err(Sense::invalid_opcode()));
        assert_eq!(lookup(&[]), Err(Sense::invalid_opcode()));
        assert_eq!(
            lookup(&[0x9e, 0x11]),
            Err(Sense::invalid_cdb_field(1, Some(4)))
        );
        assert_eq!(lookup(&[0x9e, 0x10]).unwrap().name, "READ CAPACITY(16)");
        assert_eq!(
            lookup(&[0xa3, 0x2c]).unwrap().name,
            "REPORT SUPPORTED OPERATION CODES"
        );
    }

    #[test]
    fn validate_points_at_first_bad_bit() {
        let op = find(0x28, 0).unwrap();
        let mut cdb = [0x28, 0x18, 0, 0, 0, 1, 0, 0, 8, 0];
        assert_eq!(validate(op, &cdb), Ok(()));
        cdb[1] = 0x20; // RDPROTECT
        assert_eq!(
            validate(op, &cdb),
            Err(Sense::invalid_cdb_field(1, Some(5)))
        );
        cdb[1] = 0;
        cdb[9] = 0x04; // NACA
        assert_eq!(
            validate(op, &cdb),
            Err(Sense::invalid_cdb_field(9, Some(2)))
        );
        cdb[9] = 0xc0; // vendor bits are ignored
        assert_eq!(validate(op, &cdb), Ok(()));
        assert_eq!(
            validate(op, &cdb[..6]),
            Err(Sense::invalid_cdb_field(6, None))
        );
    }

    #[test]
    fn lba_ranges() {
        let c6 = [0x08, 0xff, 0x12, 0x34, 0, 0];
        assert_eq!(
            lba_range(&c6, 6),
            LbaRange {
                lba: 0x1f_1234,
                blocks: 0,
                len_byte: 4
            }
        );
        let c16 = [
            0x88, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0,
        ];
        assert_eq!(
            lba_range(&c16, 16),
            LbaRange {
                lba: 0x0102_0304_0506_0708,
                blocks: 0xffff_fffe,
                len_byte: 10
            }
        );
        let c12 = [0xa8, 0, 0, 0, 0, 9, 0, 0, 1, 0, 0, 0];
        assert_eq!(
            lba_range(&c12, 12),
            LbaRange {
                lba: 9,
                blocks: 256,
                len_byte: 6
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn fast_and_slow_validation_agree(cdb in proptest::array::uniform16(proptest::prelude::any::<u8>()), row in 0..OPS.len()) {
            let op = &OPS[row];
            let short = &cdb[..usize::from(op.cdb_len).min(15)];
            let fast = validate(op, &cdb).is_ok();
            let slow_ok = if op.cdb_len == 16 {
                // 16-byte CDBs always take the fast path: compare with the byte loop.
                op.usage().iter().enumerate().skip(1).all(|(i, &u)| {
                    let allowed = if i == 15 { u | 0xc0 } else { u };
                    cdb[i] & !allowed == 0
                })
            } else {
                validate(op, short).is_ok()
            };
            proptest::prop_assert_eq!(fast, slow_ok);
        }
    }
}
