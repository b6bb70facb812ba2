//! Unit attention conditions of one logical unit, kept per I_T nexus (SAM-5 5.14, SPC-4).
//!
//! Policy (UA_INTLCK_CTRL = 00b):
//! - A condition is reported with CHECK CONDITION / UNIT ATTENTION on the next command that
//!   is not INQUIRY, REPORT LUNS or REQUEST SENSE, and cleared when reported. REQUEST SENSE
//!   returns it as sense data and clears it; REPORT LUNS clears REPORTED LUNS DATA HAS
//!   CHANGED; INQUIRY neither reports nor clears.
//! - Reporting order follows the SAM-4/SAM-5 5.14 precedence list (highest first):
//!   29h/00h; 29h/01h and 29h/04h; 29h/02h, 29h/05h, 29h/06h and 3Fh/01h; 29h/03h; 29h/07h
//!   and other 29h codes; 2Fh/01h; then every other condition, oldest first.
//! - At most one condition of the reset family (ASC 29h) is pending: a new one replaces a
//!   lower-precedence one and is dropped if an equal or higher one is pending. A power-on
//!   class condition (29h/00h, 29h/01h, 29h/04h) clears every other pending condition (they
//!   are volatile state a power cycle loses). Any 29h condition clears COMMANDS CLEARED BY
//!   ANOTHER INITIATOR, which the reset report covers. Other conditions (capacity, mode
//!   parameters, LUN inventory, reservations) stay queued: they remain true after a reset and
//!   initiators act only on the specific code (Linux sd revalidates capacity on 2Ah/09h only).
//! - Duplicates (same ASC/ASCQ already pending) are coalesced.
//! - Overflow: one queue slot is reserved for REPORTED LUNS DATA HAS CHANGED. When a new
//!   condition finds the rest of the queue full, the lowest-precedence condition is dropped
//!   (the oldest among equals; the new one itself if it ranks lowest) and REPORTED LUNS DATA
//!   HAS CHANGED is queued if not already pending. That code makes initiators rescan the
//!   target and re-read what every LU reports, which recovers what the dropped condition
//!   would have told them.
//! - A nexus that joins starts with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED; a nexus
//!   that leaves loses its conditions; conditions are never established for absent nexuses.

use crate::types::{Asc, Sense};

/// INQUIRY operation code.
pub const OPCODE_INQUIRY: u8 = 0x12;
/// REPORT LUNS operation code.
pub const OPCODE_REPORT_LUNS: u8 = 0xa0;
/// REQUEST SENSE operation code.
pub const OPCODE_REQUEST_SENSE: u8 = 0x03;

/// Lowest precedence rank (ordinary conditions).
const RANK_ORDINARY: u8 = 6;

/// SAM-5 5.14 precedence rank of a condition; lower is reported first.
const fn rank(asc: Asc) -> u8 {
    match (asc.0, asc.1) {
        (0x29, 0x00) => 0,
        (0x29, 0x01) | (0x29, 0x04) => 1,
        (0x29, 0x02) | (0x29, 0x05) | (0x29, 0x06) | (0x3f, 0x01) => 2,
        (0x29, 0x03) => 3,
        (0x29, _) => 4,
        (0x2f, 0x01) => 5,
        _ => RANK_ORDINARY,
    }
}

const fn is_reset_family(asc: Asc) -> bool {
    asc.0 == 0x29
}

const fn is_power_on_class(asc: Asc) -> bool {
    matches!((asc.0, asc.1), (0x29, 0x00) | (0x29, 0x01) | (0x29, 0x04))
}

const fn same(a: Asc, b: Asc) -> bool {
    a.0 == b.0 && a.1 == b.1
}

/// The pending conditions of one I_T nexus, oldest first.
#[derive(Clone, Copy)]
struct NexusQueue<const DEPTH: usize> {
    joined: bool,
    len: u8,
    entries: [Asc; DEPTH],
}

impl<const DEPTH: usize> NexusQueue<DEPTH> {
    const EMPTY: Self = NexusQueue {
        joined: false,
        len: 0,
        entries: [Asc::NO_ADDITIONAL; DEPTH],
    };

