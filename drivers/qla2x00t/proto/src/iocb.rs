//! 64-byte IOCB codecs for the ISP24xx..28xx target-mode entries.
//!
//! Every codec works on explicit byte offsets (from qla_target.h / qla_fw.h, see the
//! reference study) with explicit endianness; accessors take the offset as a const generic
//! that is bounds-checked at compile time, so no input can make a codec index out of range.
//! Decoding is fallible ([`DecodeError`]); encoding writes all 64 bytes (reserved = 0).

use scst_core::types::{DataDirection, Handle, Lun, PortId, TaskAttr, Wwpn};

/// Size of one ring entry on ISP24xx..28xx.
pub const IOCB_SIZE: usize = 64;
/// One ring entry.
pub type Entry = [u8; IOCB_SIZE];

/// Entry type codes (byte 0 of every IOCB).
pub mod entry_type {
    /// Marker (host -> firmware).
    pub const MARKER: u8 = 0x04;
    /// ATIO type 7: an FCP_CMND received (ATIO queue).
    pub const ATIO_TYPE7: u8 = 0x06;
    /// Continuation type 1, A64 data segments (host -> firmware).
    pub const CONTINUE_A64: u8 = 0x0A;
    /// Immediate Notify 24xx (ATIO queue).
    pub const IMMED_NOTIFY: u8 = 0x0D;
    /// Notify Acknowledge 24xx (request; completion on the response queue).
    pub const NOTIFY_ACK: u8 = 0x0E;
    /// CTIO type 7 (request; completion on the response queue).
    pub const CTIO_TYPE7: u8 = 0x12;
    /// Virtual port control.
    pub const VP_CTRL: u8 = 0x30;
    /// Virtual port configuration (modify).
    pub const VP_CONFIG: u8 = 0x31;
    /// Report ID acquisition (firmware -> host).
    pub const VP_RPT_ID: u8 = 0x32;
    /// ABTS received 24xx.
    pub const ABTS_RECV: u8 = 0x54;
    /// ABTS response 24xx (request; completion on the response queue).
    pub const ABTS_RESP: u8 = 0x55;
}

/// Why an entry could not be decoded. The caller counts and drops the entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodeError {
    /// The buffer holds fewer bytes than the entry (or its `entry_count` entries) needs.
    Short {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The entry type is not one this decoder handles.
    UnknownType(u8),
    /// `entry_count` is zero or does not match what the entry's contents require.
    BadEntryCount(u8),
    /// A length field is outside its valid range (value given).
    BadLength(u32),
    /// A field holds a value the protocol does not allow (byte offset of the field).
    BadField(u8),
}

/// Why an entry could not be encoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodeError {
    /// The output buffer is too small.
    Short {
        /// Bytes needed.
        need: usize,
    },
    /// A field does not fit its encoding (byte offset of the field).
    BadField(u8),
}

// ---- fixed-offset accessors (offsets checked at compile time) -------------------------

#[inline]
fn r8<const O: usize>(e: &Entry) -> u8 {
    const { assert!(O < IOCB_SIZE) };
    e[O]
}
#[inline]
fn r16<const O: usize>(e: &Entry) -> u16 {
    const { assert!(O + 2 <= IOCB_SIZE) };
    u16::from_le_bytes([e[O], e[O + 1]])
}
#[inline]
fn rbe16<const O: usize>(e: &Entry) -> u16 {
    const { assert!(O + 2 <= IOCB_SIZE) };
    u16::from_be_bytes([e[O], e[O + 1]])
}
#[inline]
fn r32<const O: usize>(e: &Entry) -> u32 {
    const { assert!(O + 4 <= IOCB_SIZE) };
    u32::from_le_bytes([e[O], e[O + 1], e[O + 2], e[O + 3]])
}
#[inline]
fn rbe32<const O: usize>(e: &Entry) -> u32 {
    const { assert!(O + 4 <= IOCB_SIZE) };
    u32::from_be_bytes([e[O], e[O + 1], e[O + 2], e[O + 3]])
}
#[inline]
fn r64<const O: usize>(e: &Entry) -> u64 {
    u64::from(r32::<O>(e)) | (u64::from(r64_hi::<O>(e)) << 32)
}
// The upper dword of a 64-bit field (its own checked offset range).
#[inline]
fn r64_hi<const O: usize>(e: &Entry) -> u32 {
    const { assert!(O + 8 <= IOCB_SIZE) };
    u32::from_le_bytes([e[O + 4], e[O + 5], e[O + 6], e[O + 7]])
}
#[inline]
fn r24le<const O: usize>(e: &Entry) -> u32 {
    const { assert!(O + 3 <= IOCB_SIZE) };
    u32::from_le_bytes([e[O], e[O + 1], e[O + 2], 0])
}
#[inline]
fn r24be<const O: usize>(e: &Entry) -> u32 {
    const { assert!(O + 3 <= IOCB_SIZE) };
    u32::from_be_bytes([0, e[O], e[O + 1], e[O + 2]])
}
#[inline]
fn rarr<const O: usize, const N: usize>(e: &Entry) -> [u8; N] {
    const { assert!(O + N <= IOCB_SIZE) };
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = e[O + i];
        i += 1;
    }
    out
}
#[inline]
fn w8<const O: usize>(e: &mut Entry, v: u8) {
    const { assert!(O < IOCB_SIZE) };
    e[O] = v;
}
#[inline]
fn w16<const O: usize>(e: &mut Entry, v: u16) {
    warr::<O, 2>(e, v.to_le_bytes());
}
#[inline]
fn wbe16<const O: usize>(e: &mut Entry, v: u16) {
    warr::<O, 2>(e, v.to_be_bytes());
}
#[inline]
fn w32<const O: usize>(e: &mut Entry, v: u32) {
    warr::<O, 4>(e, v.to_le_bytes());
}
#[inline]
fn wbe32<const O: usize>(e: &mut Entry, v: u32) {
    warr::<O, 4>(e, v.to_be_bytes());
}
#[inline]
fn w64<const O: usize>(e: &mut Entry, v: u64) {
    warr::<O, 8>(e, v.to_le_bytes());
}
#[inline]
fn w24le<const O: usize>(e: &mut Entry, v: u32) {
    let b = v.to_le_bytes();
    warr::<O, 3>(e, [b[0], b[1], b[2]]);
}
#[inline]
fn w24be<const O: usize>(e: &mut Entry, v: u32) {
    let b = v.to_be_bytes();
    warr::<O, 3>(e, [b[1], b[2], b[3]]);
}
#[inline]
fn warr<const O: usize, const N: usize>(e: &mut Entry, v: [u8; N]) {
    const { assert!(O + N <= IOCB_SIZE) };
    let mut i = 0;
    while i < N {
        e[O + i] = v[i];
        i += 1;
    }
}

/// The first 64 bytes of `buf` as an entry, or [`DecodeError::Short`].
pub fn entry_of(buf: &[u8]) -> Result<&Entry, DecodeError> {
    match buf.get(..IOCB_SIZE) {
        Some(s) => s.try_into().map_err(|_| DecodeError::Short {
            need: IOCB_SIZE,
            have: buf.len(),
        }),
        None => Err(DecodeError::Short {
            need: IOCB_SIZE,
            have: buf.len(),
        }),
    }
}

fn new_entry(ty: u8, count: u8) -> Entry {
    let mut e = [0u8; IOCB_SIZE];
    e[0] = ty;
    e[1] = count;
    e
}

fn expect_single(e: &Entry, ty: u8) -> Result<(), DecodeError> {
    if e[0] != ty {
        return Err(DecodeError::UnknownType(e[0]));
    }
    if e[1] != 1 {
        return Err(DecodeError::BadEntryCount(e[1]));
    }
    Ok(())
}

/// Common header of every IOCB.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// Entry type (byte 0).
    pub entry_type: u8,
    /// Number of ring entries this IOCB occupies (byte 1).
    pub entry_count: u8,
    /// System-defined / handle count (byte 2).
    pub sys_define: u8,
    /// Non-zero when the firmware rejected the IOCB (byte 3).
    pub entry_status: u8,
}

impl Header {
    /// Reads the header of the entry at the start of `buf`.
    pub fn read(buf: &[u8]) -> Result<Header, DecodeError> {
        let e = entry_of(buf)?;
        Ok(Header {
            entry_type: e[0],
            entry_count: e[1],
            sys_define: e[2],
            entry_status: e[3],
        })
    }
}

/// One 64-bit data segment descriptor (address + length, little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Dsd64 {
    /// Bus address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
}

