//! SPC-4 persistent reservations and SPC-2 RESERVE/RELEASE for one logical unit.
//!
//! Identity: a registration belongs to an I_T nexus named by the initiator's WWPN (its FC
//! TransportID) and the relative target port identifier, never by N_Port ID or handle, so
//! registrations and reservations survive an initiator's port ID changing (ARCHITECTURE §5).
//!
//! The device server reports CRH=1 (SPC-4 5.13.3 exceptions to SPC-2 RESERVE/RELEASE),
//! SIP_C, ATP_C and PTPL_C. Effects on other I_T nexuses (unit attentions, aborted tasks) go
//! through a caller-supplied [`PrSink`].
//!
//! Calling convention for the command path: run [`PrState::check`] on every command before
//! executing it; then PERSISTENT RESERVE IN/OUT, RESERVE and RELEASE go to
//! [`PrState::reserve_in`], [`PrState::reserve_out`], [`PrState::reserve_spc2`] and
//! [`PrState::release_spc2`]. After every successful PERSISTENT RESERVE OUT, if
//! [`PrState::aptpl`] is true, [`PrState::export`] the image to stable storage; if it became
//! false, discard the stored image.

use crate::types::{Asc, Sense, SenseKey, Wwpn};

mod conflict;
mod image;
#[cfg(test)]
mod tests;

pub use image::PrImageError;

/// PERSISTENT RESERVE IN operation code.
pub const PERSISTENT_RESERVE_IN: u8 = 0x5e;
/// PERSISTENT RESERVE OUT operation code.
pub const PERSISTENT_RESERVE_OUT: u8 = 0x5f;
/// RESERVE(6) operation code.
pub const RESERVE_6: u8 = 0x16;
/// RELEASE(6) operation code.
pub const RELEASE_6: u8 = 0x17;
/// RESERVE(10) operation code.
pub const RESERVE_10: u8 = 0x56;
/// RELEASE(10) operation code.
pub const RELEASE_10: u8 = 0x57;

/// Length of a Fibre Channel TransportID (SPC-4 7.6.4.2; format code 00b).
pub const FC_TRANSPORT_ID_LEN: usize = 24;
/// Protocol identifier of Fibre Channel (FCP) in TransportIDs.
const PROTOCOL_ID_FCP: u8 = 0x0;

/// Length of the basic PERSISTENT RESERVE OUT parameter list.
const BASIC_PARAMS_LEN: usize = 24;

/// An I_T nexus as persistent reservations see it: initiator port name plus the relative
/// target port identifier through which it reaches the logical unit.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct PrNexus {
    /// Initiator port name (the FC TransportID's N_PORT_NAME).
    pub initiator: Wwpn,
    /// Relative target port identifier of the target port.
    pub rel_port: u16,
}

/// Persistent reservation types (SPC-4 table 169). Scope is always LU_SCOPE (0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum PrType {
    /// Write Exclusive.
    WriteExclusive = 0x1,
    /// Exclusive Access.
    ExclusiveAccess = 0x3,
    /// Write Exclusive – Registrants Only.
    WriteExclusiveRegistrantsOnly = 0x5,
    /// Exclusive Access – Registrants Only.
    ExclusiveAccessRegistrantsOnly = 0x6,
    /// Write Exclusive – All Registrants.
    WriteExclusiveAllRegistrants = 0x7,
    /// Exclusive Access – All Registrants.
    ExclusiveAccessAllRegistrants = 0x8,
}

impl PrType {
    /// Every type, in code order.
    pub const ALL: [PrType; 6] = [
        PrType::WriteExclusive,
        PrType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusiveAllRegistrants,
        PrType::ExclusiveAccessAllRegistrants,
    ];

    /// Decodes the TYPE field; `None` for reserved/obsolete codes.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x1 => Some(PrType::WriteExclusive),
            0x3 => Some(PrType::ExclusiveAccess),
            0x5 => Some(PrType::WriteExclusiveRegistrantsOnly),
            0x6 => Some(PrType::ExclusiveAccessRegistrantsOnly),
            0x7 => Some(PrType::WriteExclusiveAllRegistrants),
            0x8 => Some(PrType::ExclusiveAccessAllRegistrants),
            _ => None,
        }
    }
    /// The TYPE field value.
    pub const fn code(self) -> u8 {
        self as u8
    }
    /// All Registrants types: every registered I_T nexus is a reservation holder.
    pub const fn all_registrants(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusiveAllRegistrants | PrType::ExclusiveAccessAllRegistrants
        )
    }
    /// Registrants Only types.
    pub const fn registrants_only(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusiveRegistrantsOnly | PrType::ExclusiveAccessRegistrantsOnly
        )
    }
    /// Write Exclusive family (reads shared); otherwise Exclusive Access family.
    pub const fn write_exclusive(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusive
                | PrType::WriteExclusiveRegistrantsOnly
                | PrType::WriteExclusiveAllRegistrants
        )
    }
}

/// PERSISTENT RESERVE OUT service actions (SPC-4 table 170).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum ProutAction {
    /// REGISTER
    Register = 0x00,
    /// RESERVE
    Reserve = 0x01,
    /// RELEASE
    Release = 0x02,
    /// CLEAR
    Clear = 0x03,
    /// PREEMPT
    Preempt = 0x04,
    /// PREEMPT AND ABORT
    PreemptAndAbort = 0x05,
    /// REGISTER AND IGNORE EXISTING KEY
    RegisterAndIgnore = 0x06,
    /// REGISTER AND MOVE
    RegisterAndMove = 0x07,
}