    fn pending(&self) -> &[Asc] {
        self.entries.get(..self.len as usize).unwrap_or(&[])
    }

    fn position(&self, asc: Asc) -> Option<usize> {
        self.pending().iter().position(|&a| same(a, asc))
    }

    fn remove_at(&mut self, i: usize) {
        let len = self.len as usize;
        if i >= len {
            return;
        }
        if let Some(tail) = self.entries.get_mut(i..len) {
            tail.rotate_left(1);
        }
        self.len = self.len.saturating_sub(1);
    }

    fn push(&mut self, asc: Asc) {
        if let Some(slot) = self.entries.get_mut(self.len as usize) {
            *slot = asc;
            self.len = self.len.saturating_add(1);
        }
    }

    fn remove_where(&mut self, mut drop: impl FnMut(Asc) -> bool) {
        let mut i = 0;
        while let Some(&a) = self.pending().get(i) {
            if drop(a) {
                self.remove_at(i);
            } else {
                i = i.saturating_add(1);
            }
        }
    }

    /// Index of the condition to report next: best rank, oldest among equals.
    fn best(&self) -> Option<usize> {
        let mut best: Option<(usize, u8)> = None;
        for (i, &a) in self.pending().iter().enumerate() {
            let r = rank(a);
            if best.is_none_or(|(_, br)| r < br) {
                best = Some((i, r));
            }
        }
        best.map(|(i, _)| i)
    }

    fn establish(&mut self, asc: Asc) {
        if !self.joined {
            return;
        }
        if is_reset_family(asc) {
            let new_rank = rank(asc);
            // An equal or stronger reset report already pending covers this one.
            let covered = self
                .pending()
                .iter()
                .any(|&a| is_reset_family(a) && rank(a) <= new_rank);
            let power_on = is_power_on_class(asc);
            self.remove_where(|a| {
                if is_reset_family(a) {
                    !covered
                } else {
                    power_on || same(a, Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR)
                }
            });
            if covered {
                return;
            }
        } else if self.position(asc).is_some() {
            return; // coalesce duplicates
        }
        self.insert(asc);
    }

    /// Appends `asc` (not pending yet), applying the overflow policy.
    fn insert(&mut self, asc: Asc) {
        let marker = Asc::REPORTED_LUNS_DATA_CHANGED;
        let marker_pending = self.position(marker).is_some();
        // The last slot is kept for the overflow marker until the marker is pending.
        let limit = if marker_pending || same(asc, marker) {
            DEPTH
        } else {
            DEPTH.saturating_sub(1)
        };
        if (self.len as usize) < limit {
            self.push(asc);
            return;
        }
        // Full: drop the lowest-precedence condition (oldest among equals; the new one if it
        // ranks strictly lowest). The marker itself is never dropped.
        let mut victim: Option<(usize, u8)> = None;
        for (i, &a) in self.pending().iter().enumerate() {
            if same(a, marker) {
                continue;
            }
            let r = rank(a);
            if victim.is_none_or(|(_, vr)| r > vr) {
                victim = Some((i, r));
            }
        }
        match victim {
            Some((i, vr)) if rank(asc) <= vr => {
                self.remove_at(i);
                self.push(asc);
            }
            _ => {} // the new condition is the least important one: it is the one lost
        }
        if !marker_pending {
            self.push(marker);
        }
    }

    fn take(&mut self) -> Option<Asc> {
        let i = self.best()?;
        let asc = *self.pending().get(i)?;
        self.remove_at(i);
        Some(asc)
    }
}

/// Unit attention state of one logical unit for up to `NEXUS` I_T nexuses (indexed by session
/// slot), each with a queue of `DEPTH` conditions (`3 <= DEPTH <= 255`).
pub struct UaState<const NEXUS: usize, const DEPTH: usize> {
    queues: [NexusQueue<DEPTH>; NEXUS],
}