/// Fields of an FC frame header, as carried in ATIO type 7 (wire order) and in ABTS
/// entries (little-endian word order).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FcHeader {
    /// Routing control.
    pub r_ctl: u8,
    /// Destination N_Port ID (the local port).
    pub d_id: PortId,
    /// Class-specific control.
    pub cs_ctl: u8,
    /// Source N_Port ID (the initiator).
    pub s_id: PortId,
    /// Data structure type (0x08 = FCP).
    pub fc_type: u8,
    /// Frame control (24 bits).
    pub f_ctl: u32,
    /// Sequence ID.
    pub seq_id: u8,
    /// Data field control.
    pub df_ctl: u8,
    /// Sequence count.
    pub seq_cnt: u16,
    /// Originator exchange ID.
    pub ox_id: u16,
    /// Responder exchange ID.
    pub rx_id: u16,
    /// Parameter field.
    pub parameter: u32,
}

// ---- ATIO type 7 ----------------------------------------------------------------------

/// Minimum valid FCP_CMND length in `attr_n_length` (FC header + 32-byte FCP_CMND).
pub const FCP_CMD_LENGTH_MIN: u16 = 0x38;
/// Exchange address the firmware uses when it has none (driver must answer BUSY).
pub const EXCHANGE_ADDRESS_UNKNOWN: u32 = 0xFFFF_FFFF;
/// Largest CDB an FCP_CMND can carry: 16 bytes + 63 additional dwords.
pub const MAX_CDB_LEN: usize = 16 + 63 * 4;
/// Most ring entries one ATIO type 7 can span.
pub const ATIO_MAX_ENTRIES: usize = 5;

/// A SCSI CDB of up to [`MAX_CDB_LEN`] bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cdb {
    bytes: [u8; MAX_CDB_LEN],
    len: u16,
}

impl Cdb {
    /// Builds a CDB; `None` unless 16 <= len <= MAX_CDB_LEN and (len - 16) % 4 == 0, the
    /// only lengths an FCP_CMND can carry (shorter CDBs are zero-padded to 16).
    pub fn new(cdb: &[u8]) -> Option<Cdb> {
        let len = cdb.len().max(16);
        if len > MAX_CDB_LEN || (len - 16) % 4 != 0 {
            return None;
        }
        let mut bytes = [0u8; MAX_CDB_LEN];
        bytes.get_mut(..cdb.len())?.copy_from_slice(cdb);
        Some(Cdb {
            bytes,
            len: len as u16,
        })
    }
    /// The CDB bytes (at least 16).
    pub fn as_slice(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }
    /// Number of additional CDB dwords beyond the first 16 bytes.
    pub fn add_cdb_len(&self) -> u8 {
        (self.len.saturating_sub(16) / 4) as u8
    }
}

/// The FCP_CMND payload of an ATIO type 7.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FcpCmnd {
    /// FCP LUN (wire order).
    pub lun: Lun,
    /// Command reference number.
    pub cmnd_ref: u8,
    /// Byte 9: bits 0-2 task attribute, bits 3-6 priority.
    pub task_byte: u8,
    /// Task management flags (0 for a SCSI command).
    pub tmf: u8,
    /// WRDATA: data flows initiator -> target.
    pub wrdata: bool,
    /// RDDATA: data flows target -> initiator.
    pub rddata: bool,
    /// CDB (add_cdb_len follows from its length).
    pub cdb: Cdb,
    /// FCP_DL: expected data length (big-endian on the wire).
    pub data_length: u32,
}

/// Task management flags of an FCP_CMND.
pub mod tmf {
    /// ABORT TASK SET.
    pub const ABORT_TASK_SET: u8 = 0x02;
    /// CLEAR TASK SET.
    pub const CLEAR_TASK_SET: u8 = 0x04;
    /// LOGICAL UNIT RESET.
    pub const LUN_RESET: u8 = 0x10;
    /// TARGET RESET.
    pub const TARGET_RESET: u8 = 0x20;
    /// CLEAR ACA.
    pub const CLEAR_ACA: u8 = 0x40;
}

impl FcpCmnd {
    /// The SAM task attribute (untagged is treated as SIMPLE); `None` for reserved codes.
    pub const fn task_attr(&self) -> Option<TaskAttr> {
        match self.task_byte & 0x07 {
            0 | 5 => Some(TaskAttr::Simple),
            1 => Some(TaskAttr::HeadOfQueue),
            2 => Some(TaskAttr::Ordered),
            4 => Some(TaskAttr::Aca),
            _ => None,
        }
    }
    /// Data direction; `None` for bidirectional commands (both bits set).
    pub const fn direction(&self) -> Option<DataDirection> {
        match (self.wrdata, self.rddata) {
            (false, false) => Some(DataDirection::None),
            (true, false) => Some(DataDirection::ToDevice),
            (false, true) => Some(DataDirection::FromDevice),
            (true, true) => None,
        }
    }
}

/// ATIO type 7 (0x06): one received FCP_CMND.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Atio7 {
    /// FCP_CMND IU length from `attr_n_length` bits 0-11.
    pub fcp_cmnd_len: u16,
    /// Attribute nibble (byte 3 bits 4-7); echoed into CTIO7 flags bits 9-12.
    pub attr: u8,
    /// Firmware exchange address (`EXCHANGE_ADDRESS_UNKNOWN` = none).
    pub exchange_addr: u32,
    /// FC frame header (wire order in the entry).
    pub fc: FcHeader,
    /// The FCP_CMND payload.
    pub cmnd: FcpCmnd,
}

/// Ring entries an ATIO type 7 with `add_cdb_len` extra CDB dwords spans.
pub const fn atio7_entries(add_cdb_len: u8) -> usize {
    // 0x3C bytes before the additional CDB, then add_cdb_len dwords, then FCP_DL.
    let bytes = 0x40 + 4 * (add_cdb_len as usize & 0x3f);
    bytes.div_ceil(IOCB_SIZE)
}

/// A logical byte string made of two slices (an entry run that wraps the ring end).
#[derive(Clone, Copy, Debug)]
pub struct Split<'a> {
    /// Bytes up to the ring end.
    pub head: &'a [u8],
    /// Bytes continuing from the ring start (empty when nothing wraps).
    pub tail: &'a [u8],
}

impl<'a> Split<'a> {
    /// A contiguous byte string.
    pub const fn one(buf: &'a [u8]) -> Self {
        Split {
            head: buf,
            tail: &[],
        }
    }
    /// Total length.
    pub const fn len(&self) -> usize {
        self.head.len().saturating_add(self.tail.len())
    }
    /// Whether both parts are empty.
    pub const fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }
    /// Byte `i`, `None` past the end.
    pub fn byte(&self, i: usize) -> Option<u8> {
        match self.head.get(i) {
            Some(b) => Some(*b),
            None => self.tail.get(i.checked_sub(self.head.len())?).copied(),
        }
    }
}

impl Atio7 {
    /// Ring entries this ATIO occupies.
    pub fn entries(&self) -> usize {
        atio7_entries(self.cmnd.cdb.add_cdb_len())
    }

    /// Decodes a contiguous ATIO type 7 (all of its entries in `buf`).
    pub fn decode(buf: &[u8]) -> Result<Atio7, DecodeError> {
        Self::decode_split(Split::one(buf))
    }

    /// Decodes an ATIO type 7 whose entries may wrap the ring end.
    pub fn decode_split(buf: Split<'_>) -> Result<Atio7, DecodeError> {
        let e = entry_of(buf.head)?;
        if e[0] != entry_type::ATIO_TYPE7 {
            return Err(DecodeError::UnknownType(e[0]));
        }
        let attr_n_length = r16::<0x02>(e);
        let fcp_cmnd_len = attr_n_length & 0x0fff;
        if fcp_cmnd_len < FCP_CMD_LENGTH_MIN {
            return Err(DecodeError::BadLength(u32::from(fcp_cmnd_len)));
        }
        let flags = r8::<0x2B>(e);
        let add = flags >> 2;
        let entries = atio7_entries(add);
        let count = r8::<0x01>(e);
        if count == 0 || usize::from(count) < entries || usize::from(count) > ATIO_MAX_ENTRIES {
            return Err(DecodeError::BadEntryCount(count));
        }
        let need = entries * IOCB_SIZE;
        if buf.len() < need {
            return Err(DecodeError::Short {
                need,
                have: buf.len(),
            });
        }
        let cdb_len = 16 + 4 * usize::from(add);
        let mut cdb = Cdb {
            bytes: [0u8; MAX_CDB_LEN],
            len: cdb_len as u16,
        };
        for (i, slot) in cdb.bytes.iter_mut().take(cdb_len).enumerate() {
            *slot = buf.byte(0x2C + i).ok_or(DecodeError::Short {
                need,
                have: buf.len(),
            })?;
        }
        let dl_off = 0x2C + cdb_len;
        let mut dl = [0u8; 4];
        for (i, b) in dl.iter_mut().enumerate() {
            *b = buf.byte(dl_off + i).ok_or(DecodeError::Short {
                need,
                have: buf.len(),
            })?;
        }
        Ok(Atio7 {
            fcp_cmnd_len,
            attr: (attr_n_length >> 12) as u8,
            exchange_addr: r32::<0x04>(e),
            fc: FcHeader {
                r_ctl: r8::<0x08>(e),
                d_id: PortId::new(r24be::<0x09>(e)),
                cs_ctl: r8::<0x0C>(e),
                s_id: PortId::new(r24be::<0x0D>(e)),
                fc_type: r8::<0x10>(e),
                f_ctl: r24be::<0x11>(e),
                seq_id: r8::<0x14>(e),
                df_ctl: r8::<0x15>(e),
                seq_cnt: rbe16::<0x16>(e),
                ox_id: rbe16::<0x18>(e),
                rx_id: rbe16::<0x1A>(e),
                parameter: rbe32::<0x1C>(e),
            },
            cmnd: FcpCmnd {
                lun: Lun::from_be_bytes(rarr::<0x20, 8>(e)),
                cmnd_ref: r8::<0x28>(e),
                task_byte: r8::<0x29>(e),
                tmf: r8::<0x2A>(e),
                wrdata: flags & 0x01 != 0,
                rddata: flags & 0x02 != 0,
                cdb,
                data_length: u32::from_be_bytes(dl),
            },
        })
    }