impl ProutAction {
    /// Decodes the SERVICE ACTION field (low 5 bits of CDB byte 1).
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x00 => Some(ProutAction::Register),
            0x01 => Some(ProutAction::Reserve),
            0x02 => Some(ProutAction::Release),
            0x03 => Some(ProutAction::Clear),
            0x04 => Some(ProutAction::Preempt),
            0x05 => Some(ProutAction::PreemptAndAbort),
            0x06 => Some(ProutAction::RegisterAndIgnore),
            0x07 => Some(ProutAction::RegisterAndMove),
            _ => None,
        }
    }
}

/// PERSISTENT RESERVE IN service actions (SPC-4 table 162).
const PRIN_READ_KEYS: u8 = 0x00;
const PRIN_READ_RESERVATION: u8 = 0x01;
const PRIN_REPORT_CAPABILITIES: u8 = 0x02;
const PRIN_READ_FULL_STATUS: u8 = 0x03;

/// The command must be completed with RESERVATION CONFLICT status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Conflict;

/// Why a reservation command failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PrError {
    /// Complete with RESERVATION CONFLICT status.
    Conflict,
    /// Complete with CHECK CONDITION and this sense.
    Check(Sense),
}

impl From<Sense> for PrError {
    fn from(s: Sense) -> Self {
        PrError::Check(s)
    }
}

impl From<Conflict> for PrError {
    fn from(_: Conflict) -> Self {
        PrError::Conflict
    }
}

/// Receives the effects a reservation command has on other I_T nexuses.
pub trait PrSink {
    /// Establish a unit attention condition for `to` (RESERVATIONS PREEMPTED, RESERVATIONS
    /// RELEASED or REGISTRATIONS PREEMPTED).
    fn unit_attention(&mut self, to: &PrNexus, asc: Asc);
    /// Abort every task of `of` on this logical unit (PREEMPT AND ABORT).
    fn abort_tasks(&mut self, of: &PrNexus);
}

/// One registered I_T nexus.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Registration {
    nexus: PrNexus,
    key: u64,
    /// Made with ALL_TG_PT=1 (reported in READ FULL STATUS).
    all_tg_pt: bool,
    /// Inserted by the SPEC_I_PT/ALL_TG_PT registration in progress; rolled back if it
    /// cannot complete (all or nothing, SPC-4 6.16.3).
    pending: bool,
}

/// The persistent reservation of the logical unit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Reservation {
    ty: PrType,
    /// The holder for non-All-Registrants types; `None` for All Registrants (every
    /// registrant holds it).
    holder: Option<PrNexus>,
}

/// Persistent-reservation and SPC-2 reservation state of one logical unit, with room for
/// `N` registered I_T nexuses.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PrState<const N: usize> {
    regs: [Option<Registration>; N],
    reservation: Option<Reservation>,
    generation: u32,
    aptpl: bool,
    spc2_holder: Option<PrNexus>,
}

/// The table size the core uses per logical unit.
pub type PrTable = PrState<64>;

impl<const N: usize> Default for PrState<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Big-endian field readers; callers check lengths first, out-of-range reads give 0.
fn be16(s: &[u8], at: usize) -> u16 {
    let mut b = [0u8; 2];
    if let Some(src) = s.get(at..at.saturating_add(2)) {
        b.copy_from_slice(src);
    }
    u16::from_be_bytes(b)
}
fn be32(s: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(src) = s.get(at..at.saturating_add(4)) {
        b.copy_from_slice(src);
    }
    u32::from_be_bytes(b)
}
fn be64(s: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(src) = s.get(at..at.saturating_add(8)) {
        b.copy_from_slice(src);
    }
    u64::from_be_bytes(b)
}
fn byte(s: &[u8], at: usize) -> u8 {
    s.get(at).copied().unwrap_or(0)
}
fn to_u16(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn param_list_length_error() -> Sense {
    Sense::new(SenseKey::IllegalRequest, Asc::PARAMETER_LIST_LENGTH_ERROR)
}
fn insufficient_resources() -> Sense {
    Sense::new(
        SenseKey::IllegalRequest,
        Asc::INSUFFICIENT_REGISTRATION_RESOURCES,
    )
}
fn invalid_release() -> Sense {
    Sense::new(SenseKey::IllegalRequest, Asc::INVALID_RELEASE_OF_PR)
}

/// Validates a list of FC TransportIDs (`list` starts at byte `base` of the parameter data).
fn validate_transport_ids(list: &[u8], base: usize) -> Result<(), Sense> {
    let mut off = 0usize;
    while off < list.len() {
        let at = base.saturating_add(off);
        parse_fc_transport_id(list.get(off..).unwrap_or(&[]), at)?;
        off = off.saturating_add(FC_TRANSPORT_ID_LEN);
    }
    Ok(())
}

/// Parses one FC TransportID at the start of `tid` (byte `at` of the parameter data).
fn parse_fc_transport_id(tid: &[u8], at: usize) -> Result<Wwpn, Sense> {
    if tid.len() < FC_TRANSPORT_ID_LEN {
        // A truncated TransportID (SPC-4 6.16.3).
        return Err(Sense::invalid_param_field(to_u16(at), None));
    }
    let b0 = byte(tid, 0);
    if b0 & 0xc0 != 0 {
        return Err(Sense::invalid_param_field(to_u16(at), Some(7)));
    }
    if b0 & 0x0f != PROTOCOL_ID_FCP {
        return Err(Sense::invalid_param_field(to_u16(at), Some(3)));
    }
    Ok(Wwpn(be64(tid, 8)))
}

/// Writes a response up to the buffer's end while counting its full length.
struct Writer<'a> {
    out: &'a mut [u8],
    total: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.out.get_mut(self.total) {
                *slot = b;
            }
            self.total = self.total.saturating_add(1);
        }
    }
    fn zeros(&mut self, n: usize) {
        for _ in 0..n {
            self.put(&[0]);
        }
    }
}