impl<const NEXUS: usize, const DEPTH: usize> Default for UaState<NEXUS, DEPTH> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const NEXUS: usize, const DEPTH: usize> UaState<NEXUS, DEPTH> {
    const DEPTH_OK: () = assert!(
        DEPTH >= 3 && DEPTH <= 255,
        "UaState needs 3 <= DEPTH <= 255"
    );

    /// No nexus joined, nothing pending.
    pub const fn new() -> Self {
        let () = Self::DEPTH_OK;
        UaState {
            queues: [NexusQueue::EMPTY; NEXUS],
        }
    }

    /// A session took slot `nexus`: it starts with POWER ON, RESET, OR BUS DEVICE RESET
    /// OCCURRED and nothing else (whatever an earlier occupant left is dropped).
    pub fn nexus_joined(&mut self, nexus: u16) {
        if let Some(q) = self.queues.get_mut(nexus as usize) {
            *q = NexusQueue::EMPTY;
            q.joined = true;
            q.push(Asc::POWER_ON_RESET);
        }
    }

    /// The session in slot `nexus` ended: its conditions are discarded.
    pub fn nexus_left(&mut self, nexus: u16) {
        if let Some(q) = self.queues.get_mut(nexus as usize) {
            *q = NexusQueue::EMPTY;
        }
    }

    /// True if a session occupies slot `nexus`.
    pub fn is_joined(&self, nexus: u16) -> bool {
        self.queues.get(nexus as usize).is_some_and(|q| q.joined)
    }

    /// Establishes `asc` for one nexus (ignored for an absent nexus).
    pub fn establish(&mut self, nexus: u16, asc: Asc) {
        if let Some(q) = self.queues.get_mut(nexus as usize) {
            q.establish(asc);
        }
    }

    /// Establishes `asc` for every joined nexus.
    pub fn establish_all(&mut self, asc: Asc) {
        for q in self.queues.iter_mut() {
            q.establish(asc);
        }
    }

    /// Establishes `asc` for every joined nexus except `nexus`.
    pub fn establish_all_except(&mut self, nexus: u16, asc: Asc) {
        for (i, q) in self.queues.iter_mut().enumerate() {
            if i != nexus as usize {
                q.establish(asc);
            }
        }
    }