    /// Encodes into `out` (at least `entries() * 64` bytes); returns the entry count.
    /// Continuation entries carry the raw byte stream (no header of their own).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let entries = self.entries();
        let need = entries * IOCB_SIZE;
        let out = out.get_mut(..need).ok_or(EncodeError::Short { need })?;
        out.fill(0);
        let mut e = new_entry(entry_type::ATIO_TYPE7, entries as u8);
        let add = self.cmnd.cdb.add_cdb_len();
        let len = if self.fcp_cmnd_len == 0 {
            FCP_CMD_LENGTH_MIN + 4 * u16::from(add)
        } else {
            self.fcp_cmnd_len & 0x0fff
        };
        w16::<0x02>(&mut e, len | (u16::from(self.attr & 0x0f) << 12));
        w32::<0x04>(&mut e, self.exchange_addr);
        w8::<0x08>(&mut e, self.fc.r_ctl);
        w24be::<0x09>(&mut e, self.fc.d_id.get());
        w8::<0x0C>(&mut e, self.fc.cs_ctl);
        w24be::<0x0D>(&mut e, self.fc.s_id.get());
        w8::<0x10>(&mut e, self.fc.fc_type);
        w24be::<0x11>(&mut e, self.fc.f_ctl);
        w8::<0x14>(&mut e, self.fc.seq_id);
        w8::<0x15>(&mut e, self.fc.df_ctl);
        wbe16::<0x16>(&mut e, self.fc.seq_cnt);
        wbe16::<0x18>(&mut e, self.fc.ox_id);
        wbe16::<0x1A>(&mut e, self.fc.rx_id);
        wbe32::<0x1C>(&mut e, self.fc.parameter);
        warr::<0x20, 8>(&mut e, self.cmnd.lun.to_be_bytes());
        w8::<0x28>(&mut e, self.cmnd.cmnd_ref);
        w8::<0x29>(&mut e, self.cmnd.task_byte);
        w8::<0x2A>(&mut e, self.cmnd.tmf);
        w8::<0x2B>(
            &mut e,
            (add << 2) | u8::from(self.cmnd.rddata) << 1 | u8::from(self.cmnd.wrdata),
        );
        let first = out
            .get_mut(..IOCB_SIZE)
            .ok_or(EncodeError::Short { need })?;
        first.copy_from_slice(&e);
        let cdb = self.cmnd.cdb.as_slice();
        let cdb_end = 0x2C + cdb.len();
        out.get_mut(0x2C..cdb_end)
            .ok_or(EncodeError::Short { need })?
            .copy_from_slice(cdb);
        out.get_mut(cdb_end..cdb_end + 4)
            .ok_or(EncodeError::Short { need })?
            .copy_from_slice(&self.cmnd.data_length.to_be_bytes());
        Ok(entries)
    }
}

// ---- Immediate Notify 24xx ------------------------------------------------------------

/// Immediate Notify 24xx (0x0D): a login/logout/reset event for the driver to acknowledge.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ImmNotify24 {
    /// N_Port handle of the remote port (0xFFFF = global event).
    pub nport_handle: Handle,
    /// Flags (bit 0 PUREX, bit 1 global TPRLO, bit 5 FC-SP).
    pub flags: u16,
    /// SRR RX_ID.
    pub srr_rx_id: u16,
    /// Event status (`notify::status`).
    pub status: u16,
    /// Status subcode: the ELS opcode for status 0x46.
    pub status_subcode: u8,
    /// Firmware handle (echoed in the ack).
    pub fw_handle: u8,
    /// Exchange address of the notify (echoed in the ack).
    pub exchange_address: u32,
    /// SRR relative offset.
    pub srr_rel_offs: u32,
    /// SRR information unit.
    pub srr_ui: u16,
    /// SRR OX_ID.
    pub srr_ox_id: u16,
    /// Bytes 0x20..0x28: node name (PLOGI/ADISC/PDISC) or PRLI word 3 low (first 2 bytes).
    pub u: [u8; 8],
    /// Remote port WWPN (big-endian in the entry).
    pub port_name: Wwpn,
    /// Virtual port index (0xFF = global).
    pub vp_index: u8,
    /// Remote N_Port ID (little-endian in the entry).
    pub port_id: PortId,
    /// OX_ID of the ELS exchange.
    pub ox_id: u16,
}

impl ImmNotify24 {
    /// Decodes an Immediate Notify.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::IMMED_NOTIFY)?;
        Ok(ImmNotify24 {
            nport_handle: Handle(r16::<0x08>(e)),
            flags: r16::<0x0C>(e),
            srr_rx_id: r16::<0x0E>(e),
            status: r16::<0x10>(e),
            status_subcode: r8::<0x12>(e),
            fw_handle: r8::<0x13>(e),
            exchange_address: r32::<0x14>(e),
            srr_rel_offs: r32::<0x18>(e),
            srr_ui: r16::<0x1C>(e),
            srr_ox_id: r16::<0x1E>(e),
            u: rarr::<0x20, 8>(e),
            port_name: Wwpn::from_be_bytes(rarr::<0x28, 8>(e)),
            vp_index: r8::<0x33>(e),
            port_id: PortId::new(r24le::<0x38>(e)),
            ox_id: r16::<0x3E>(e),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::IMMED_NOTIFY, 1);
        w16::<0x08>(&mut e, self.nport_handle.0);
        w16::<0x0C>(&mut e, self.flags);
        w16::<0x0E>(&mut e, self.srr_rx_id);
        w16::<0x10>(&mut e, self.status);
        w8::<0x12>(&mut e, self.status_subcode);
        w8::<0x13>(&mut e, self.fw_handle);
        w32::<0x14>(&mut e, self.exchange_address);
        w32::<0x18>(&mut e, self.srr_rel_offs);
        w16::<0x1C>(&mut e, self.srr_ui);
        w16::<0x1E>(&mut e, self.srr_ox_id);
        warr::<0x20, 8>(&mut e, self.u);
        warr::<0x28, 8>(&mut e, self.port_name.to_be_bytes());
        w8::<0x33>(&mut e, self.vp_index);
        w24le::<0x38>(&mut e, self.port_id.get());
        w16::<0x3E>(&mut e, self.ox_id);
        e
    }

    /// Node name for PLOGI/ADISC/PDISC notifies.
    pub fn node_name(&self) -> Wwpn {
        Wwpn::from_be_bytes(self.u)
    }

    /// PRLI service parameter word 3, low 16 bits (little-endian in the entry).
    pub fn prli_wd3_lo(&self) -> u16 {
        u16::from_le_bytes([self.u[0], self.u[1]])
    }
}

// ---- Notify Acknowledge 24xx ----------------------------------------------------------

/// Notify Acknowledge flag: terminate (reject) the notify's exchange.
pub const NOTIFY_ACK_TERMINATE: u16 = 1 << 3;
/// Notify Acknowledge completion status: success.
pub const NOTIFY_ACK_SUCCESS: u16 = 0x01;
/// Handle meaning "no completion correlation" (`QLA_TGT_SKIP_HANDLE`).
pub const SKIP_HANDLE: u32 = 0x0FFF_FFFF;
/// Handle bit marking target-mode completions.
pub const CTIO_COMPLETION_HANDLE_MARK: u32 = 1 << 29;
/// Handle bit marking an intermediate data CTIO followed by a status CTIO.
pub const CTIO_INTERMEDIATE_HANDLE_MARK: u32 = 1 << 30;

