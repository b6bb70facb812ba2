//! Which commands a reservation lets through (SPC-4 table 66 "SPC commands that are allowed
//! in the presence of various reservations", table 67 for PERSISTENT RESERVE OUT, SBC-3
//! table 13 for block commands, and the SPC-2 reservation exceptions).

use super::{
    PrType, ProutAction, PERSISTENT_RESERVE_OUT, RELEASE_10, RELEASE_6, RESERVE_10, RESERVE_6,
};

/// How a command behaves towards a persistent reservation held by another I_T nexus.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Access {
    /// Allowed whatever the reservation type.
    Always,
    /// Reads (no medium or state change): allowed through Write Exclusive types, and
    /// through Exclusive Access Registrants Only/All Registrants from registered nexuses.
    Read,
    /// Everything else: conflicts except from registered nexuses under Registrants Only /
    /// All Registrants types.
    Write,
    /// PERSISTENT RESERVE OUT: decided by service action (SPC-4 table 67).
    PersistentReserveOut,
    /// RESERVE/RELEASE(6/10): decided by the CRH rules in `reserve_spc2`/`release_spc2`.
    Spc2,
}

fn service_action(cdb: &[u8]) -> u8 {
    cdb.get(1).copied().unwrap_or(0) & 0x1f
}

/// Classifies a CDB. Unknown commands are treated as [`Access::Write`] (the safe side).
pub(super) fn classify(cdb: &[u8]) -> Access {
    let Some(&op) = cdb.first() else {
        return Access::Always; // nothing to run; the CDB decoder rejects it
    };
    match op {
        // TEST UNIT READY, REQUEST SENSE, INQUIRY, LOG SENSE, PERSISTENT RESERVE IN,
        // READ CAPACITY(10), ACCESS CONTROL IN/OUT, REPORT LUNS.
        0x00 | 0x03 | 0x12 | 0x4d | 0x5e | 0x25 | 0x86 | 0x87 | 0xa0 => Access::Always,
        PERSISTENT_RESERVE_OUT => Access::PersistentReserveOut,
        RESERVE_6 | RELEASE_6 | RESERVE_10 | RELEASE_10 => Access::Spc2,
        // PREVENT ALLOW MEDIUM REMOVAL: allowed only with PREVENT = 0.
        0x1e => {
            if cdb.get(4).copied().unwrap_or(0) & 0x03 == 0 {
                Access::Always
            } else {
                Access::Write
            }
        }
        // START STOP UNIT: allowed only with START = 1 and POWER CONDITION = 0.
        0x1b => {
            if cdb.get(4).copied().unwrap_or(0) & 0xf1 == 0x01 {
                Access::Always
            } else {
                Access::Write
            }
        }
        // READ(6/10/12/16), VERIFY(10/12/16), PRE-FETCH(10/16), READ DEFECT DATA(10/12),
        // MODE SENSE(6/10), READ BUFFER, RECEIVE DIAGNOSTIC RESULTS, READ ATTRIBUTE,
        // RECEIVE COPY RESULTS, SECURITY PROTOCOL IN.
        0x08 | 0x28 | 0xa8 | 0x88 | 0x2f | 0xaf | 0x8f | 0x34 | 0x90 | 0x37 | 0xb7 | 0x1a
        | 0x5a | 0x3c | 0x1c | 0x8c | 0x84 | 0xa2 => Access::Read,
        // EXTENDED COPY family: POPULATE TOKEN only reads.
        0x83 => {
            if service_action(cdb) == 0x10 {
                Access::Read
            } else {
                Access::Write
            }
        }
        // SERVICE ACTION IN(16).
        0x9e => match service_action(cdb) {
            0x10 => Access::Always,      // READ CAPACITY(16)
            0x12 | 0x13 => Access::Read, // GET LBA STATUS, REPORT REFERRALS
            _ => Access::Write,          // READ LONG(16) and unknown
        },
        // SERVICE ACTION IN(12): READ MEDIA SERIAL NUMBER.
        0xab => {
            if service_action(cdb) == 0x01 {
                Access::Always
            } else {
                Access::Write
            }
        }
        // MAINTENANCE IN.
        0xa3 => match service_action(cdb) {
            // REPORT IDENTIFYING INFORMATION, REPORT TARGET PORT GROUPS, REPORT ALIASES,
            // REPORT PRIORITY, REPORT TIMESTAMP.
            0x05 | 0x0a | 0x0b | 0x0e | 0x0f => Access::Always,
            // REPORT SUPPORTED OPERATION CODES / TASK MANAGEMENT FUNCTIONS, MANAGEMENT
            // PROTOCOL IN.
            0x0c | 0x0d | 0x10 => Access::Read,
            _ => Access::Write,
        },
        // Variable length: READ(32) and VERIFY(32) read; the rest write.
        0x7f => {
            let sa = u16::from_be_bytes([
                cdb.get(8).copied().unwrap_or(0),
                cdb.get(9).copied().unwrap_or(0),
            ]);
            if sa == 0x0009 || sa == 0x000a {
                Access::Read
            } else {
                Access::Write
            }
        }
        // WRITE*, WRITE AND VERIFY*, WRITE SAME*, UNMAP, COMPARE AND WRITE, SYNCHRONIZE
        // CACHE*, FORMAT UNIT, MODE SELECT, LOG SELECT, WRITE BUFFER, SEND DIAGNOSTIC,
        // READ LONG(10), WRITE LONG, SANITIZE, MAINTENANCE OUT, ... and anything unknown.
        _ => Access::Write,
    }
}

/// SPC-4 table 67: PERSISTENT RESERVE OUT from an I_T nexus that is not a holder.
fn prout_allowed(cdb: &[u8], registered: bool) -> bool {
    match ProutAction::from_code(service_action(cdb)) {
        Some(ProutAction::Register | ProutAction::RegisterAndIgnore) => true,
        Some(
            ProutAction::Clear
            | ProutAction::Preempt
            | ProutAction::PreemptAndAbort
            | ProutAction::Release,
        ) => registered,
        Some(ProutAction::Reserve | ProutAction::RegisterAndMove) => false,
        // An invalid service action is rejected with CHECK CONDITION by reserve_out.
        None => true,
    }
}

/// Whether a command from an I_T nexus that is *not* a reservation holder may run under a
/// persistent reservation of type `ty`.
pub(super) fn pr_allows(ty: PrType, registered: bool, cdb: &[u8]) -> bool {
    // Registrants Only / All Registrants: registered nexuses may run everything.
    let shared_by_registrants = ty.registrants_only() || ty.all_registrants();
    match classify(cdb) {
        Access::Always | Access::Spc2 => true,
        Access::PersistentReserveOut => prout_allowed(cdb, registered),
        Access::Read => ty.write_exclusive() || (shared_by_registrants && registered),
        Access::Write => shared_by_registrants && registered,
    }
}

/// Commands another I_T nexus may run while an SPC-2 reservation is held: INQUIRY,
/// REQUEST SENSE, REPORT LUNS, LOG SENSE, TEST UNIT READY, READ CAPACITY(10/16) and
/// RELEASE (which then completes with GOOD and releases nothing).
pub(super) fn spc2_allows(cdb: &[u8]) -> bool {
    match cdb.first().copied() {
        None => true,
        Some(0x00 | 0x03 | 0x12 | 0x4d | 0x25 | 0xa0 | RELEASE_6 | RELEASE_10) => true,
        Some(0x9e) => service_action(cdb) == 0x10,
        Some(_) => false,
    }
}