    /// Clears one pending condition of `nexus`, if present (e.g. REPORT LUNS received on
    /// another LU clears REPORTED LUNS DATA HAS CHANGED everywhere for that nexus).
    pub fn clear(&mut self, nexus: u16, asc: Asc) -> bool {
        let Some(q) = self.queues.get_mut(nexus as usize) else {
            return false;
        };
        match q.position(asc) {
            Some(i) => {
                q.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// The condition that would be reported next for `nexus`, without clearing it.
    pub fn peek(&self, nexus: u16) -> Option<Asc> {
        let q = self.queues.get(nexus as usize)?;
        q.best().and_then(|i| q.pending().get(i).copied())
    }

    /// Number of conditions pending for `nexus`.
    pub fn pending_count(&self, nexus: u16) -> usize {
        self.queues
            .get(nexus as usize)
            .map_or(0, |q| q.len as usize)
    }

    /// Decides what a command with operation code `opcode` arriving on `nexus` does about
    /// unit attentions, when it enters the enabled state:
    /// - `None`: run the command normally;
    /// - `Some(sense)` for REQUEST SENSE: return `sense` as its parameter data with GOOD
    ///   status (the condition is cleared);
    /// - `Some(sense)` for any other command: terminate it with CHECK CONDITION and `sense`
    ///   (the condition is cleared).
    pub fn take_for_command(&mut self, nexus: u16, opcode: u8) -> Option<Sense> {
        let q = self.queues.get_mut(nexus as usize)?;
        match opcode {
            OPCODE_INQUIRY => None,
            OPCODE_REPORT_LUNS => {
                if let Some(i) = q.position(Asc::REPORTED_LUNS_DATA_CHANGED) {
                    q.remove_at(i);
                }
                None
            }
            _ => q.take().map(Sense::unit_attention),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SenseKey;
    use proptest::prelude::*;
    use std::vec::Vec;

    const READ_10: u8 = 0x28;
    const CAP: Asc = Asc::CAPACITY_DATA_CHANGED;
    const MODE: Asc = Asc::MODE_PARAMETERS_CHANGED;
    const RESV: Asc = Asc::RESERVATIONS_PREEMPTED;
    const LUNS: Asc = Asc::REPORTED_LUNS_DATA_CHANGED;
    const INQ: Asc = Asc::INQUIRY_DATA_CHANGED;
    const CCBAI: Asc = Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR;
    const MICROCODE: Asc = Asc(0x3f, 0x01);

    /// Drains `nexus` with ordinary commands, returning the reported conditions in order.
    fn drain<const N: usize, const D: usize>(ua: &mut UaState<N, D>, nexus: u16) -> Vec<Asc> {
        let mut out = Vec::new();
        while let Some(s) = ua.take_for_command(nexus, READ_10) {
            assert_eq!(s.key, SenseKey::UnitAttention);
            assert_eq!((s.field, s.information), (None, None));
            out.push(s.asc);
        }
        out
    }

    /// A joined nexus 0 with the initial power-on condition already reported.
    fn fresh<const D: usize>() -> UaState<4, D> {
        let mut ua = UaState::new();
        ua.nexus_joined(0);
        assert_eq!(drain(&mut ua, 0), [Asc::POWER_ON_RESET]);
        ua
    }

    #[test]
    fn join_reports_power_on_once() {
        let mut ua: UaState<4, 4> = UaState::new();
        assert!(!ua.is_joined(1));
        ua.establish(1, CAP); // absent nexus: ignored
        ua.nexus_joined(1);
        assert!(ua.is_joined(1));
        assert_eq!(ua.pending_count(1), 1);
        assert_eq!(ua.peek(1), Some(Asc::POWER_ON_RESET));
        assert_eq!(
            ua.take_for_command(1, READ_10),
            Some(Sense::new(SenseKey::UnitAttention, Asc(0x29, 0x00)))
        );
        assert_eq!(ua.take_for_command(1, READ_10), None);
        // Out-of-range slots never panic and never report.
        ua.nexus_joined(4);
        ua.establish(u16::MAX, CAP);
        assert_eq!(ua.take_for_command(u16::MAX, READ_10), None);
        assert!(!ua.clear(9, CAP));
    }

    #[test]
    fn commands_that_bypass_unit_attention() {
        let mut ua: UaState<4, 4> = fresh();
        ua.establish(0, LUNS);
        ua.establish(0, CAP);
        assert_eq!(ua.take_for_command(0, OPCODE_INQUIRY), None);
        assert_eq!(ua.pending_count(0), 2);
        // REPORT LUNS reports nothing and clears only REPORTED LUNS DATA HAS CHANGED.
        assert_eq!(ua.take_for_command(0, OPCODE_REPORT_LUNS), None);
        assert_eq!(ua.pending_count(0), 1);
        assert_eq!(ua.peek(0), Some(CAP));
        // REQUEST SENSE returns the condition and clears it.
        assert_eq!(
            ua.take_for_command(0, OPCODE_REQUEST_SENSE),
            Some(Sense::unit_attention(CAP))
        );
        assert_eq!(ua.pending_count(0), 0);
        assert_eq!(ua.take_for_command(0, OPCODE_REQUEST_SENSE), None);
    }

    #[test]
    fn precedence_supersession_and_coalescing_table() {
        // (establish in this order, expected report order)
        let cases: &[(&[Asc], &[Asc])] = &[
            (&[CAP, MODE], &[CAP, MODE]),
            (&[CAP, CAP, MODE, CAP], &[CAP, MODE]),
            // A reset report goes first but does not erase state-change reports.
            (&[CAP, Asc::I_T_NEXUS_LOSS], &[Asc::I_T_NEXUS_LOSS, CAP]),
            (
                &[CAP, Asc::BUS_DEVICE_RESET, MODE],
                &[Asc::BUS_DEVICE_RESET, CAP, MODE],
            ),
            // One reset-family condition: the stronger one wins in either order.
            (
                &[Asc::I_T_NEXUS_LOSS, Asc::BUS_DEVICE_RESET],
                &[Asc::BUS_DEVICE_RESET],
            ),
            (
                &[Asc::BUS_DEVICE_RESET, Asc::I_T_NEXUS_LOSS],
                &[Asc::BUS_DEVICE_RESET],
            ),
            (
                &[Asc::BUS_DEVICE_RESET, Asc::POWER_ON_RESET],
                &[Asc::POWER_ON_RESET],
            ),
            // A reset covers COMMANDS CLEARED BY ANOTHER INITIATOR.
            (
                &[CCBAI, RESV, Asc::BUS_DEVICE_RESET],
                &[Asc::BUS_DEVICE_RESET, RESV],
            ),
            // Power-on class clears everything else.
            (&[CAP, MODE, CCBAI, Asc(0x29, 0x01)], &[Asc(0x29, 0x01)]),
            (
                &[CAP, Asc::BUS_DEVICE_RESET, Asc::POWER_ON_RESET],
                &[Asc::POWER_ON_RESET],
            ),
            // Conditions established after a reset queue behind it.
            (
                &[Asc::BUS_DEVICE_RESET, CCBAI],
                &[Asc::BUS_DEVICE_RESET, CCBAI],
            ),
            // Microcode changed (3Fh/01h) outranks bus device reset and ordinary conditions.
            (
                &[CAP, Asc::BUS_DEVICE_RESET, MICROCODE],
                &[MICROCODE, Asc::BUS_DEVICE_RESET, CAP],
            ),
            // 2Fh/01h ranks just above ordinary conditions.
            (&[CAP, Asc(0x2f, 0x01)], &[Asc(0x2f, 0x01), CAP]),
        ];
        for (establish, want) in cases {
            let mut ua: UaState<4, 8> = fresh();
            for &a in *establish {
                ua.establish(0, a);
            }
            assert_eq!(drain(&mut ua, 0), *want, "establish {establish:?}");
        }
    }

    #[test]
    fn overflow_drops_oldest_and_queues_reported_luns_changed() {
        let mut ua: UaState<4, 4> = fresh();
        ua.establish(0, CAP);
        ua.establish(0, MODE);
        ua.establish(0, RESV);
        assert_eq!(ua.pending_count(0), 3); // last slot kept for the marker
        ua.establish(0, INQ);
        assert_eq!(ua.pending_count(0), 4);
        ua.establish(0, Asc::RESERVATIONS_RELEASED);
        assert_eq!(
            drain(&mut ua, 0),
            [RESV, INQ, LUNS, Asc::RESERVATIONS_RELEASED]
        );

        // A reset report survives overflow; ordinary ones are dropped first.
        let mut ua: UaState<4, 4> = fresh();
        ua.establish(0, Asc::BUS_DEVICE_RESET);
        ua.establish(0, CAP);
        ua.establish(0, MODE);
        ua.establish(0, RESV);
        assert_eq!(drain(&mut ua, 0), [Asc::BUS_DEVICE_RESET, MODE, RESV, LUNS]);

        // An establishing REPORTED LUNS DATA HAS CHANGED may use the reserved slot.
        let mut ua: UaState<4, 4> = fresh();
        for a in [CAP, MODE, RESV, LUNS] {
            ua.establish(0, a);
        }
        assert_eq!(drain(&mut ua, 0), [CAP, MODE, RESV, LUNS]);

        // The new condition is the one lost when it ranks below everything pending.
        let mut ua: UaState<4, 3> = fresh();
        ua.establish(0, Asc::BUS_DEVICE_RESET);
        ua.establish(0, MICROCODE);
        ua.establish(0, CAP);
        assert_eq!(drain(&mut ua, 0), [MICROCODE, Asc::BUS_DEVICE_RESET, LUNS]);
    }

    #[test]
    fn broadcast_leave_and_clear() {
        let mut ua: UaState<4, 4> = UaState::new();
        for n in [0, 1, 3] {
            ua.nexus_joined(n);
            drain(&mut ua, n);
        }
        ua.establish_all_except(1, CCBAI);
        assert_eq!(ua.pending_count(0), 1);
        assert_eq!(ua.pending_count(1), 0);
        assert_eq!(ua.pending_count(2), 0); // not joined
        assert_eq!(ua.pending_count(3), 1);
        ua.establish_all(Asc::BUS_DEVICE_RESET);
        assert_eq!(drain(&mut ua, 0), [Asc::BUS_DEVICE_RESET]);
        assert_eq!(drain(&mut ua, 1), [Asc::BUS_DEVICE_RESET]);
        assert_eq!(drain(&mut ua, 2), []);
        ua.establish(3, LUNS);
        assert!(ua.clear(3, LUNS));
        assert!(!ua.clear(3, LUNS));
        assert_eq!(drain(&mut ua, 3), [Asc::BUS_DEVICE_RESET]);
        // Leaving discards everything; a new session in the slot starts over.
        ua.establish(3, CAP);
        ua.nexus_left(3);
        assert!(!ua.is_joined(3));
        assert_eq!(ua.take_for_command(3, READ_10), None);
        ua.establish(3, MODE);
        ua.nexus_joined(3);
        assert_eq!(drain(&mut ua, 3), [Asc::POWER_ON_RESET]);
    }

    fn asc_pool() -> impl Strategy<Value = Asc> {
        prop::sample::select(vec![
            CAP,
            MODE,
            RESV,
            LUNS,
            INQ,
            CCBAI,
            MICROCODE,
            Asc::RESERVATIONS_RELEASED,
            Asc::REGISTRATIONS_PREEMPTED,
            Asc::POWER_ON_RESET,
            Asc(0x29, 0x01),
            Asc::BUS_DEVICE_RESET,
            Asc::I_T_NEXUS_LOSS,
        ])
    }

    proptest! {
        #[test]
        fn queue_invariants(ops in proptest::collection::vec((asc_pool(), 0u8..4), 1..60)) {
            let mut ua: UaState<2, 5> = UaState::new();
            ua.nexus_joined(0);
            for (asc, what) in ops {
                let before = ua.pending_count(0);
                let had = ua.queues[0].position(asc).is_some();
                match what {
                    0 | 1 => {
                        ua.establish(0, asc);
                        let q = &ua.queues[0];
                        if had && !is_reset_family(asc) {
                            prop_assert_eq!(ua.pending_count(0), before);
                        }
                        if had {
                            prop_assert!(q.position(asc).is_some());
                            prop_assert!(ua.pending_count(0) <= before);
                        }
                        // An ordinary condition is either queued or replaced by the marker.
                        if rank(asc) == RANK_ORDINARY && !had {
                            prop_assert!(q.position(asc).is_some() || q.position(LUNS).is_some());
                        }
                    }
                    2 => {
                        let best = ua.peek(0);
                        let got = ua.take_for_command(0, READ_10).map(|s| s.asc);
                        prop_assert_eq!(got, best);
                        if let Some(a) = got {
                            prop_assert_eq!(ua.pending_count(0), before - 1);
                            // Nothing left outranks what was reported.
                            prop_assert!(ua.queues[0].pending().iter().all(|&p| rank(p) >= rank(a)));
                        }
                    }
                    _ => {
                        prop_assert_eq!(ua.take_for_command(0, OPCODE_INQUIRY), None);
                        prop_assert_eq!(ua.pending_count(0), before);
                    }
                }
                let p = ua.queues[0].pending();
                prop_assert!(p.len() <= 5);
                for (i, a) in p.iter().enumerate() {
                    prop_assert!(p[i + 1..].iter().all(|b| !same(*a, *b)), "duplicate {:?}", a);
                }
                prop_assert!(p.iter().filter(|a| is_reset_family(**a)).count() <= 1);
                if p.len() == 5 {
                    prop_assert!(p.iter().any(|a| same(*a, LUNS)));
                }
                // The other nexus is never touched.
                prop_assert_eq!(ua.pending_count(1), 0);
            }
        }
    }
}