/// Notify Acknowledge 24xx (0x0E): the driver's answer to an Immediate Notify (it *is* the
/// LS_ACC of a PLOGI/PRLI/LOGO), and its completion on the response queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NotifyAck24 {
    /// Non-zero when the firmware rejected the entry (completion only).
    pub entry_status: u8,
    /// Driver handle.
    pub handle: u32,
    /// N_Port handle (from the notify).
    pub nport_handle: Handle,
    /// Flags: PUREX bit copied, [`NOTIFY_ACK_TERMINATE`], FC-SP.
    pub flags: u16,
    /// SRR RX_ID.
    pub srr_rx_id: u16,
    /// Status (echo of the notify; [`NOTIFY_ACK_SUCCESS`] in a completion).
    pub status: u16,
    /// Status subcode (echo).
    pub status_subcode: u8,
    /// Firmware handle (echo).
    pub fw_handle: u8,
    /// Exchange address (echo).
    pub exchange_address: u32,
    /// SRR relative offset.
    pub srr_rel_offs: u32,
    /// SRR information unit.
    pub srr_ui: u16,
    /// SRR flags (0 accept, 1 reject).
    pub srr_flags: u16,
    /// Virtual port index.
    pub vp_index: u8,
    /// SRR reject vendor unique.
    pub srr_reject_vendor_uniq: u8,
    /// SRR reject explanation.
    pub srr_reject_code_expl: u8,
    /// SRR reject code.
    pub srr_reject_code: u8,
    /// OX_ID (echo).
    pub ox_id: u16,
}

impl NotifyAck24 {
    /// The ack for `n` (accept, or reject when `terminate`).
    pub fn for_notify(n: &ImmNotify24, handle: u32, terminate: bool) -> Self {
        NotifyAck24 {
            entry_status: 0,
            handle,
            nport_handle: n.nport_handle,
            flags: (n.flags & 0x0001) | if terminate { NOTIFY_ACK_TERMINATE } else { 0 },
            srr_rx_id: n.srr_rx_id,
            status: n.status,
            status_subcode: n.status_subcode,
            fw_handle: n.fw_handle,
            exchange_address: n.exchange_address,
            srr_rel_offs: n.srr_rel_offs,
            srr_ui: n.srr_ui,
            srr_flags: 0,
            vp_index: n.vp_index,
            srr_reject_vendor_uniq: 0,
            srr_reject_code_expl: 0,
            srr_reject_code: 0,
            ox_id: n.ox_id,
        }
    }

    /// Whether the ack terminates the notify exchange.
    pub const fn terminates(&self) -> bool {
        self.flags & NOTIFY_ACK_TERMINATE != 0
    }

    /// Decodes a Notify Acknowledge (request or completion).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::NOTIFY_ACK)?;
        Ok(NotifyAck24 {
            entry_status: r8::<0x03>(e),
            handle: r32::<0x04>(e),
            nport_handle: Handle(r16::<0x08>(e)),
            flags: r16::<0x0C>(e),
            srr_rx_id: r16::<0x0E>(e),
            status: r16::<0x10>(e),
            status_subcode: r8::<0x12>(e),
            fw_handle: r8::<0x13>(e),
            exchange_address: r32::<0x14>(e),
            srr_rel_offs: r32::<0x18>(e),
            srr_ui: r16::<0x1C>(e),
            srr_flags: r16::<0x1E>(e),
            vp_index: r8::<0x33>(e),
            srr_reject_vendor_uniq: r8::<0x34>(e),
            srr_reject_code_expl: r8::<0x35>(e),
            srr_reject_code: r8::<0x36>(e),
            ox_id: r16::<0x3E>(e),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::NOTIFY_ACK, 1);
        w8::<0x03>(&mut e, self.entry_status);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x08>(&mut e, self.nport_handle.0);
        w16::<0x0C>(&mut e, self.flags);
        w16::<0x0E>(&mut e, self.srr_rx_id);
        w16::<0x10>(&mut e, self.status);
        w8::<0x12>(&mut e, self.status_subcode);
        w8::<0x13>(&mut e, self.fw_handle);
        w32::<0x14>(&mut e, self.exchange_address);
        w32::<0x18>(&mut e, self.srr_rel_offs);
        w16::<0x1C>(&mut e, self.srr_ui);
        w16::<0x1E>(&mut e, self.srr_flags);
        w8::<0x33>(&mut e, self.vp_index);
        w8::<0x34>(&mut e, self.srr_reject_vendor_uniq);
        w8::<0x35>(&mut e, self.srr_reject_code_expl);
        w8::<0x36>(&mut e, self.srr_reject_code);
        w16::<0x3E>(&mut e, self.ox_id);
        e
    }
}

// ---- CTIO type 7 ----------------------------------------------------------------------

/// CTIO7 flag bits (offset 0x1A).
pub mod ctio_flags {
    /// Data flows initiator -> target (FW sends XFER_RDY).
    pub const DATA_OUT: u16 = 1 << 0;
    /// Data flows target -> initiator.
    pub const DATA_IN: u16 = 1 << 1;
    /// Data segment list pointer.
    pub const DSD_PTR: u16 = 1 << 2;
    /// Confirm satisfied.
    pub const CONFIRM_SATISF: u16 = 1 << 4;
    /// Explicit confirmation.
    pub const EXPLICIT_CONFORM: u16 = 1 << 5;
    /// Status mode 1 (status + sense, no data).
    pub const STATUS_MODE_1: u16 = 1 << 6;
    /// Status mode 2.
    pub const STATUS_MODE_2: u16 = 1 << 7;
    /// Do not return the CTIO on completion.
    pub const DONT_RET_CTIO: u16 = 1 << 8;
    /// Shift of the ATIO attribute nibble.
    pub const ATTR_SHIFT: u16 = 9;
    /// Confirmation requested.
    pub const CONFORM_REQ: u16 = 1 << 13;
    /// Terminate the exchange.
    pub const TERMINATE: u16 = 1 << 14;
    /// Send FCP_RSP after the data.
    pub const SEND_STATUS: u16 = 1 << 15;
}

/// Bits above the SCSI status byte in CTIO7 `scsi_status`.
pub mod ss {
    /// FCP_RSP_INFO length valid.
    pub const RESPONSE_INFO_LEN_VALID: u16 = 1 << 8;
    /// Sense length valid.
    pub const SENSE_LEN_VALID: u16 = 1 << 9;
    /// Residual overrun.
    pub const RESIDUAL_OVER: u16 = 1 << 10;
    /// Residual underrun.
    pub const RESIDUAL_UNDER: u16 = 1 << 11;
}

/// CTIO7 `nport_handle` when the session is unknown.
pub const CTIO7_NHANDLE_UNRECOGNIZED: u16 = 0xFFFF;
/// Sense/response bytes a status-mode-1 CTIO7 carries inline.
pub const CTIO7_SENSE_LEN: usize = 24;
/// Data segments in a CTIO7 itself.
pub const DSDS_PER_CTIO7: usize = 1;
/// Data segments per Continuation Type 1 entry.
pub const DSDS_PER_CONT: usize = 5;

/// The mode-dependent part of a CTIO7.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ctio7Body {
    /// Status mode 0: data transfer (and optionally status via SEND_STATUS).
    Mode0 {
        /// Relative offset of this transfer.
        relative_offset: u32,
        /// Bytes to transfer.
        transfer_length: u32,
        /// The first (inline) data segment.
        dsd: Dsd64,
    },
    /// Status mode 1: status with sense or FCP_RSP_INFO.
    Mode1 {
        /// Sense length.
        sense_length: u16,
        /// FCP_RSP_INFO length.
        response_len: u16,
        /// Sense or response info in natural byte order (the codec swaps per dword).
        sense: [u8; CTIO7_SENSE_LEN],
    },
}

/// CTIO type 7 (0x12) sent by the driver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ctio7 {
    /// Entries including continuations (1 + ceil((dseg_count - 1) / 5) for mode 0).
    pub entry_count: u8,
    /// Driver handle returned in the completion.
    pub handle: u32,
    /// N_Port handle of the session (or [`CTIO7_NHANDLE_UNRECOGNIZED`]).
    pub nport_handle: Handle,
    /// Timeout in seconds.
    pub timeout: u16,
    /// Total data segments (inline + continuations).
    pub dseg_count: u16,
    /// Virtual port index.
    pub vp_index: u8,
    /// Additional flags.
    pub add_flags: u8,
    /// Initiator N_Port ID (little-endian in the entry).
    pub initiator_id: PortId,
    /// Exchange address from the ATIO.
    pub exchange_addr: u32,
    /// [`ctio_flags`].
    pub flags: u16,
    /// Residual.
    pub residual: u32,
    /// OX_ID (little-endian here, unlike the ATIO).
    pub ox_id: u16,
    /// SCSI status byte plus [`ss`] bits.
    pub scsi_status: u16,
    /// Mode-dependent fields.
    pub body: Ctio7Body,
}

/// Entries a mode-0 CTIO7 with `dsegs` data segments occupies.
pub const fn ctio7_entries(dsegs: usize) -> usize {
    if dsegs <= DSDS_PER_CTIO7 {
        1
    } else {
        1 + (dsegs - DSDS_PER_CTIO7).div_ceil(DSDS_PER_CONT)
    }
}