/// Decoded fields of a basic PERSISTENT RESERVE OUT parameter list.
struct BasicParams<'a> {
    res_key: u64,
    sa_key: u64,
    spec_i_pt: bool,
    all_tg_pt: bool,
    aptpl: bool,
    /// The TransportIDs when SPEC_I_PT=1 (validated, a multiple of 24 bytes).
    tids: &'a [u8],
}

/// Byte offset of the first TransportID in a SPEC_I_PT parameter list.
const SPEC_I_PT_TIDS_AT: usize = 28;
/// Byte offset of the TransportID in a REGISTER AND MOVE parameter list.
const MOVE_TID_AT: usize = 24;

impl<const N: usize> PrState<N> {
    /// An empty state: no registrations, no reservation, PRgeneration 0, APTPL off.
    pub const fn new() -> Self {
        PrState {
            regs: [None; N],
            reservation: None,
            generation: 0,
            aptpl: false,
            spc2_holder: None,
        }
    }

    // ----- queries -------------------------------------------------------------------

    /// The PRgeneration counter.
    pub fn generation(&self) -> u32 {
        self.generation
    }
    /// Whether the last valid APTPL bit received was one (state must persist power loss).
    pub fn aptpl(&self) -> bool {
        self.aptpl
    }
    /// The reservation key registered for `nexus`, if any.
    pub fn key_of(&self, nexus: &PrNexus) -> Option<u64> {
        self.find(nexus)
            .and_then(|i| self.regs.get(i))
            .and_then(|r| r.map(|r| r.key))
    }
    /// Number of registered I_T nexuses.
    pub fn registration_count(&self) -> usize {
        self.regs.iter().filter(|r| r.is_some()).count()
    }
    /// Every registered I_T nexus with its key, in table order.
    pub fn registrations(&self) -> impl Iterator<Item = (PrNexus, u64)> + '_ {
        self.regs.iter().flatten().map(|r| (r.nexus, r.key))
    }
    /// The persistent reservation, if any: its type and holder (`None` holder for All
    /// Registrants types).
    pub fn reservation(&self) -> Option<(PrType, Option<PrNexus>)> {
        self.reservation.map(|r| (r.ty, r.holder))
    }
    /// The I_T nexus holding an SPC-2 reservation, if any.
    pub fn spc2_holder(&self) -> Option<PrNexus> {
        self.spc2_holder
    }
    /// Whether `nexus` is a persistent reservation holder (SPC-4 5.13.10).
    pub fn is_holder(&self, nexus: &PrNexus) -> bool {
        match self.reservation {
            None => false,
            Some(Reservation {
                holder: Some(h), ..
            }) => h == *nexus,
            Some(Reservation { holder: None, .. }) => self.find(nexus).is_some(),
        }
    }

    // ----- events --------------------------------------------------------------------

    /// A logical unit reset: releases the SPC-2 reservation; persistent reservations and
    /// registrations are unaffected.
    pub fn on_lu_reset(&mut self) {
        self.spc2_holder = None;
    }
    /// An I_T nexus loss: releases that nexus's SPC-2 reservation; persistent reservations
    /// are unaffected.
    pub fn on_nexus_loss(&mut self, nexus: &PrNexus) {
        if self.spc2_holder == Some(*nexus) {
            self.spc2_holder = None;
        }
    }
    /// Power on: releases the SPC-2 reservation, sets PRgeneration to zero and, unless APTPL
    /// is active, removes every registration and the persistent reservation.
    pub fn on_power_on(&mut self) {
        self.spc2_holder = None;
        self.generation = 0;
        if !self.aptpl {
            self.clear_registrations();
            self.reservation = None;
        }
    }

    // ----- table helpers -------------------------------------------------------------

    fn find(&self, nexus: &PrNexus) -> Option<usize> {
        self.regs
            .iter()
            .position(|r| matches!(r, Some(r) if r.nexus == *nexus))
    }
    fn free_slots(&self) -> usize {
        self.regs.iter().filter(|r| r.is_none()).count()
    }
    fn insert(&mut self, reg: Registration) -> bool {
        match self.regs.iter_mut().find(|r| r.is_none()) {
            Some(slot) => {
                *slot = Some(reg);
                true
            }
            None => false,
        }
    }
    fn remove(&mut self, nexus: &PrNexus) {
        if let Some(slot) = self
            .regs
            .iter_mut()
            .find(|r| matches!(r, Some(r) if r.nexus == *nexus))
        {
            *slot = None;
        }
    }
    /// Empties the table in place (no `[None; N]` temporary on the kernel stack).
    fn clear_registrations(&mut self) {
        for slot in self.regs.iter_mut() {
            *slot = None;
        }
    }
    fn bump_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
    /// Drops a reservation whose holder is gone: a non-All-Registrants holder that is no
    /// longer registered, or an All Registrants reservation without registrants.
    fn settle_reservation(&mut self) {
        let keep = match self.reservation {
            None => true,
            Some(Reservation {
                holder: Some(h), ..
            }) => self.find(&h).is_some(),
            Some(Reservation { holder: None, .. }) => self.registration_count() > 0,
        };
        if !keep {
            self.reservation = None;
        }
    }
    /// Unit attention to every registered I_T nexus except `except`.
    fn ua_registrants(&self, except: &PrNexus, asc: Asc, sink: &mut impl PrSink) {
        for r in self.regs.iter().flatten() {
            if r.nexus != *except {
                sink.unit_attention(&r.nexus, asc);
            }
        }
    }

    // ----- conflict check ------------------------------------------------------------

    /// Whether `cdb` from `nexus` may run given the SPC-2 reservation and the persistent
    /// reservation (SPC-4 5.13.1 / table 66, SBC-3 4.17 / table 13, PERSISTENT RESERVE OUT
    /// per SPC-4 table 67). RESERVE(6/10) and RELEASE(6/10) pass here whenever no SPC-2
    /// reservation of another nexus blocks them: [`PrState::reserve_spc2`] and
    /// [`PrState::release_spc2`] apply the CRH rules themselves.
    pub fn check(&self, nexus: &PrNexus, cdb: &[u8]) -> Result<(), Conflict> {
        if self.spc2_conflict(nexus, cdb) {
            return Err(Conflict);
        }
        let Some(res) = self.reservation else {
            return Ok(());
        };
        if self.is_holder(nexus) {
            return Ok(());
        }
        let registered = self.find(nexus).is_some();
        if conflict::pr_allows(res.ty, registered, cdb) {
            Ok(())
        } else {
            Err(Conflict)
        }
    }

    /// An SPC-2 reservation held by another nexus blocks this command.
    fn spc2_conflict(&self, nexus: &PrNexus, cdb: &[u8]) -> bool {
        match self.spc2_holder {
            Some(h) if h != *nexus => !conflict::spc2_allows(cdb),
            _ => false,
        }
    }

    // ----- PERSISTENT RESERVE IN -----------------------------------------------------

    /// Executes PERSISTENT RESERVE IN. Writes at most `min(out.len(), ALLOCATION LENGTH)`
    /// bytes and returns the length of the full response (which may be larger); the caller
    /// transfers `min(returned, ALLOCATION LENGTH, out.len())` bytes.
    pub fn reserve_in(&self, nexus: &PrNexus, cdb: &[u8], out: &mut [u8]) -> Result<usize, Sense> {
        let _ = nexus; // every service action reports the same data to every nexus
        if cdb.first() != Some(&PERSISTENT_RESERVE_IN) {
            return Err(Sense::invalid_opcode());
        }
        if cdb.len() < 10 {
            return Err(Sense::invalid_cdb_field(0, None));
        }
        let sa = byte(cdb, 1) & 0x1f;
        let alloc = usize::from(be16(cdb, 7));
        let limit = alloc.min(out.len());
        let mut w = Writer {
            out: out.get_mut(..limit).unwrap_or(&mut []),
            total: 0,
        };
        match sa {
            PRIN_READ_KEYS => {
                w.put(&self.generation.to_be_bytes());
                let len = self.registration_count().saturating_mul(8);
                w.put(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
                for r in self.regs.iter().flatten() {
                    w.put(&r.key.to_be_bytes());
                }
            }
            PRIN_READ_RESERVATION => {
                w.put(&self.generation.to_be_bytes());
                match self.reservation {
                    None => w.put(&0u32.to_be_bytes()),
                    Some(res) => {
                        w.put(&16u32.to_be_bytes());
                        // All Registrants: the reservation key is zero (SPC-4 6.15.3.3).
                        let key = res.holder.and_then(|h| self.key_of(&h)).unwrap_or(0);
                        w.put(&key.to_be_bytes());
                        w.zeros(4); // obsolete
                        w.zeros(1); // reserved
                        w.put(&[res.ty.code()]); // scope LU_SCOPE (0) | type
                        w.zeros(2); // obsolete
                    }
                }
            }
            PRIN_REPORT_CAPABILITIES => {
                w.put(&8u16.to_be_bytes());
                // CRH | SIP_C | ATP_C | PTPL_C
                w.put(&[0x10 | 0x08 | 0x04 | 0x01]);
                // TMV | ALLOW COMMANDS 011b (TEST UNIT READY through every type, the read-only
                // SPC commands through Write Exclusive types) | PTPL_A
                w.put(&[0x80 | 0x30 | u8::from(self.aptpl)]);
                // WR_EX_AR | EX_AC_RO | WR_EX_RO | EX_AC | WR_EX, then EX_AC_AR
                w.put(&[0x80 | 0x40 | 0x20 | 0x08 | 0x02, 0x01]);
                w.zeros(2);
            }
            PRIN_READ_FULL_STATUS => {
                const DESCRIPTOR_LEN: usize = 24 + FC_TRANSPORT_ID_LEN;
                w.put(&self.generation.to_be_bytes());
                let len = self.registration_count().saturating_mul(DESCRIPTOR_LEN);
                w.put(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
                for r in self.regs.iter().flatten() {
                    w.put(&r.key.to_be_bytes());
                    w.zeros(4);
                    let holder = self.is_holder(&r.nexus);
                    w.put(&[(u8::from(r.all_tg_pt) << 1) | u8::from(holder)]);
                    let scope_type = match self.reservation {
                        Some(res) if holder => res.ty.code(),
                        _ => 0,
                    };
                    w.put(&[scope_type]);
                    w.zeros(4);
                    w.put(&r.nexus.rel_port.to_be_bytes());
                    w.put(&(FC_TRANSPORT_ID_LEN as u32).to_be_bytes());
                    // FC TransportID: FORMAT CODE 00b, PROTOCOL IDENTIFIER 0h, N_PORT_NAME.
                    w.put(&[PROTOCOL_ID_FCP]);
                    w.zeros(7);
                    w.put(&r.nexus.initiator.to_be_bytes());
                    w.zeros(8);
                }
            }
            _ => return Err(Sense::invalid_cdb_field(1, Some(4))),
        }
        Ok(w.total)
    }

    // ----- PERSISTENT RESERVE OUT ----------------------------------------------------

    /// Executes PERSISTENT RESERVE OUT received on `nexus`. `rel_ports` lists the relative
    /// target port identifiers through which the logical unit is reachable (ALL_TG_PT and
    /// REGISTER AND MOVE destinations); `params` is the data-out buffer (at least PARAMETER
    /// LIST LENGTH bytes). On error nothing changed and the sink was not called.
    pub fn reserve_out(
        &mut self,
        nexus: &PrNexus,
        rel_ports: &[u16],
        cdb: &[u8],
        params: &[u8],
        sink: &mut impl PrSink,
    ) -> Result<(), PrError> {
        if cdb.first() != Some(&PERSISTENT_RESERVE_OUT) {
            return Err(Sense::invalid_opcode().into());
        }
        if cdb.len() < 10 {
            return Err(Sense::invalid_cdb_field(0, None).into());
        }
        let action = ProutAction::from_code(byte(cdb, 1) & 0x1f)
            .ok_or(Sense::invalid_cdb_field(1, Some(4)))?;
        let plen = usize::try_from(be32(cdb, 5)).map_err(|_| param_list_length_error())?;
        let params = params.get(..plen).ok_or(param_list_length_error())?;
        if self.spc2_conflict(nexus, cdb) {
            return Err(PrError::Conflict);
        }
        if action == ProutAction::RegisterAndMove {
            return self.register_and_move(nexus, rel_ports, params, sink);
        }
        let p = Self::parse_basic(action, params)?;
        let scope_type = byte(cdb, 2);
        match action {
            ProutAction::Register | ProutAction::RegisterAndIgnore => {
                self.register(nexus, rel_ports, action, &p, sink)
            }
            ProutAction::Reserve => self.reserve(nexus, scope_type, p.res_key),
            ProutAction::Release => self.release(nexus, scope_type, p.res_key, sink),
            ProutAction::Clear => self.clear(nexus, p.res_key, sink),
            ProutAction::Preempt | ProutAction::PreemptAndAbort => self.preempt(
                nexus,
                scope_type,
                p.res_key,
                p.sa_key,
                action == ProutAction::PreemptAndAbort,
                sink,
            ),
            ProutAction::RegisterAndMove => Err(PrError::Conflict), // handled above
        }
    }

    /// Checks the basic parameter list's length and SPEC_I_PT TransportIDs (SPC-4 6.16.3).
    fn parse_basic(action: ProutAction, params: &[u8]) -> Result<BasicParams<'_>, Sense> {
        if params.len() < BASIC_PARAMS_LEN {
            return Err(param_list_length_error());
        }
        let flags = byte(params, 20);
        let spec_i_pt = flags & 0x08 != 0;
        let mut tids: &[u8] = &[];
        if spec_i_pt {
            if action != ProutAction::Register {
                return Err(Sense::invalid_param_field(20, Some(3)));
            }
            if params.len() < SPEC_I_PT_TIDS_AT {
                return Err(param_list_length_error());
            }
            let tpdl = usize::try_from(be32(params, 24)).unwrap_or(usize::MAX);
            if SPEC_I_PT_TIDS_AT.checked_add(tpdl) != Some(params.len()) {
                return Err(param_list_length_error());
            }
            tids = params.get(SPEC_I_PT_TIDS_AT..).unwrap_or(&[]);
            validate_transport_ids(tids, SPEC_I_PT_TIDS_AT)?;
        } else if params.len() != BASIC_PARAMS_LEN {
            return Err(param_list_length_error());
        }
        Ok(BasicParams {
            res_key: be64(params, 0),
            sa_key: be64(params, 8),
            spec_i_pt,
            all_tg_pt: flags & 0x04 != 0,
            aptpl: flags & 0x01 != 0,
            tids,
        })
    }

    /// REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.13.7, tables 47/48).
    fn register(
        &mut self,
        nexus: &PrNexus,
        rel_ports: &[u16],
        action: ProutAction,
        p: &BasicParams<'_>,
        sink: &mut impl PrSink,
    ) -> Result<(), PrError> {
        let ignore_key = action == ProutAction::RegisterAndIgnore;
        let Some(idx) = self.find(nexus) else {
            if !ignore_key && p.res_key != 0 {
                return Err(PrError::Conflict);
            }
            if p.sa_key == 0 {
                return Ok(()); // nothing to register: GOOD, no state change
            }
            self.register_new(nexus, rel_ports, p)?;
            self.aptpl = p.aptpl;
            self.bump_generation();
            return Ok(());
        };
        let current = self
            .regs
            .get(idx)
            .copied()
            .flatten()
            .map(|r| r.key)
            .unwrap_or(0);
        if !ignore_key && p.res_key != current {
            return Err(PrError::Conflict);
        }
        if p.spec_i_pt {
            return Err(Sense::invalid_param_field(20, Some(3)).into());
        }
        if p.sa_key != 0 {
            if let Some(Some(r)) = self.regs.get_mut(idx) {
                r.key = p.sa_key;
            }
        } else {
            self.unregister(nexus, sink);
        }
        self.aptpl = p.aptpl;
        self.bump_generation();
        Ok(())
    }

    /// Registers an unregistered `nexus` (plus SPEC_I_PT TransportIDs and ALL_TG_PT ports)
    /// all or nothing.
    fn register_new(
        &mut self,
        nexus: &PrNexus,
        rel_ports: &[u16],
        p: &BasicParams<'_>,
    ) -> Result<(), Sense> {
        let mut ok = self.add_pending(nexus.initiator, nexus.rel_port, rel_ports, p);
        let mut tids = p.tids.chunks_exact(FC_TRANSPORT_ID_LEN);
        while ok {
            let Some(tid) = tids.next() else { break };
            let wwpn = Wwpn(be64(tid, 8));
            ok = self.add_pending(wwpn, nexus.rel_port, rel_ports, p);
        }
        for slot in self.regs.iter_mut() {
            if let Some(r) = slot {
                if r.pending {
                    if ok {
                        r.pending = false;
                    } else {
                        *slot = None;
                    }
                }
            }
        }
        if ok {
            Ok(())
        } else {
            Err(insufficient_resources())
        }
    }

    /// Adds pending registrations of `initiator` through `own_port` (and every port in
    /// `rel_ports` if ALL_TG_PT); already registered nexuses are left as they are.
    fn add_pending(
        &mut self,
        initiator: Wwpn,
        own_port: u16,
        rel_ports: &[u16],
        p: &BasicParams<'_>,
    ) -> bool {
        let extra: &[u16] = if p.all_tg_pt { rel_ports } else { &[] };
        for port in core::iter::once(own_port).chain(extra.iter().copied()) {
            let n = PrNexus {
                initiator,
                rel_port: port,
            };
            if self.find(&n).is_some() {
                continue;
            }
            let reg = Registration {
                nexus: n,
                key: p.sa_key,
                all_tg_pt: p.all_tg_pt,
                pending: true,
            };
            if !self.insert(reg) {
                return false;
            }
        }
        true
    }

    /// Removes `nexus`'s registration with the reservation side effects of SPC-4 5.13.11.3.
    fn unregister(&mut self, nexus: &PrNexus, sink: &mut impl PrSink) {
        let released = match self.reservation {
            Some(Reservation {
                holder: Some(h),
                ty,
            }) if h == *nexus => Some(ty),
            _ => None,
        };
        self.remove(nexus);
        self.settle_reservation();
        if let Some(ty) = released {
            if ty.registrants_only() {
                self.ua_registrants(nexus, Asc::RESERVATIONS_RELEASED, sink);
            }
        }
    }

    /// Checks that `nexus` is registered with `res_key`.
    fn verify_key(&self, nexus: &PrNexus, res_key: u64) -> Result<(), PrError> {
        match self.key_of(nexus) {
            Some(k) if k == res_key => Ok(()),
            _ => Err(PrError::Conflict),
        }
    }

    /// Decodes SCOPE (must be LU_SCOPE) and TYPE of CDB byte 2.
    fn scope_type(scope_type: u8) -> Result<PrType, Sense> {
        if scope_type & 0xf0 != 0 {
            return Err(Sense::invalid_cdb_field(2, Some(7)));
        }
        PrType::from_code(scope_type & 0x0f).ok_or(Sense::invalid_cdb_field(2, Some(3)))
    }

    /// RESERVE (SPC-4 5.13.9).
    fn reserve(&mut self, nexus: &PrNexus, scope_type: u8, res_key: u64) -> Result<(), PrError> {
        let ty = Self::scope_type(scope_type)?;
        self.verify_key(nexus, res_key)?;
        match self.reservation {
            Some(res) if self.is_holder(nexus) => {
                if res.ty == ty {
                    Ok(())
                } else {
                    Err(PrError::Conflict)
                }
            }
            Some(_) => Err(PrError::Conflict),
            None => {
                let holder = if ty.all_registrants() {
                    None
                } else {
                    Some(*nexus)
                };
                self.reservation = Some(Reservation { ty, holder });
                Ok(())
            }
        }
    }

    /// RELEASE (SPC-4 5.13.11.2).
    fn release(
        &mut self,
        nexus: &PrNexus,
        scope_type: u8,
        res_key: u64,
        sink: &mut impl PrSink,
    ) -> Result<(), PrError> {
        self.verify_key(nexus, res_key)?;
        let Some(res) = self.reservation else {
            return Ok(());
        };
        if !self.is_holder(nexus) {
            return Ok(());
        }
        if scope_type != res.ty.code() {
            return Err(invalid_release().into());
        }
        self.reservation = None;
        if res.ty.registrants_only() || res.ty.all_registrants() {
            self.ua_registrants(nexus, Asc::RESERVATIONS_RELEASED, sink);
        }
        Ok(())
    }

    /// CLEAR (SPC-4 5.13.11.6).
    fn clear(
        &mut self,
        nexus: &PrNexus,
        res_key: u64,
        sink: &mut impl PrSink,
    ) -> Result<(), PrError> {
        self.verify_key(nexus, res_key)?;
        self.ua_registrants(nexus, Asc::RESERVATIONS_PREEMPTED, sink);
        self.reservation = None;
        self.clear_registrations();
        self.bump_generation();
        Ok(())
    }

    /// PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4, figure 7).
    fn preempt(
        &mut self,
        nexus: &PrNexus,
        scope_type: u8,
        res_key: u64,
        sa_key: u64,
        abort: bool,
        sink: &mut impl PrSink,
    ) -> Result<(), PrError> {
        self.verify_key(nexus, res_key)?;
        let holder_key = match self.reservation {
            Some(Reservation {
                holder: Some(h), ..
            }) => self.key_of(&h),
            _ => None,
        };
        match self.reservation {
            Some(res) if res.ty.all_registrants() && sa_key == 0 => {
                // Preempt an All Registrants reservation: everybody else loses registration.
                let ty = Self::scope_type(scope_type)?;
                self.remove_preempted(nexus, |_| true, abort, sink);
                self.establish_after_preempt(nexus, res.ty, ty, sink);
            }
            Some(res) if !res.ty.all_registrants() && holder_key == Some(sa_key) => {
                // The key names the holder: take over its reservation.
                let ty = Self::scope_type(scope_type)?;
                self.remove_preempted(nexus, |k| k == sa_key, abort, sink);
                self.establish_after_preempt(nexus, res.ty, ty, sink);
            }
            _ => {
                // Remove registrations only (SPC-4 5.13.11.4.4); SCOPE and TYPE are ignored.
                if sa_key == 0 {
                    return Err(Sense::invalid_param_field(8, None).into());
                }
                if !self.regs.iter().flatten().any(|r| r.key == sa_key) {
                    return Err(PrError::Conflict);
                }
                for i in 0..N {
                    let Some(Some(r)) = self.regs.get(i).copied() else {
                        continue;
                    };
                    if r.key != sa_key {
                        continue;
                    }
                    if let Some(slot) = self.regs.get_mut(i) {
                        *slot = None;
                    }
                    if r.nexus != *nexus {
                        sink.unit_attention(&r.nexus, Asc::REGISTRATIONS_PREEMPTED);
                        if abort {
                            sink.abort_tasks(&r.nexus);
                        }
                    }
                }
                self.settle_reservation();
            }
        }
        self.bump_generation();
        Ok(())
    }

    /// Removes every registration except `nexus`'s whose key satisfies `matches`, with
    /// REGISTRATIONS PREEMPTED (and aborted tasks for PREEMPT AND ABORT).
    fn remove_preempted(
        &mut self,
        nexus: &PrNexus,
        matches: impl Fn(u64) -> bool,
        abort: bool,
        sink: &mut impl PrSink,
    ) {
        for slot in self.regs.iter_mut() {
            let Some(r) = *slot else { continue };
            if r.nexus == *nexus || !matches(r.key) {
                continue;
            }
            *slot = None;
            sink.unit_attention(&r.nexus, Asc::REGISTRATIONS_PREEMPTED);
            if abort {
                sink.abort_tasks(&r.nexus);
            }
        }
    }

    /// The preempting nexus now holds a reservation of type `new`; if the type changed,
    /// the remaining registrants learn that the old one was released.
    fn establish_after_preempt(
        &mut self,
        nexus: &PrNexus,
        old: PrType,
        new: PrType,
        sink: &mut impl PrSink,
    ) {
        let holder = if new.all_registrants() {
            None
        } else {
            Some(*nexus)
        };
        self.reservation = Some(Reservation { ty: new, holder });
        if old != new {
            self.ua_registrants(nexus, Asc::RESERVATIONS_RELEASED, sink);
        }
    }

    /// REGISTER AND MOVE (SPC-4 5.13.8, table 49; parameter list 6.16.4).
    fn register_and_move(
        &mut self,
        nexus: &PrNexus,
        rel_ports: &[u16],
        params: &[u8],
        sink: &mut impl PrSink,
    ) -> Result<(), PrError> {
        let _ = sink; // moving raises no unit attention
        if params.len() < MOVE_TID_AT {
            return Err(param_list_length_error().into());
        }
        let tid_len = usize::try_from(be32(params, 20)).unwrap_or(usize::MAX);
        if MOVE_TID_AT.checked_add(tid_len) != Some(params.len()) {
            return Err(param_list_length_error().into());
        }
        let tid = params.get(MOVE_TID_AT..).unwrap_or(&[]);
        let dest_wwpn = parse_fc_transport_id(tid, MOVE_TID_AT)?;
        if tid_len != FC_TRANSPORT_ID_LEN {
            // Exactly one TransportID.
            return Err(Sense::invalid_param_field(20, None).into());
        }
        let res_key = be64(params, 0);
        let sa_key = be64(params, 8);
        let unreg = byte(params, 17) & 0x02 != 0;
        let aptpl = byte(params, 17) & 0x01 != 0;
        let dest_port = be16(params, 18);

        self.verify_key(nexus, res_key)?;
        if sa_key == 0 {
            return Err(Sense::invalid_param_field(8, None).into());
        }
        let Some(res) = self.reservation else {
            return Err(Sense::invalid_cdb_field(1, Some(4)).into());
        };
        if res.ty.all_registrants() || !self.is_holder(nexus) {
            return Err(PrError::Conflict);
        }
        if dest_wwpn == nexus.initiator {
            return Err(Sense::invalid_param_field(to_u16(MOVE_TID_AT + 8), None).into());
        }
        if !rel_ports.contains(&dest_port) {
            return Err(Sense::invalid_param_field(18, None).into());
        }
        let dest = PrNexus {
            initiator: dest_wwpn,
            rel_port: dest_port,
        };
        let dest_idx = self.find(&dest);
        if dest_idx.is_none() && self.free_slots() == 0 && !unreg {
            return Err(insufficient_resources().into());
        }
        // Validated: from here on nothing fails.
        if unreg {
            self.remove(nexus);
        }
        match dest_idx.and_then(|i| self.regs.get_mut(i)) {
            Some(Some(r)) => r.key = sa_key,
            _ => {
                let reg = Registration {
                    nexus: dest,
                    key: sa_key,
                    all_tg_pt: false,
                    pending: false,
                };
                // Room was checked above (or freed by UNREG).
                let _ = self.insert(reg);
            }
        }
        self.reservation = Some(Reservation {
            ty: res.ty,
            holder: Some(dest),
        });
        self.aptpl = aptpl;
        self.bump_generation();
        Ok(())
    }

    // ----- SPC-2 RESERVE / RELEASE ---------------------------------------------------

    /// Decodes RESERVE(6/10) or RELEASE(6/10), rejecting third-party, LONGID, extent and
    /// parameter-list forms Ferrule does not implement.
    fn validate_spc2_cdb(cdb: &[u8], six: u8, ten: u8) -> Result<(), PrError> {
        let op = cdb.first().copied();
        if op == Some(six) {
            if cdb.len() < 6 {
                return Err(Sense::invalid_cdb_field(0, None).into());
            }
            if byte(cdb, 1) & 0x10 != 0 {
                return Err(Sense::invalid_cdb_field(1, Some(4)).into());
            }
            if byte(cdb, 1) & 0x01 != 0 {
                return Err(Sense::invalid_cdb_field(1, Some(0)).into());
            }
            if be16(cdb, 3) != 0 {
                return Err(Sense::invalid_cdb_field(3, Some(7)).into());
            }
            Ok(())
        } else if op == Some(ten) {
            if cdb.len() < 10 {
                return Err(Sense::invalid_cdb_field(0, None).into());
            }
            if byte(cdb, 1) & 0x10 != 0 {
                return Err(Sense::invalid_cdb_field(1, Some(4)).into());
            }
            if byte(cdb, 1) & 0x02 != 0 {
                return Err(Sense::invalid_cdb_field(1, Some(1)).into());
            }
            if byte(cdb, 1) & 0x01 != 0 {
                return Err(Sense::invalid_cdb_field(1, Some(0)).into());
            }
            if be16(cdb, 7) != 0 {
                return Err(Sense::invalid_cdb_field(7, Some(7)).into());
            }
            Ok(())
        } else {
            Err(Sense::invalid_opcode().into())
        }
    }

    /// With registrations present, SPC-2 RESERVE/RELEASE conflict except from a
    /// reservation holder or a registrant under a Registrants Only / All Registrants
    /// reservation, where they complete with GOOD and change nothing (CRH=1, SPC-4 5.13.3).
    /// `Some(result)` when persistent reservations decide the command.
    fn crh_outcome(&self, nexus: &PrNexus) -> Option<Result<(), PrError>> {
        if self.registration_count() == 0 {
            return None;
        }
        let registered = self.find(nexus).is_some();
        let exempt = match self.reservation {
            Some(res) => {
                self.is_holder(nexus)
                    || (registered && (res.ty.registrants_only() || res.ty.all_registrants()))
            }
            None => false,
        };
        Some(if exempt {
            Ok(())
        } else {
            Err(PrError::Conflict)
        })
    }

    /// Executes RESERVE(6) or RESERVE(10) (SPC-2 7.21/7.22, logical unit reservation).
    pub fn reserve_spc2(&mut self, nexus: &PrNexus, cdb: &[u8]) -> Result<(), PrError> {
        Self::validate_spc2_cdb(cdb, RESERVE_6, RESERVE_10)?;
        if let Some(outcome) = self.crh_outcome(nexus) {
            return outcome;
        }
        match self.spc2_holder {
            Some(h) if h != *nexus => Err(PrError::Conflict),
            _ => {
                self.spc2_holder = Some(*nexus);
                Ok(())
            }
        }
    }

    /// Executes RELEASE(6) or RELEASE(10): releases the SPC-2 reservation if `nexus`
    /// holds it; from any other nexus it completes with GOOD and changes nothing.
    pub fn release_spc2(&mut self, nexus: &PrNexus, cdb: &[u8]) -> Result<(), PrError> {
        Self::validate_spc2_cdb(cdb, RELEASE_6, RELEASE_10)?;
        if let Some(outcome) = self.crh_outcome(nexus) {
            return outcome;
        }
        if self.spc2_holder == Some(*nexus) {
            self.spc2_holder = None;
        }
        Ok(())
    }
}