fn swap_dwords(src: &[u8; CTIO7_SENSE_LEN]) -> [u8; CTIO7_SENSE_LEN] {
    // Index loop rather than chunks_exact().zip(): core's zip of chunk iterators carries a
    // division-by-zero panic path that objtool (7.3) does not know is noreturn.
    let mut out = [0u8; CTIO7_SENSE_LEN];
    for (n, b) in out.iter_mut().enumerate() {
        *b = src.get((n & !3) + 3 - (n & 3)).copied().unwrap_or(0);
    }
    out
}

impl Ctio7 {
    /// A CTIO7 for the exchange of `atio`: ids, exchange address, OX_ID and attribute
    /// filled in; flags and body to be set by the caller.
    pub fn for_atio(atio: &Atio7, handle: u32, nport_handle: Handle, vp_index: u8) -> Self {
        Ctio7 {
            entry_count: 1,
            handle,
            nport_handle,
            timeout: 10,
            dseg_count: 0,
            vp_index,
            add_flags: 0,
            initiator_id: atio.fc.s_id,
            exchange_addr: atio.exchange_addr,
            flags: u16::from(atio.attr & 0x0f) << ctio_flags::ATTR_SHIFT,
            residual: 0,
            ox_id: atio.fc.ox_id,
            scsi_status: 0,
            body: Ctio7Body::Mode1 {
                sense_length: 0,
                response_len: 0,
                sense: [0; CTIO7_SENSE_LEN],
            },
        }
    }

    /// Decodes a CTIO7 request entry (continuations are separate entries).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        if e[0] != entry_type::CTIO_TYPE7 {
            return Err(DecodeError::UnknownType(e[0]));
        }
        let flags = r16::<0x1A>(e);
        let dseg_count = r16::<0x0C>(e);
        let count = r8::<0x01>(e);
        let body = if flags & ctio_flags::STATUS_MODE_2 != 0 {
            return Err(DecodeError::BadField(0x1A));
        } else if flags & ctio_flags::STATUS_MODE_1 != 0 {
            if count != 1 {
                return Err(DecodeError::BadEntryCount(count));
            }
            let sense_length = r16::<0x18>(e);
            let response_len = r16::<0x24>(e);
            if usize::from(sense_length) > CTIO7_SENSE_LEN {
                return Err(DecodeError::BadLength(u32::from(sense_length)));
            }
            if usize::from(response_len) > CTIO7_SENSE_LEN {
                return Err(DecodeError::BadLength(u32::from(response_len)));
            }
            Ctio7Body::Mode1 {
                sense_length,
                response_len,
                sense: swap_dwords(&rarr::<0x28, 24>(e)),
            }
        } else {
            if usize::from(count) != ctio7_entries(usize::from(dseg_count)) {
                return Err(DecodeError::BadEntryCount(count));
            }
            Ctio7Body::Mode0 {
                relative_offset: r32::<0x24>(e),
                transfer_length: r32::<0x2C>(e),
                dsd: Dsd64 {
                    addr: r64::<0x34>(e),
                    len: r32::<0x3C>(e),
                },
            }
        };
        Ok(Ctio7 {
            entry_count: count,
            handle: r32::<0x04>(e),
            nport_handle: Handle(r16::<0x08>(e)),
            timeout: r16::<0x0A>(e),
            dseg_count,
            vp_index: r8::<0x0E>(e),
            add_flags: r8::<0x0F>(e),
            initiator_id: PortId::new(r24le::<0x10>(e)),
            exchange_addr: r32::<0x14>(e),
            flags,
            residual: r32::<0x1C>(e),
            ox_id: r16::<0x20>(e),
            scsi_status: r16::<0x22>(e),
            body,
        })
    }

    /// Encodes the first entry (continuations come from [`ContA64`]). The status-mode-1
    /// flag follows the body.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::CTIO_TYPE7, self.entry_count);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x08>(&mut e, self.nport_handle.0);
        w16::<0x0A>(&mut e, self.timeout);
        w16::<0x0C>(&mut e, self.dseg_count);
        w8::<0x0E>(&mut e, self.vp_index);
        w8::<0x0F>(&mut e, self.add_flags);
        w24le::<0x10>(&mut e, self.initiator_id.get());
        w32::<0x14>(&mut e, self.exchange_addr);
        let mut flags = self.flags & !(ctio_flags::STATUS_MODE_1 | ctio_flags::STATUS_MODE_2);
        w32::<0x1C>(&mut e, self.residual);
        w16::<0x20>(&mut e, self.ox_id);
        w16::<0x22>(&mut e, self.scsi_status);
        match self.body {
            Ctio7Body::Mode0 {
                relative_offset,
                transfer_length,
                dsd,
            } => {
                w32::<0x24>(&mut e, relative_offset);
                w32::<0x2C>(&mut e, transfer_length);
                w64::<0x34>(&mut e, dsd.addr);
                w32::<0x3C>(&mut e, dsd.len);
            }
            Ctio7Body::Mode1 {
                sense_length,
                response_len,
                sense,
            } => {
                flags |= ctio_flags::STATUS_MODE_1;
                w16::<0x18>(&mut e, sense_length);
                w16::<0x24>(&mut e, response_len);
                warr::<0x28, 24>(&mut e, swap_dwords(&sense));
            }
        }
        w16::<0x1A>(&mut e, flags);
        e
    }
}

/// CTIO completion status codes (offset 0x08 of the returned CTIO7).
pub mod ctio_status {
    /// Completed OK.
    pub const OK: u16 = 0x01;
    /// Aborted.
    pub const ABORTED: u16 = 0x02;
    /// Invalid RX_ID.
    pub const INVALID_RX_ID: u16 = 0x08;
    /// Timeout.
    pub const TIMEOUT: u16 = 0x0B;
    /// DIF error.
    pub const DIF_ERROR: u16 = 0x0C;
    /// LIP reset.
    pub const LIP_RESET: u16 = 0x0E;
    /// Target reset.
    pub const TARGET_RESET: u16 = 0x17;
    /// Port unavailable.
    pub const PORT_UNAVAILABLE: u16 = 0x28;
    /// Port logged out: the session must be deleted.
    pub const PORT_LOGGED_OUT: u16 = 0x29;
    /// Port configuration changed.
    pub const PORT_CONF_CHANGED: u16 = 0x2A;
    /// SRR received.
    pub const SRR_RECEIVED: u16 = 0x45;
}

/// The CTIO7 the firmware returns on the response queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Ctio7Status {
    /// Non-zero when the firmware rejected the request entry.
    pub entry_status: u8,
    /// The driver's handle.
    pub handle: u32,
    /// [`ctio_status`] code.
    pub status: u16,
    /// Virtual port index.
    pub vp_index: u8,
    /// Exchange address.
    pub exchange_address: u32,
    /// Flags echoed.
    pub flags: u16,
    /// Residual.
    pub residual: u32,
    /// OX_ID.
    pub ox_id: u16,
    /// Relative offset reached.
    pub relative_offset: u32,
}

impl Ctio7Status {
    /// Decodes a CTIO7 completion.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::CTIO_TYPE7)?;
        Ok(Ctio7Status {
            entry_status: r8::<0x03>(e),
            handle: r32::<0x04>(e),
            status: r16::<0x08>(e),
            vp_index: r8::<0x0E>(e),
            exchange_address: r32::<0x14>(e),
            flags: r16::<0x1A>(e),
            residual: r32::<0x1C>(e),
            ox_id: r16::<0x20>(e),
            relative_offset: r32::<0x24>(e),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::CTIO_TYPE7, 1);
        w8::<0x03>(&mut e, self.entry_status);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x08>(&mut e, self.status);
        w8::<0x0E>(&mut e, self.vp_index);
        w32::<0x14>(&mut e, self.exchange_address);
        w16::<0x1A>(&mut e, self.flags);
        w32::<0x1C>(&mut e, self.residual);
        w16::<0x20>(&mut e, self.ox_id);
        w32::<0x24>(&mut e, self.relative_offset);
        e
    }

    /// The status as the driver sees it: entry_status in bits 16-23.
    pub const fn combined_status(&self) -> u32 {
        ((self.entry_status as u32) << 16) | self.status as u32
    }
}

// ---- Continuation Type 1 (A64) --------------------------------------------------------

/// Continuation Type 1 (0x0A): five more data segments of the preceding CTIO7.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ContA64 {
    /// The segments; unused ones are zero.
    pub dsds: [Dsd64; DSDS_PER_CONT],
}

impl ContA64 {
    /// Decodes a continuation entry.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::CONTINUE_A64)?;
        Ok(ContA64 {
            dsds: [
                Dsd64 {
                    addr: r64::<0x04>(e),
                    len: r32::<0x0C>(e),
                },
                Dsd64 {
                    addr: r64::<0x10>(e),
                    len: r32::<0x18>(e),
                },
                Dsd64 {
                    addr: r64::<0x1C>(e),
                    len: r32::<0x24>(e),
                },
                Dsd64 {
                    addr: r64::<0x28>(e),
                    len: r32::<0x30>(e),
                },
                Dsd64 {
                    addr: r64::<0x34>(e),
                    len: r32::<0x3C>(e),
                },
            ],
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::CONTINUE_A64, 1);
        let d = &self.dsds;
        w64::<0x04>(&mut e, d[0].addr);
        w32::<0x0C>(&mut e, d[0].len);
        w64::<0x10>(&mut e, d[1].addr);
        w32::<0x18>(&mut e, d[1].len);
        w64::<0x1C>(&mut e, d[2].addr);
        w32::<0x24>(&mut e, d[2].len);
        w64::<0x28>(&mut e, d[3].addr);
        w32::<0x30>(&mut e, d[3].len);
        w64::<0x34>(&mut e, d[4].addr);
        w32::<0x3C>(&mut e, d[4].len);
        e
    }
}

// ---- ABTS -----------------------------------------------------------------------------

/// R_CTL of a BA_ACC.
pub const R_CTL_BA_ACC: u8 = 0x84;
/// R_CTL of a BA_RJT.
pub const R_CTL_BA_RJT: u8 = 0x85;
/// ABTS response control flag: terminate the victim exchange.
pub const ABTS_CONTR_FLG_TERM_EXCHG: u16 = 1 << 0;
/// BA_RJT reason: unable to perform command request.
pub const BA_RJT_REASON_UNABLE_TO_PERFORM: u8 = 0x09;
/// ABTS response completion subcode 1: the victim exchange was not terminated.
pub const ABTS_RESP_SUBCODE_NOT_TERMINATED: u32 = 0x1E;

fn read_fc_hdr_le(e: &Entry) -> FcHeader {
    FcHeader {
        d_id: PortId::new(r24le::<0x14>(e)),
        r_ctl: r8::<0x17>(e),
        s_id: PortId::new(r24le::<0x18>(e)),
        cs_ctl: r8::<0x1B>(e),
        f_ctl: r24le::<0x1C>(e),
        fc_type: r8::<0x1F>(e),
        seq_cnt: r16::<0x20>(e),
        df_ctl: r8::<0x22>(e),
        seq_id: r8::<0x23>(e),
        rx_id: r16::<0x24>(e),
        ox_id: r16::<0x26>(e),
        parameter: r32::<0x28>(e),
    }
}

fn write_fc_hdr_le(e: &mut Entry, h: &FcHeader) {
    w24le::<0x14>(e, h.d_id.get());
    w8::<0x17>(e, h.r_ctl);
    w24le::<0x18>(e, h.s_id.get());
    w8::<0x1B>(e, h.cs_ctl);
    w24le::<0x1C>(e, h.f_ctl);
    w8::<0x1F>(e, h.fc_type);
    w16::<0x20>(e, h.seq_cnt);
    w8::<0x22>(e, h.df_ctl);
    w8::<0x23>(e, h.seq_id);
    w16::<0x24>(e, h.rx_id);
    w16::<0x26>(e, h.ox_id);
    w32::<0x28>(e, h.parameter);
}

/// ABTS received 24xx (0x54).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AbtsRecv24 {
    /// N_Port handle of the sender.
    pub nport_handle: Handle,
    /// Virtual port index.
    pub vp_index: u8,
    /// SOF type (high nibble of byte 0x0F).
    pub sof_type: u8,
    /// The ABTS's own exchange address.
    pub exchange_address: u32,
    /// FC header (little-endian word order in the entry).
    pub fc: FcHeader,
    /// Exchange address of the command to abort ([`EXCHANGE_ADDRESS_UNKNOWN`] -> BA_RJT).
    pub exchange_addr_to_abort: u32,
}

impl AbtsRecv24 {
    /// Whether the ABTS aborts a sequence (parameter bit 0), which targets reject.
    pub const fn is_abort_sequence(&self) -> bool {
        self.fc.parameter & 1 != 0
    }

    /// Decodes an ABTS received entry.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::ABTS_RECV)?;
        Ok(AbtsRecv24 {
            nport_handle: Handle(r16::<0x0A>(e)),
            vp_index: r8::<0x0E>(e),
            sof_type: r8::<0x0F>(e) >> 4,
            exchange_address: r32::<0x10>(e),
            fc: read_fc_hdr_le(e),
            exchange_addr_to_abort: r32::<0x3C>(e),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::ABTS_RECV, 1);
        w16::<0x0A>(&mut e, self.nport_handle.0);
        w8::<0x0E>(&mut e, self.vp_index);
        w8::<0x0F>(&mut e, self.sof_type << 4);
        w32::<0x10>(&mut e, self.exchange_address);
        write_fc_hdr_le(&mut e, &self.fc);
        w32::<0x3C>(&mut e, self.exchange_addr_to_abort);
        e
    }
}

/// Basic link service payload of an ABTS response.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BaPayload {
    /// BA_ACC.
    Acc {
        /// SEQ_ID valid (0x80) or not (0).
        seq_id_valid: u8,
        /// Last SEQ_ID.
        seq_id_last: u8,
        /// OX_ID of the aborted exchange.
        ox_id: u16,
        /// RX_ID of the aborted exchange.
        rx_id: u16,
        /// Low SEQ_CNT.
        low_seq_cnt: u16,
        /// High SEQ_CNT.
        high_seq_cnt: u16,
    },
    /// BA_RJT.
    Rjt {
        /// Reason code.
        reason_code: u8,
        /// Reason explanation.
        reason_expl: u8,
        /// Vendor unique.
        vendor_uniq: u8,
    },
}

/// ABTS response 24xx (0x55) sent by the driver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AbtsResp24 {
    /// Driver handle.
    pub handle: u32,
    /// N_Port handle.
    pub nport_handle: Handle,
    /// Control flags ([`ABTS_CONTR_FLG_TERM_EXCHG`]).
    pub control_flags: u16,
    /// Virtual port index.
    pub vp_index: u8,
    /// SOF type.
    pub sof_type: u8,
    /// The ABTS's exchange address.
    pub exchange_address: u32,
    /// FC header of the reply; `r_ctl` selects BA_ACC/BA_RJT and must match the payload.
    pub fc: FcHeader,
    /// Payload.
    pub payload: BaPayload,
    /// Victim exchange address.
    pub exchange_addr_to_abort: u32,
}

/// F_CTL of a basic link service reply: exchange context responder, last sequence, end
/// sequence, sequence initiative.
pub const F_CTL_BLS_REPLY: u32 = (1 << 23) | (1 << 20) | (1 << 19) | (1 << 16);

impl AbtsResp24 {
    /// The reply to `abts`: BA_ACC when `accept`, else BA_RJT "unable to perform".
    pub fn for_abts(abts: &AbtsRecv24, handle: u32, accept: bool) -> Self {
        let payload = if accept {
            BaPayload::Acc {
                seq_id_valid: 0,
                seq_id_last: 0,
                ox_id: abts.fc.ox_id,
                rx_id: abts.fc.rx_id,
                low_seq_cnt: 0,
                high_seq_cnt: 0xFFFF,
            }
        } else {
            BaPayload::Rjt {
                reason_code: BA_RJT_REASON_UNABLE_TO_PERFORM,
                reason_expl: 0,
                vendor_uniq: 0,
            }
        };
        AbtsResp24 {
            handle,
            nport_handle: abts.nport_handle,
            control_flags: 0,
            vp_index: abts.vp_index,
            sof_type: abts.sof_type,
            exchange_address: abts.exchange_address,
            fc: FcHeader {
                r_ctl: if accept { R_CTL_BA_ACC } else { R_CTL_BA_RJT },
                d_id: abts.fc.s_id,
                s_id: abts.fc.d_id,
                f_ctl: F_CTL_BLS_REPLY,
                ox_id: abts.fc.ox_id,
                rx_id: abts.fc.rx_id,
                ..FcHeader::default()
            },
            payload,
            exchange_addr_to_abort: abts.exchange_addr_to_abort,
        }
    }

    /// Decodes an ABTS response request.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::ABTS_RESP)?;
        let fc = read_fc_hdr_le(e);
        let payload = match fc.r_ctl {
            R_CTL_BA_ACC => BaPayload::Acc {
                seq_id_last: r8::<0x2E>(e),
                seq_id_valid: r8::<0x2F>(e),
                rx_id: r16::<0x30>(e),
                ox_id: r16::<0x32>(e),
                high_seq_cnt: r16::<0x34>(e),
                low_seq_cnt: r16::<0x36>(e),
            },
            R_CTL_BA_RJT => BaPayload::Rjt {
                vendor_uniq: r8::<0x2C>(e),
                reason_expl: r8::<0x2D>(e),
                reason_code: r8::<0x2E>(e),
            },
            _ => return Err(DecodeError::BadField(0x17)),
        };
        Ok(AbtsResp24 {
            handle: r32::<0x04>(e),
            nport_handle: Handle(r16::<0x0A>(e)),
            control_flags: r16::<0x0C>(e),
            vp_index: r8::<0x0E>(e),
            sof_type: r8::<0x0F>(e) >> 4,
            exchange_address: r32::<0x10>(e),
            fc,
            payload,
            exchange_addr_to_abort: r32::<0x3C>(e),
        })
    }

    /// Encodes into one entry (`fc.r_ctl` is set from the payload kind).
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::ABTS_RESP, 1);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x0A>(&mut e, self.nport_handle.0);
        w16::<0x0C>(&mut e, self.control_flags);
        w8::<0x0E>(&mut e, self.vp_index);
        w8::<0x0F>(&mut e, self.sof_type << 4);
        w32::<0x10>(&mut e, self.exchange_address);
        let mut fc = self.fc;
        match self.payload {
            BaPayload::Acc {
                seq_id_valid,
                seq_id_last,
                ox_id,
                rx_id,
                low_seq_cnt,
                high_seq_cnt,
            } => {
                fc.r_ctl = R_CTL_BA_ACC;
                w8::<0x2E>(&mut e, seq_id_last);
                w8::<0x2F>(&mut e, seq_id_valid);
                w16::<0x30>(&mut e, rx_id);
                w16::<0x32>(&mut e, ox_id);
                w16::<0x34>(&mut e, high_seq_cnt);
                w16::<0x36>(&mut e, low_seq_cnt);
            }
            BaPayload::Rjt {
                reason_code,
                reason_expl,
                vendor_uniq,
            } => {
                fc.r_ctl = R_CTL_BA_RJT;
                w8::<0x2C>(&mut e, vendor_uniq);
                w8::<0x2D>(&mut e, reason_expl);
                w8::<0x2E>(&mut e, reason_code);
            }
        }
        write_fc_hdr_le(&mut e, &fc);
        w32::<0x3C>(&mut e, self.exchange_addr_to_abort);
        e
    }
}

/// The firmware's completion of an ABTS response (0x55 on the response queue).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AbtsRespStatus {
    /// Non-zero when the firmware rejected the entry.
    pub entry_status: u8,
    /// Driver handle.
    pub handle: u32,
    /// Completion status (0 ok, 0x31 subcode error).
    pub compl_status: u16,
    /// N_Port handle.
    pub nport_handle: Handle,
    /// Virtual port index.
    pub vp_index: u8,
    /// The ABTS's exchange address.
    pub exchange_address: u32,
    /// Error subcode 1 ([`ABTS_RESP_SUBCODE_NOT_TERMINATED`]).
    pub error_subcode1: u32,
    /// Error subcode 2.
    pub error_subcode2: u32,
    /// Victim exchange address.
    pub exchange_addr_to_abort: u32,
}

impl AbtsRespStatus {
    /// Decodes an ABTS response completion.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::ABTS_RESP)?;
        Ok(AbtsRespStatus {
            entry_status: r8::<0x03>(e),
            handle: r32::<0x04>(e),
            compl_status: r16::<0x08>(e),
            nport_handle: Handle(r16::<0x0A>(e)),
            vp_index: r8::<0x0E>(e),
            exchange_address: r32::<0x10>(e),
            error_subcode1: r32::<0x34>(e),
            error_subcode2: r32::<0x38>(e),
            exchange_addr_to_abort: r32::<0x3C>(e),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::ABTS_RESP, 1);
        w8::<0x03>(&mut e, self.entry_status);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x08>(&mut e, self.compl_status);
        w16::<0x0A>(&mut e, self.nport_handle.0);
        w8::<0x0E>(&mut e, self.vp_index);
        w32::<0x10>(&mut e, self.exchange_address);
        w32::<0x34>(&mut e, self.error_subcode1);
        w32::<0x38>(&mut e, self.error_subcode2);
        w32::<0x3C>(&mut e, self.exchange_addr_to_abort);
        e
    }
}

// ---- Marker, VP control, VP config, RIDA ----------------------------------------------

/// Marker modifier: synchronise one ID/LUN.
pub const MK_SYNC_ID_LUN: u8 = 0;
/// Marker modifier: synchronise one ID.
pub const MK_SYNC_ID: u8 = 1;
/// Marker modifier: synchronise all.
pub const MK_SYNC_ALL: u8 = 2;

/// Marker 24xx (0x04).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Marker24 {
    /// Driver handle.
    pub handle: u32,
    /// N_Port handle.
    pub nport_handle: Handle,
    /// Modifier (`MK_SYNC_*`).
    pub modifier: u8,
    /// Virtual port index.
    pub vp_index: u8,
    /// LUN (wire order).
    pub lun: Lun,
}

impl Marker24 {
    /// Decodes a marker.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::MARKER)?;
        let modifier = r8::<0x0A>(e);
        if modifier > MK_SYNC_ALL {
            return Err(DecodeError::BadField(0x0A));
        }
        Ok(Marker24 {
            handle: r32::<0x04>(e),
            nport_handle: Handle(r16::<0x08>(e)),
            modifier,
            vp_index: r8::<0x0D>(e),
            lun: Lun::from_be_bytes(rarr::<0x10, 8>(e)),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::MARKER, 1);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x08>(&mut e, self.nport_handle.0);
        w8::<0x0A>(&mut e, self.modifier);
        w8::<0x0D>(&mut e, self.vp_index);
        warr::<0x10, 8>(&mut e, self.lun.to_be_bytes());
        e
    }
}

/// VP control commands.
pub mod vce_command {
    /// Enable VPs.
    pub const ENABLE_VPS: u16 = 0x00;
    /// Disable VPs.
    pub const DISABLE_VPS: u16 = 0x08;
    /// Disable VPs and reinitialise the link.
    pub const DISABLE_VPS_REINIT: u16 = 0x09;
    /// Disable VPs and LOGO their ports.
    pub const DISABLE_VPS_LOGO: u16 = 0x0A;
    /// Disable VPs and LOGO all ports.
    pub const DISABLE_VPS_LOGO_ALL: u16 = 0x0B;
}

/// Virtual port control (0x30), request and completion.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VpCtrl24 {
    /// Non-zero when the firmware rejected the entry.
    pub entry_status: u8,
    /// Driver handle.
    pub handle: u32,
    /// Index of the VP that failed (completion).
    pub vp_idx_failed: u16,
    /// Completion status (0 ok).
    pub comp_status: u16,
    /// [`vce_command`].
    pub command: u16,
    /// Number of VPs addressed.
    pub vp_count: u16,
    /// Bitmap of VPs: bit `vp_index - 1`.
    pub vp_idx_map: [u8; 16],
}

impl VpCtrl24 {
    /// A control entry for a single `vp_index` (1..=128); `None` out of range.
    pub fn single(handle: u32, command: u16, vp_index: u8) -> Option<Self> {
        let bit = usize::from(vp_index.checked_sub(1)?);
        let mut map = [0u8; 16];
        *map.get_mut(bit / 8)? |= 1 << (bit % 8);
        Some(VpCtrl24 {
            handle,
            command,
            vp_count: 1,
            vp_idx_map: map,
            ..Default::default()
        })
    }

    /// Whether `vp_index` is selected in the bitmap.
    pub fn selects(&self, vp_index: u8) -> bool {
        let Some(bit) = vp_index.checked_sub(1).map(usize::from) else {
            return false;
        };
        self.vp_idx_map
            .get(bit / 8)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }

    /// Decodes a VP control entry.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::VP_CTRL)?;
        Ok(VpCtrl24 {
            entry_status: r8::<0x03>(e),
            handle: r32::<0x04>(e),
            vp_idx_failed: r16::<0x08>(e),
            comp_status: r16::<0x0A>(e),
            command: r16::<0x0C>(e),
            vp_count: r16::<0x0E>(e),
            vp_idx_map: rarr::<0x10, 16>(e),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::VP_CTRL, 1);
        w8::<0x03>(&mut e, self.entry_status);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x08>(&mut e, self.vp_idx_failed);
        w16::<0x0A>(&mut e, self.comp_status);
        w16::<0x0C>(&mut e, self.command);
        w16::<0x0E>(&mut e, self.vp_count);
        warr::<0x10, 16>(&mut e, self.vp_idx_map);
        e
    }
}

/// VP config command: modify.
pub const VCT_COMMAND_MOD_VPS: u8 = 0x00;
/// VP config command: modify and enable.
pub const VCT_COMMAND_MOD_ENABLE_VPS: u8 = 0x01;
/// VP option bit: enable VP.
pub const VP_OPT_ENABLE: u8 = 1 << 3;
/// VP option bit 4 (initiator mode per qla_fw.h; see the reference for the ambiguity).
pub const VP_OPT_BIT4: u8 = 1 << 4;
/// VP option bit 5 (target mode per qla_fw.h; see the reference for the ambiguity).
pub const VP_OPT_BIT5: u8 = 1 << 5;

/// Modify VP configuration (0x31) for one VP, request and completion.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VpConfig24 {
    /// Non-zero when the firmware rejected the entry.
    pub entry_status: u8,
    /// Driver handle.
    pub handle: u32,
    /// Completion status (0 ok).
    pub comp_status: u16,
    /// `VCT_COMMAND_*`.
    pub command: u8,
    /// Number of VPs configured (1).
    pub vp_count: u8,
    /// VP index being configured.
    pub vp_index1: u8,
    /// Options (`VP_OPT_*`).
    pub options_idx1: u8,
    /// WWPN of the VP.
    pub port_name_idx1: Wwpn,
    /// WWNN of the VP.
    pub node_name_idx1: Wwpn,
}

impl VpConfig24 {
    /// Decodes a VP config entry.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::VP_CONFIG)?;
        Ok(VpConfig24 {
            entry_status: r8::<0x03>(e),
            handle: r32::<0x04>(e),
            comp_status: r16::<0x0A>(e),
            command: r8::<0x0C>(e),
            vp_count: r8::<0x0D>(e),
            vp_index1: r8::<0x0E>(e),
            options_idx1: r8::<0x10>(e),
            port_name_idx1: Wwpn::from_be_bytes(rarr::<0x14, 8>(e)),
            node_name_idx1: Wwpn::from_be_bytes(rarr::<0x1C, 8>(e)),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::VP_CONFIG, 1);
        w8::<0x03>(&mut e, self.entry_status);
        w32::<0x04>(&mut e, self.handle);
        w16::<0x0A>(&mut e, self.comp_status);
        w8::<0x0C>(&mut e, self.command);
        w8::<0x0D>(&mut e, self.vp_count);
        w8::<0x0E>(&mut e, self.vp_index1);
        w8::<0x10>(&mut e, self.options_idx1);
        warr::<0x14, 8>(&mut e, self.port_name_idx1.to_be_bytes());
        warr::<0x1C, 8>(&mut e, self.node_name_idx1.to_be_bytes());
        e
    }
}

/// Report ID Acquisition format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RidaFormat {
    /// 0: loop topology.
    Loop,
    /// 1: fabric (a VP acquired its N_Port ID).
    Fabric,
    /// 2: N2N direct connect.
    N2n,
}

/// Report ID Acquisition (0x32): a VP's port ID, which drives the D_ID -> VP table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rida24 {
    /// VPs acquired.
    pub vp_acquired: u8,
    /// VPs set up.
    pub vp_setup: u8,
    /// VP index (formats 1/2).
    pub vp_idx: u8,
    /// VP status (0 complete, 2 ID changed, ...).
    pub vp_status: u8,
    /// The acquired N_Port ID (little-endian in the entry).
    pub port_id: PortId,
    /// Format.
    pub format: RidaFormat,
    /// Format 1/2 flags (topology mask 0x0E).
    pub flags: u8,
    /// Format 1/2: remote (fabric/peer) port name.
    pub port_name: Wwpn,
    /// Format 1/2: remote node name.
    pub node_name: Wwpn,
}

impl Rida24 {
    /// Decodes a RIDA entry.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let e = entry_of(buf)?;
        expect_single(e, entry_type::VP_RPT_ID)?;
        let format = match r8::<0x0F>(e) {
            0 => RidaFormat::Loop,
            1 => RidaFormat::Fabric,
            2 => RidaFormat::N2n,
            _ => return Err(DecodeError::BadField(0x0F)),
        };
        Ok(Rida24 {
            vp_acquired: r8::<0x08>(e),
            vp_setup: r8::<0x09>(e),
            vp_idx: r8::<0x0A>(e),
            vp_status: r8::<0x0B>(e),
            port_id: PortId::new(r24le::<0x0C>(e)),
            format,
            flags: r8::<0x11>(e),
            port_name: Wwpn::from_be_bytes(rarr::<0x28, 8>(e)),
            node_name: Wwpn::from_be_bytes(rarr::<0x30, 8>(e)),
        })
    }

    /// Encodes into one entry.
    pub fn encode(&self) -> Entry {
        let mut e = new_entry(entry_type::VP_RPT_ID, 1);
        w8::<0x08>(&mut e, self.vp_acquired);
        w8::<0x09>(&mut e, self.vp_setup);
        w8::<0x0A>(&mut e, self.vp_idx);
        w8::<0x0B>(&mut e, self.vp_status);
        w24le::<0x0C>(&mut e, self.port_id.get());
        w8::<0x0F>(
            &mut e,
            match self.format {
                RidaFormat::Loop => 0,
                RidaFormat::Fabric => 1,
                RidaFormat::N2n => 2,
            },
        );
        w8::<0x11>(&mut e, self.flags);
        warr::<0x28, 8>(&mut e, self.port_name.to_be_bytes());
        warr::<0x30, 8>(&mut e, self.node_name.to_be_bytes());
        e
    }
}

// ---- dispatch -------------------------------------------------------------------------

/// An entry the firmware produces (ATIO or response queue). The ATIO variant is large
/// (its CDB holds up to 268 bytes) and there is no allocator to box it: decode ATIOs
/// directly with [`Atio7::decode_split`] on hot paths.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FwEntry {
    /// ATIO type 7.
    Atio7(Atio7),
    /// Immediate Notify.
    ImmNotify(ImmNotify24),
    /// Notify Acknowledge completion.
    NotifyAckDone(NotifyAck24),
    /// CTIO7 completion.
    CtioDone(Ctio7Status),
    /// ABTS received.
    AbtsRecv(AbtsRecv24),
    /// ABTS response completion.
    AbtsRespDone(AbtsRespStatus),
    /// Report ID acquisition.
    Rida(Rida24),
    /// VP control completion.
    VpCtrlDone(VpCtrl24),
    /// VP config completion.
    VpConfigDone(VpConfig24),
}

impl FwEntry {
    /// Decodes the firmware entry at the start of `buf` (which may wrap).
    pub fn decode(buf: Split<'_>) -> Result<FwEntry, DecodeError> {
        let h = Header::read(buf.head)?;
        let b = buf.head;
        Ok(match h.entry_type {
            entry_type::ATIO_TYPE7 => FwEntry::Atio7(Atio7::decode_split(buf)?),
            entry_type::IMMED_NOTIFY => FwEntry::ImmNotify(ImmNotify24::decode(b)?),
            entry_type::NOTIFY_ACK => FwEntry::NotifyAckDone(NotifyAck24::decode(b)?),
            entry_type::CTIO_TYPE7 => FwEntry::CtioDone(Ctio7Status::decode(b)?),
            entry_type::ABTS_RECV => FwEntry::AbtsRecv(AbtsRecv24::decode(b)?),
            entry_type::ABTS_RESP => FwEntry::AbtsRespDone(AbtsRespStatus::decode(b)?),
            entry_type::VP_RPT_ID => FwEntry::Rida(Rida24::decode(b)?),
            entry_type::VP_CTRL => FwEntry::VpCtrlDone(VpCtrl24::decode(b)?),
            entry_type::VP_CONFIG => FwEntry::VpConfigDone(VpConfig24::decode(b)?),
            t => return Err(DecodeError::UnknownType(t)),
        })
    }
}

/// An entry the driver puts on the request queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HostEntry {
    /// CTIO type 7 (its continuations follow as separate entries).
    Ctio7(Ctio7),
    /// Continuation type 1.
    Cont(ContA64),
    /// Notify Acknowledge.
    NotifyAck(NotifyAck24),
    /// ABTS response.
    AbtsResp(AbtsResp24),
    /// Marker.
    Marker(Marker24),
    /// VP control.
    VpCtrl(VpCtrl24),
    /// VP config.
    VpConfig(VpConfig24),
}

impl HostEntry {
    /// Decodes the request entry at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<HostEntry, DecodeError> {
        let h = Header::read(buf)?;
        Ok(match h.entry_type {
            entry_type::CTIO_TYPE7 => HostEntry::Ctio7(Ctio7::decode(buf)?),
            entry_type::CONTINUE_A64 => HostEntry::Cont(ContA64::decode(buf)?),
            entry_type::NOTIFY_ACK => HostEntry::NotifyAck(NotifyAck24::decode(buf)?),
            entry_type::ABTS_RESP => HostEntry::AbtsResp(AbtsResp24::decode(buf)?),
            entry_type::MARKER => HostEntry::Marker(Marker24::decode(buf)?),
            entry_type::VP_CTRL => HostEntry::VpCtrl(VpCtrl24::decode(buf)?),
            entry_type::VP_CONFIG => HostEntry::VpConfig(VpConfig24::decode(buf)?),
            t => return Err(DecodeError::UnknownType(t)),
        })
    }
}
