//! The I_T nexus (session) table, keyed by the identity rule of ARCHITECTURE.md §5:
//! a session is (local port, initiator WWPN, initiator N_Port ID) plus the firmware's
//! N_Port handle, and carries a generation that is never reused.
//!
//! # Protocol with the driver
//! - Every event method takes `on_teardown: &mut impl FnMut(Teardown)`. It is called once per
//!   session that moved to [`SessionState::TearingDown`] because of the event. The driver must
//!   abort that session's commands (and terminate any ELS it still holds for it) and then
//!   call [`SessionTable::teardown_done`], which frees the slot.
//! - [`SessionTable::plogi`] / [`SessionTable::prli`] return a [`Login`]. If `ready` is false
//!   the driver holds the ELS: a conflicting or older incarnation is still being torn down.
//!   `teardown_done` calls `on_ready` for every held login that thereby became ready (the
//!   driver may also poll [`SessionTable::login_ready`]). A PLOGI is acked when ready; a
//!   PRLI is accepted after [`SessionTable::activate`] succeeded.
//! - Commands route through [`SessionTable::lookup_sid`]; only `Active` sessions match, so
//!   a session that is logging in or being torn down answers [`NoSession`] (BUSY).
//!
//! # Decisions
//! - A PLOGI implicitly logs out the previous login of that initiator (FC-LS), and a PRLI on
//!   an existing image pair implicitly ends it (FCP-4), so a re-PLOGI/re-PRLI on an `Active`
//!   session with the very same WWPN, N_Port ID and handle still tears the old session down
//!   (its commands are aborted) and creates a new generation. A second PLOGI/PRLI matching a
//!   session that is still `LoginPending` merges into it (`new_session == false`): the
//!   driver terminates the older held ELS and holds the new one instead.
//! - A login blocks on *every* conflicting session still tearing down (same N_Port ID, same
//!   handle, or same WWPN on that local port), not only on the same-ID-and-handle case as
//!   qla_target does: no command of an old login can then overlap the new one.
//! - Conflicts are evaluated per local port (vp), as N_Port handles are per vp in the
//!   table's key; link down of a whole HBA is [`SessionTable::hba_down`].
//! - A login that finds the table full still tears down the sessions it conflicts with (the
//!   login proves them stale) and then fails with [`LoginError::TableFull`]; no unrelated
//!   live session is ever evicted.

use crate::types::{Handle, LocalPort, PortId, Wwpn};

/// A checked reference to one incarnation of a session: slot plus generation. Every access
/// compares the generation, so a reference kept past teardown can never reach the session
/// that reuses the slot. Only the table creates these.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SessionRef {
    slot: u16,
    generation: u64,
}

impl SessionRef {
    /// A reference that names no session (generation 0 is never issued): a placeholder
    /// for fixed-capacity tables.
    pub const NONE: SessionRef = SessionRef {
        slot: u16::MAX,
        generation: 0,
    };
    /// Slot index inside the table (stable for the session's lifetime).
    pub const fn slot(self) -> u16 {
        self.slot
    }
    /// Generation (session id): unique over the table's lifetime, never reused.
    pub const fn generation(self) -> u64 {
        self.generation
    }
}

/// Life cycle of a session.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SessionState {
    /// Login seen, not yet allowed to carry commands (PLOGI held or acked, PRLI not accepted).
    LoginPending,
    /// PRLI accepted: commands from its N_Port ID are routed to it.
    Active,
    /// Being torn down: accepts no new commands; the slot is freed by `teardown_done`.
    TearingDown,
}

/// The identity of a session as the fabric presented it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Nexus {
    /// Local target port (vp) the initiator logged in to.
    pub port: LocalPort,
    /// Initiator port name.
    pub wwpn: Wwpn,
    /// Initiator N_Port ID (S_ID of its frames).
    pub port_id: PortId,
    /// N_Port handle the firmware assigned to the initiator.
    pub handle: Handle,
}

impl Nexus {
    /// True when `other` may not coexist with `self` as live sessions on one local port.
    const fn conflicts_with(&self, other: &Nexus) -> bool {
        self.port.target == other.port.target
            && self.port.vp_index == other.port.vp_index
            && (self.wwpn.0 == other.wwpn.0
                || self.port_id.get() == other.port_id.get()
                || self.handle.0 == other.handle.0)
    }
}

/// A copy of one session's state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SessionInfo {
    /// Identity.
    pub nexus: Nexus,
    /// Current state.
    pub state: SessionState,
    /// Generation (same as in its [`SessionRef`]).
    pub generation: u64,
}

/// Why a session is being torn down.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TeardownReason {
    /// Another WWPN logged in with this session's N_Port ID or handle.
    Conflict,
    /// The same initiator logged in again (re-PLOGI / re-PRLI / new handle): implicit logout.
    Relogin,
    /// The same WWPN logged in from another N_Port ID.
    Migrated,
    /// LOGO or PRLO from the initiator.
    Logout,
    /// The firmware logged the port out (by handle).
    PortLogout,
    /// The firmware's port database now binds this session's handle/ID to someone else.
    PortDbChanged,
    /// Link down on the local port or the whole HBA.
    LinkDown,
}

/// One session the driver must tear down (abort its commands, terminate its held ELS).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Teardown {
    /// The session; pass it to `teardown_done` when finished.
    pub session: SessionRef,
    /// Its identity.
    pub nexus: Nexus,
    /// State before teardown started (`LoginPending`: only a held ELS to terminate).
    pub was: SessionState,
    /// Why.
    pub reason: TeardownReason,
    /// The event that caused the teardown now uses this session's N_Port handle: the
    /// implicit logout must not free the handle in the firmware.
    pub keep_handle: bool,
}

/// Result of a PLOGI/PRLI.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Login {
    /// The (pending) session of this login.
    pub session: SessionRef,
    /// No conflicting session is still tearing down: the ELS may be acknowledged now.
    pub ready: bool,
    /// False when the login merged into an already pending session of the same identity.
    pub new_session: bool,
}

/// Why a login was refused (the driver rejects it with LS_RJT or terminates it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoginError {
    /// No free slot; conflicting sessions were still torn down.
    TableFull,
    /// WWPN 0 is not a valid port name; nothing changed.
    ZeroWwpn,
    /// S_ID in the well-known address range FF.Fx.xx; nothing changed.
    WellKnownAddress,
    /// The 64-bit generation counter is exhausted; nothing changed.
    GenerationsExhausted,
}

/// The reference no longer names that incarnation (torn down and freed, or never existed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StaleRef;

/// No `Active` session: the driver answers BUSY or terminates the exchange.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NoSession;

/// Why [`SessionTable::activate`] refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ActivateError {
    /// The reference is stale.
    Stale,
    /// The session is not `LoginPending` (already active or tearing down).
    NotPending,
    /// A conflicting session is still tearing down.
    NotReady,
}

/// Why [`SessionTable::teardown_done`] refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TeardownDoneError {
    /// The reference is stale.
    Stale,
    /// The session is not tearing down.
    NotTearingDown,
}

const NIL: u16 = u16::MAX;

#[derive(Clone, Copy)]
struct Slot {
    session: Option<SessionInfo>,
    /// Next slot in the same S_ID hash chain (only `Active` sessions are chained).
    next: u16,
}

const EMPTY_SLOT: Slot = Slot {
    session: None,
    next: NIL,
};

/// Fixed-capacity session table for `N` sessions (1 ≤ N < 65535), all local ports together.
///
/// Lookups by S_ID use a chained hash index over `Active` sessions (N buckets, so chains
/// stay short); everything else is a scan of the slots.
///
/// A capacity outside that range is a build error, not a runtime panic:
/// ```compile_fail
/// let t = scst_core::identity::SessionTable::<0>::new();
/// ```
pub struct SessionTable<const N: usize> {
    slots: [Slot; N],
    buckets: [u16; N],
    next_generation: u64,
}

impl<const N: usize> Default for SessionTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SessionTable<N> {
    const CAPACITY_OK: () = assert!(N > 0 && N < NIL as usize, "1 <= N < 65535");

    /// An empty table.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_OK;
        SessionTable {
            slots: [EMPTY_SLOT; N],
            buckets: [NIL; N],
            next_generation: 1,
        }
    }

    /// Maximum number of sessions (including those tearing down).
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Number of occupied slots (any state).
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.session.is_some()).count()
    }

    /// True when no slot is occupied.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.session.is_none())
    }

    /// PLOGI (Immediate Notify, ELS PLOGI). See the module documentation for the rules.
    pub fn plogi(
        &mut self,
        nexus: Nexus,
        on_teardown: &mut impl FnMut(Teardown),
    ) -> Result<Login, LoginError> {
        self.login(nexus, on_teardown)
    }

    /// PRLI. Same conflict rules as PLOGI; a PRLI without a preceding PLOGI (firmware logged
    /// the port in itself) creates the session. Call [`SessionTable::activate`] before
    /// sending the accept.
    pub fn prli(
        &mut self,
        nexus: Nexus,
        on_teardown: &mut impl FnMut(Teardown),
    ) -> Result<Login, LoginError> {
        self.login(nexus, on_teardown)
    }

    fn login(
        &mut self,
        nexus: Nexus,
        on_teardown: &mut impl FnMut(Teardown),
    ) -> Result<Login, LoginError> {
        if nexus.wwpn.0 == 0 {
            return Err(LoginError::ZeroWwpn);
        }
        if nexus.port_id.get() >= 0x00ff_f000 {
            return Err(LoginError::WellKnownAddress);
        }
        let Some(after) = self.next_generation.checked_add(1) else {
            return Err(LoginError::GenerationsExhausted);
        };
        let mut merge_into: Option<usize> = None;
        for i in 0..N {
            let Some(s) = self.info(i) else { continue };
            if s.state == SessionState::TearingDown || !s.nexus.conflicts_with(&nexus) {
                continue;
            }
            if s.nexus == nexus && s.state == SessionState::LoginPending {
                merge_into = Some(i);
                continue;
            }
            let reason = if s.nexus.wwpn != nexus.wwpn {
                TeardownReason::Conflict
            } else if s.nexus.port_id != nexus.port_id {
                TeardownReason::Migrated
            } else {
                TeardownReason::Relogin
            };
            self.start_teardown(i, reason, s.nexus.handle == nexus.handle, on_teardown);
        }
        if let Some(r) = merge_into.and_then(|i| self.ref_of(i)) {
            return Ok(Login {
                session: r,
                ready: !self.blocked(&nexus),
                new_session: false,
            });
        }
        let Some(free) = self.slots.iter().position(|s| s.session.is_none()) else {
            return Err(LoginError::TableFull);
        };
        let generation = self.next_generation;
        let slot = self.slots.get_mut(free).ok_or(LoginError::TableFull)?;
        slot.session = Some(SessionInfo {
            nexus,
            state: SessionState::LoginPending,
            generation,
        });
        slot.next = NIL;
        self.next_generation = after;
        let session = SessionRef {
            slot: free as u16,
            generation,
        };
        Ok(Login {
            session,
            ready: !self.blocked(&nexus),
            new_session: true,
        })
    }

    /// Whether the held login of `r` may be acknowledged now (true also once `Active`).
    pub fn login_ready(&self, r: SessionRef) -> Result<bool, StaleRef> {
        let s = self.get(r)?;
        Ok(match s.state {
            SessionState::LoginPending => !self.blocked(&s.nexus),
            SessionState::Active => true,
            SessionState::TearingDown => false,
        })
    }

    /// Makes a ready `LoginPending` session `Active` (call right before accepting the PRLI).
    pub fn activate(&mut self, r: SessionRef) -> Result<(), ActivateError> {
        let s = self.get(r).map_err(|_| ActivateError::Stale)?;
        if s.state != SessionState::LoginPending {
            return Err(ActivateError::NotPending);
        }
        if self.blocked(&s.nexus) {
            return Err(ActivateError::NotReady);
        }
        self.set_state(usize::from(r.slot), SessionState::Active);
        self.index_insert(usize::from(r.slot), &s.nexus);
        Ok(())
    }

    /// The driver finished tearing `r` down: frees its slot and calls `on_ready` for every
    /// pending login this unblocked. A login is reported once, when its last blocker goes
    /// (after a [`SessionTable::port_db_changed`] handle move a login may be reported again;
    /// ignore a report when nothing is held).
    pub fn teardown_done(
        &mut self,
        r: SessionRef,
        on_ready: &mut impl FnMut(SessionRef),
    ) -> Result<(), TeardownDoneError> {
        let s = self.get(r).map_err(|_| TeardownDoneError::Stale)?;
        if s.state != SessionState::TearingDown {
            return Err(TeardownDoneError::NotTearingDown);
        }
        if let Some(slot) = self.slots.get_mut(usize::from(r.slot)) {
            *slot = EMPTY_SLOT;
        }
        for i in 0..N {
            let Some(p) = self.info(i) else { continue };
            if p.state == SessionState::LoginPending
                && p.nexus.conflicts_with(&s.nexus)
                && !self.blocked(&p.nexus)
            {
                if let Some(pr) = self.ref_of(i) {
                    on_ready(pr);
                }
            }
        }
        Ok(())
    }

    /// LOGO or PRLO received from `port_id` (with the WWPN when the notify carried one):
    /// tears down the live session at that N_Port ID and any live session of that WWPN.
    /// Returns how many were torn down; the driver acks the LOGO once they are done
    /// (immediately when 0).
    pub fn logout(
        &mut self,
        port: LocalPort,
        port_id: PortId,
        wwpn: Option<Wwpn>,
        on_teardown: &mut impl FnMut(Teardown),
    ) -> usize {
        self.teardown_where(TeardownReason::Logout, on_teardown, |n| {
            n.port == port && (n.port_id == port_id || Some(n.wwpn) == wwpn)
        })
    }

    /// The firmware logged out the port with `handle` (Immediate Notify port logout).
    pub fn logout_handle(
        &mut self,
        port: LocalPort,
        handle: Handle,
        on_teardown: &mut impl FnMut(Teardown),
    ) -> usize {
        self.teardown_where(TeardownReason::PortLogout, on_teardown, |n| {
            n.port == port && n.handle == handle
        })
    }

    /// The firmware's port database now says `nexus.handle` is `nexus.wwpn` at
    /// `nexus.port_id`. A live session with that WWPN and N_Port ID keeps its identity and
    /// takes the handle; every other live session conflicting with `nexus` is torn down.
    /// Returns the session that was kept, if any (no session is created).
    pub fn port_db_changed(
        &mut self,
        nexus: Nexus,
        on_teardown: &mut impl FnMut(Teardown),
    ) -> Option<SessionRef> {
        let mut kept = None;
        for i in 0..N {
            let Some(s) = self.info(i) else { continue };
            if s.state == SessionState::TearingDown || !s.nexus.conflicts_with(&nexus) {
                continue;
            }
            if s.nexus.wwpn == nexus.wwpn && s.nexus.port_id == nexus.port_id {
                kept = Some(i);
                continue;
            }
            let keep_handle = s.nexus.handle == nexus.handle;
            self.start_teardown(i, TeardownReason::PortDbChanged, keep_handle, on_teardown);
        }
        let i = kept?;
        // The S_ID index hashes (port, port_id) only, so changing the handle keeps it valid.
        if let Some(s) = self.slots.get_mut(i).and_then(|s| s.session.as_mut()) {
            s.nexus.handle = nexus.handle;
        }
        self.ref_of(i)
    }

    /// Link down on one local port: every session on it is torn down.
    pub fn link_down(&mut self, port: LocalPort, on_teardown: &mut impl FnMut(Teardown)) -> usize {
        self.teardown_where(TeardownReason::LinkDown, on_teardown, |n| n.port == port)
    }

    /// Link down / reset of a whole HBA: every session on all its vps is torn down.
    pub fn hba_down(&mut self, target: u16, on_teardown: &mut impl FnMut(Teardown)) -> usize {
        self.teardown_where(TeardownReason::LinkDown, on_teardown, |n| {
            n.port.target == target
        })
    }

    /// ATIO path: the `Active` session whose initiator is `s_id` on `port`.
    pub fn lookup_sid(&self, port: LocalPort, s_id: PortId) -> Result<SessionRef, NoSession> {
        let mut cur = self
            .buckets
            .get(Self::bucket(port, s_id))
            .copied()
            .unwrap_or(NIL);
        // Bounded walk: a chain can never be longer than the table.
        for _ in 0..N {
            if cur == NIL {
                break;
            }
            let Some(slot) = self.slots.get(usize::from(cur)) else {
                break;
            };
            if let Some(s) = &slot.session {
                if s.state == SessionState::Active
                    && s.nexus.port == port
                    && s.nexus.port_id == s_id
                {
                    return Ok(SessionRef {
                        slot: cur,
                        generation: s.generation,
                    });
                }
            }
            cur = slot.next;
        }
        Err(NoSession)
    }

    /// Notify/TMR path: the live (`LoginPending` or `Active`) session with `handle` on `port`.
    pub fn lookup_handle(&self, port: LocalPort, handle: Handle) -> Option<SessionRef> {
        (0..N).find_map(|i| {
            let s = self.info(i)?;
            (s.state != SessionState::TearingDown
                && s.nexus.port == port
                && s.nexus.handle == handle)
                .then(|| self.ref_of(i))
                .flatten()
        })
    }

    /// The current state of the incarnation `r`.
    pub fn get(&self, r: SessionRef) -> Result<SessionInfo, StaleRef> {
        match self.info(usize::from(r.slot)) {
            Some(s) if s.generation == r.generation => Ok(s),
            _ => Err(StaleRef),
        }
    }

    /// Command execution check: `r` still names an `Active` session.
    pub fn check_active(&self, r: SessionRef) -> Result<SessionInfo, NoSession> {
        match self.get(r) {
            Ok(s) if s.state == SessionState::Active => Ok(s),
            _ => Err(NoSession),
        }
    }

    /// Every occupied slot, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (SessionRef, SessionInfo)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            let s = s.session?;
            Some((
                SessionRef {
                    slot: i as u16,
                    generation: s.generation,
                },
                s,
            ))
        })
    }

    // --- internals ---

    fn info(&self, i: usize) -> Option<SessionInfo> {
        self.slots.get(i).and_then(|s| s.session)
    }

    fn ref_of(&self, i: usize) -> Option<SessionRef> {
        let s = self.info(i)?;
        Some(SessionRef {
            slot: u16::try_from(i).ok()?,
            generation: s.generation,
        })
    }

    fn set_state(&mut self, i: usize, state: SessionState) {
        if let Some(s) = self.slots.get_mut(i).and_then(|s| s.session.as_mut()) {
            s.state = state;
        }
    }

    /// A `LoginPending` session with this identity must wait while any conflicting session
    /// is still tearing down.
    fn blocked(&self, nexus: &Nexus) -> bool {
        self.slots.iter().any(|s| match &s.session {
            Some(t) => t.state == SessionState::TearingDown && t.nexus.conflicts_with(nexus),
            None => false,
        })
    }

    fn teardown_where(
        &mut self,
        reason: TeardownReason,
        on_teardown: &mut impl FnMut(Teardown),
        pred: impl Fn(&Nexus) -> bool,
    ) -> usize {
        let mut count = 0usize;
        for i in 0..N {
            let Some(s) = self.info(i) else { continue };
            if s.state != SessionState::TearingDown && pred(&s.nexus) {
                self.start_teardown(i, reason, false, on_teardown);
                count = count.saturating_add(1);
            }
        }
        count
    }

    fn start_teardown(
        &mut self,
        i: usize,
        reason: TeardownReason,
        keep_handle: bool,
        on_teardown: &mut impl FnMut(Teardown),
    ) {
        let Some(s) = self.info(i) else { return };
        let Some(r) = self.ref_of(i) else { return };
        if s.state == SessionState::TearingDown {
            return;
        }
        if s.state == SessionState::Active {
            self.index_remove(i, &s.nexus);
        }
        self.set_state(i, SessionState::TearingDown);
        on_teardown(Teardown {
            session: r,
            nexus: s.nexus,
            was: s.state,
            reason,
            keep_handle,
        });
    }

    fn bucket(port: LocalPort, port_id: PortId) -> usize {
        let key = (u64::from(port.target) << 40)
            | (u64::from(port.vp_index) << 24)
            | u64::from(port_id.get());
        let h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
        (h as usize).checked_rem(N).unwrap_or(0)
    }

    fn index_insert(&mut self, i: usize, nexus: &Nexus) {
        let b = Self::bucket(nexus.port, nexus.port_id);
        let (Some(head), Ok(i16)) = (self.buckets.get_mut(b), u16::try_from(i)) else {
            return;
        };
        let old_head = *head;
        *head = i16;
        if let Some(slot) = self.slots.get_mut(i) {
            slot.next = old_head;
        }
    }

    fn index_remove(&mut self, i: usize, nexus: &Nexus) {
        let b = Self::bucket(nexus.port, nexus.port_id);
        let Some(&head) = self.buckets.get(b) else {
            return;
        };
        let next_of_i = self.slots.get(i).map_or(NIL, |s| s.next);
        if usize::from(head) == i {
            if let Some(h) = self.buckets.get_mut(b) {
                *h = next_of_i;
            }
        } else {
            let mut cur = head;
            for _ in 0..N {
                if cur == NIL {
                    break;
                }
                let Some(next) = self.slots.get(usize::from(cur)).map(|s| s.next) else {
                    break;
                };
                if usize::from(next) == i {
                    if let Some(c) = self.slots.get_mut(usize::from(cur)) {
                        c.next = next_of_i;
                    }
                    break;
                }
                cur = next;
            }
        }
        if let Some(slot) = self.slots.get_mut(i) {
            slot.next = NIL;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L0: LocalPort = LocalPort {
        target: 0,
        vp_index: 0,
    };
    const L1: LocalPort = LocalPort {
        target: 0,
        vp_index: 1,
    };
    const L2: LocalPort = LocalPort {
        target: 1,
        vp_index: 0,
    };
    const A: Wwpn = Wwpn(0x2100_0024_ff31_4c5a);
    const B: Wwpn = Wwpn(0x2100_0024_ff31_4c5b);
    const X: PortId = PortId::new(0x01_0101);
    const X2: PortId = PortId::new(0x01_0201);
    const H: Handle = Handle(1);
    const H2: Handle = Handle(2);

    fn nx(port: LocalPort, wwpn: Wwpn, port_id: PortId, handle: Handle) -> Nexus {
        Nexus {
            port,
            wwpn,
            port_id,
            handle,
        }
    }

    fn collect<T>(v: &mut Vec<T>) -> impl FnMut(T) + '_ {
        move |t| v.push(t)
    }

    /// PLOGI + PRLI + activate for a login that must be ready at once.
    fn login_active<const N: usize>(t: &mut SessionTable<N>, n: Nexus) -> SessionRef {
        let mut down = Vec::new();
        let l = t.plogi(n, &mut collect(&mut down)).unwrap();
        assert!(l.ready && l.new_session);
        assert!(down.is_empty(), "{down:?}");
        let p = t.prli(n, &mut collect(&mut down)).unwrap();
        assert_eq!(
            p,
            Login {
                session: l.session,
                ready: true,
                new_session: false
            }
        );
        t.activate(l.session).unwrap();
        l.session
    }

    fn wwpn_at<const N: usize>(t: &SessionTable<N>, port: LocalPort, id: PortId) -> Option<Wwpn> {
        let r = t.lookup_sid(port, id).ok()?;
        Some(t.check_active(r).unwrap().nexus.wwpn)
    }

    #[test]
    fn login_states_and_lookups() {
        let mut t = SessionTable::<8>::new();
        let n = nx(L0, A, X, H);
        let l = t.plogi(n, &mut |_| panic!("no teardown")).unwrap();
        assert_eq!(t.get(l.session).unwrap().state, SessionState::LoginPending);
        // Pending sessions carry no commands but are found by handle.
        assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
        assert_eq!(t.lookup_handle(L0, H), Some(l.session));
        assert_eq!(t.check_active(l.session), Err(NoSession));
        t.activate(l.session).unwrap();
        assert_eq!(t.activate(l.session), Err(ActivateError::NotPending));
        assert_eq!(t.lookup_sid(L0, X), Ok(l.session));
        assert_eq!(t.lookup_sid(L1, X), Err(NoSession));
        assert_eq!(t.lookup_sid(L0, X2), Err(NoSession));
        assert_eq!(t.lookup_handle(L1, H), None);
        assert_eq!(t.len(), 1);
        let info = t.get(l.session).unwrap();
        assert_eq!(
            info,
            SessionInfo {
                nexus: n,
                state: SessionState::Active,
                generation: 1
            }
        );
    }

    /// Seed scenario (a): vHBA A deleted, B created reusing A's N_Port ID and handle, and
    /// A's LOGO was never seen.
    #[test]
    fn seed_a_slot_reuse_without_logo() {
        let mut t = SessionTable::<8>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let mut down = Vec::new();
        let b = t.plogi(nx(L0, B, X, H), &mut collect(&mut down)).unwrap();
        assert_eq!(
            down,
            [Teardown {
                session: a,
                nexus: nx(L0, A, X, H),
                was: SessionState::Active,
                reason: TeardownReason::Conflict,
                keep_handle: true,
            }]
        );
        assert!(!b.ready && b.new_session);
        // A's map is unreachable at once, B is not yet reachable: X gets BUSY.
        assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
        assert_eq!(t.check_active(a), Err(NoSession));
        assert_eq!(t.lookup_handle(L0, H), Some(b.session));
        assert_eq!(t.activate(b.session), Err(ActivateError::NotReady));
        assert_eq!(t.login_ready(b.session), Ok(false));
        let mut ready = Vec::new();
        t.teardown_done(a, &mut collect(&mut ready)).unwrap();
        assert_eq!(ready, [b.session]);
        assert_eq!(t.get(a), Err(StaleRef));
        let p = t
            .prli(nx(L0, B, X, H), &mut |_| panic!("no teardown"))
            .unwrap();
        assert_eq!(
            p,
            Login {
                session: b.session,
                ready: true,
                new_session: false
            }
        );
        t.activate(b.session).unwrap();
        assert_eq!(wwpn_at(&t, L0, X), Some(B));
        // The slot may be reused but the old reference stays dead.
        assert_eq!(t.get(a), Err(StaleRef));
        assert_eq!(
            t.teardown_done(a, &mut |_| ()),
            Err(TeardownDoneError::Stale)
        );
    }

    /// Seed scenario (a) when A's LOGO was seen but its teardown is still running.
    #[test]
    fn seed_a_slot_reuse_with_logo() {
        let mut t = SessionTable::<8>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let mut down = Vec::new();
        assert_eq!(t.logout(L0, X, Some(A), &mut collect(&mut down)), 1);
        assert_eq!(down.len(), 1);
        assert_eq!(
            (down[0].session, down[0].reason),
            (a, TeardownReason::Logout)
        );
        assert!(!down[0].keep_handle);
        let b = t
            .plogi(nx(L0, B, X, H), &mut |_| {
                panic!("A is already tearing down")
            })
            .unwrap();
        assert!(!b.ready);
        assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
        let mut ready = Vec::new();
        t.teardown_done(a, &mut collect(&mut ready)).unwrap();
        assert_eq!(ready, [b.session]);
        t.activate(b.session).unwrap();
        assert_eq!(wwpn_at(&t, L0, X), Some(B));
    }

    /// Seed scenario (b): A migrates to a second initiator port (new N_Port ID) while B
    /// takes A's old N_Port ID and handle; both orders of arrival.
    #[test]
    fn seed_b_migration_and_slot_reuse() {
        for migration_first in [true, false] {
            let mut t = SessionTable::<8>::new();
            let a = login_active(&mut t, nx(L0, A, X, H));
            let mut down = Vec::new();
            let (a2, b) = if migration_first {
                let a2 = t.plogi(nx(L0, A, X2, H2), &mut collect(&mut down)).unwrap();
                let b = t.plogi(nx(L0, B, X, H), &mut collect(&mut down)).unwrap();
                (a2, b)
            } else {
                let b = t.plogi(nx(L0, B, X, H), &mut collect(&mut down)).unwrap();
                let a2 = t.plogi(nx(L0, A, X2, H2), &mut collect(&mut down)).unwrap();
                (a2, b)
            };
            let expect_reason = if migration_first {
                TeardownReason::Migrated
            } else {
                TeardownReason::Conflict
            };
            assert_eq!(down.len(), 1);
            assert_eq!((down[0].session, down[0].reason), (a, expect_reason));
            assert_eq!(down[0].keep_handle, !migration_first);
            assert!(!a2.ready && !b.ready);
            assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
            assert_eq!(t.lookup_sid(L0, X2), Err(NoSession));
            let mut ready = Vec::new();
            t.teardown_done(a, &mut collect(&mut ready)).unwrap();
            ready.sort_by_key(|r| r.generation());
            let mut both = [a2.session, b.session];
            both.sort_by_key(|r| r.generation());
            assert_eq!(ready, both);
            t.activate(a2.session).unwrap();
            t.activate(b.session).unwrap();
            assert_eq!(wwpn_at(&t, L0, X), Some(B));
            assert_eq!(wwpn_at(&t, L0, X2), Some(A));
        }
    }

    #[test]
    fn relogin_makes_new_generation_and_aborts_old() {
        let mut t = SessionTable::<8>::new();
        let n = nx(L0, A, X, H);
        let a = login_active(&mut t, n);
        let mut down = Vec::new();
        let again = t.plogi(n, &mut collect(&mut down)).unwrap();
        assert!(again.new_session && !again.ready);
        assert!(again.session.generation() > a.generation());
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].reason, TeardownReason::Relogin);
        assert!(down[0].keep_handle);
        // Re-PRLI on an active session is an implicit PRLO as well.
        t.teardown_done(a, &mut |_| ()).unwrap();
        t.activate(again.session).unwrap();
        down.clear();
        let third = t.prli(n, &mut collect(&mut down)).unwrap();
        assert!(third.new_session && !third.ready);
        assert_eq!(down.len(), 1);
        assert_eq!(
            (down[0].session, down[0].reason),
            (again.session, TeardownReason::Relogin)
        );
        // Same WWPN and N_Port ID but a new handle: still a re-login.
        t.teardown_done(again.session, &mut |_| ()).unwrap();
        down.clear();
        let fourth = t.plogi(nx(L0, A, X, H2), &mut collect(&mut down)).unwrap();
        assert_eq!(down.len(), 1);
        assert_eq!(
            (down[0].session, down[0].reason),
            (third.session, TeardownReason::Relogin)
        );
        assert!(!down[0].keep_handle);
        assert!(fourth.new_session);
    }

    #[test]
    fn duplicate_plogi_while_pending_merges() {
        let mut t = SessionTable::<8>::new();
        let n = nx(L0, A, X, H);
        let first = t.plogi(n, &mut |_| panic!()).unwrap();
        let second = t.plogi(n, &mut |_| panic!()).unwrap();
        assert_eq!(
            second,
            Login {
                session: first.session,
                ready: true,
                new_session: false
            }
        );
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn handle_conflict_with_other_port_id() {
        let mut t = SessionTable::<8>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let mut down = Vec::new();
        let b = t.plogi(nx(L0, B, X2, H), &mut collect(&mut down)).unwrap();
        assert_eq!(down.len(), 1);
        assert_eq!(
            (down[0].session, down[0].reason),
            (a, TeardownReason::Conflict)
        );
        assert!(down[0].keep_handle);
        assert!(!b.ready);
        // Sessions on other local ports are independent.
        let other = login_active(&mut t, nx(L1, A, X, H));
        assert_eq!(t.lookup_sid(L1, X), Ok(other));
    }

    #[test]
    fn prli_without_plogi_creates_session() {
        let mut t = SessionTable::<8>::new();
        let l = t.prli(nx(L0, A, X, H), &mut |_| panic!()).unwrap();
        assert!(l.ready && l.new_session);
        t.activate(l.session).unwrap();
        assert_eq!(wwpn_at(&t, L0, X), Some(A));
    }

    #[test]
    fn table_full_rejects_but_still_tears_down_conflicts() {
        let mut t = SessionTable::<2>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let other = login_active(&mut t, nx(L1, B, X2, H2));
        let mut down = Vec::new();
        let err = t.plogi(nx(L0, B, X, H2), &mut collect(&mut down));
        assert_eq!(err, Err(LoginError::TableFull));
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].session, a);
        // The unrelated live session is untouched.
        assert_eq!(t.lookup_sid(L1, X2), Ok(other));
        assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
        t.teardown_done(a, &mut |_| panic!("nothing pending"))
            .unwrap();
        let b = t.plogi(nx(L0, B, X, H2), &mut |_| panic!()).unwrap();
        assert!(b.ready);
    }

    #[test]
    fn invalid_logins_change_nothing() {
        let mut t = SessionTable::<4>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let cases = [
            (nx(L0, Wwpn(0), X, H), LoginError::ZeroWwpn),
            (
                nx(L0, B, PortId::new(0xff_fffe), H),
                LoginError::WellKnownAddress,
            ),
            (
                nx(L0, B, PortId::new(0xff_f000), H2),
                LoginError::WellKnownAddress,
            ),
        ];
        for (n, e) in cases {
            assert_eq!(t.plogi(n, &mut |_| panic!()), Err(e));
            assert_eq!(t.prli(n, &mut |_| panic!()), Err(e));
        }
        assert_eq!(t.lookup_sid(L0, X), Ok(a));
        assert_eq!(t.len(), 1);
        // The top of the fabric-assigned range is still a valid N_Port ID.
        assert!(t
            .plogi(nx(L1, B, PortId::new(0xff_efff), H), &mut |_| ())
            .is_ok());
    }

    #[test]
    fn generation_exhaustion_is_an_error() {
        let mut t = SessionTable::<4>::new();
        t.next_generation = u64::MAX;
        assert_eq!(
            t.plogi(nx(L0, A, X, H), &mut |_| ()),
            Err(LoginError::GenerationsExhausted)
        );
        assert!(t.is_empty());
    }

    #[test]
    fn link_and_hba_down_scope() {
        let mut t = SessionTable::<8>::new();
        login_active(&mut t, nx(L0, A, X, H));
        login_active(&mut t, nx(L1, A, X, H));
        let pending = t.plogi(nx(L1, B, X2, H2), &mut |_| ()).unwrap();
        let far = login_active(&mut t, nx(L2, A, X, H));
        let mut down = Vec::new();
        assert_eq!(t.link_down(L0, &mut collect(&mut down)), 1);
        assert_eq!(down[0].nexus.port, L0);
        down.clear();
        assert_eq!(t.hba_down(0, &mut collect(&mut down)), 2);
        assert!(down
            .iter()
            .all(|d| d.reason == TeardownReason::LinkDown && d.nexus.port == L1));
        assert!(down
            .iter()
            .any(|d| d.session == pending.session && d.was == SessionState::LoginPending));
        assert_eq!(t.hba_down(0, &mut |_| panic!("already tearing down")), 0);
        assert_eq!(t.lookup_sid(L2, X), Ok(far));
        assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
    }

    #[test]
    fn logout_by_handle_and_by_wwpn() {
        let mut t = SessionTable::<8>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let b = login_active(&mut t, nx(L0, B, X2, H2));
        let mut down = Vec::new();
        assert_eq!(t.logout_handle(L0, Handle(9), &mut collect(&mut down)), 0);
        assert_eq!(t.logout_handle(L1, H, &mut collect(&mut down)), 0);
        assert_eq!(t.logout_handle(L0, H, &mut collect(&mut down)), 1);
        assert_eq!(
            (down[0].session, down[0].reason),
            (a, TeardownReason::PortLogout)
        );
        down.clear();
        // A LOGO naming B's WWPN from an unknown N_Port ID still ends B's session.
        assert_eq!(
            t.logout(L0, PortId::new(0x77), Some(B), &mut collect(&mut down)),
            1
        );
        assert_eq!(down[0].session, b);
        assert_eq!(t.logout(L0, X, None, &mut |_| panic!()), 0);
    }

    #[test]
    fn port_db_change_keeps_identity_and_moves_handle() {
        let mut t = SessionTable::<8>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let b = login_active(&mut t, nx(L0, B, X2, H2));
        let mut down = Vec::new();
        // The firmware now binds handle H2 to A at X: A keeps its session, B is stale.
        let kept = t.port_db_changed(nx(L0, A, X, H2), &mut collect(&mut down));
        assert_eq!(kept, Some(a));
        assert_eq!(down.len(), 1);
        assert_eq!(
            (down[0].session, down[0].reason),
            (b, TeardownReason::PortDbChanged)
        );
        assert!(down[0].keep_handle);
        assert_eq!(t.check_active(a).unwrap().nexus.handle, H2);
        assert_eq!(t.lookup_sid(L0, X), Ok(a));
        assert_eq!(t.lookup_handle(L0, H2), Some(a));
        assert_eq!(t.lookup_handle(L0, H), None);
        // A WWPN moved to another N_Port ID: no session is kept.
        down.clear();
        assert_eq!(
            t.port_db_changed(nx(L0, A, X2, H2), &mut collect(&mut down)),
            None
        );
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].session, a);
        assert_eq!(t.lookup_sid(L0, X), Err(NoSession));
    }

    #[test]
    fn teardown_done_checks_state() {
        let mut t = SessionTable::<4>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        assert_eq!(
            t.teardown_done(a, &mut |_| ()),
            Err(TeardownDoneError::NotTearingDown)
        );
        t.link_down(L0, &mut |_| ());
        assert_eq!(t.activate(a), Err(ActivateError::NotPending));
        assert_eq!(t.login_ready(a), Ok(false));
        t.teardown_done(a, &mut |_| ()).unwrap();
        assert_eq!(
            t.teardown_done(a, &mut |_| ()),
            Err(TeardownDoneError::Stale)
        );
        assert_eq!(t.activate(a), Err(ActivateError::Stale));
        assert_eq!(t.login_ready(a), Err(StaleRef));
        assert!(t.is_empty());
    }

    /// A pending login blocked by two sessions becomes ready only when the last one goes.
    #[test]
    fn ready_reported_once_after_last_blocker() {
        let mut t = SessionTable::<8>::new();
        let a = login_active(&mut t, nx(L0, A, X, H));
        let b = login_active(&mut t, nx(L0, B, X2, H2));
        let c = t.plogi(nx(L0, Wwpn(0x99), X, H2), &mut |_| ()).unwrap();
        assert!(!c.ready);
        t.teardown_done(a, &mut |_| panic!("B still blocks"))
            .unwrap();
        let mut ready = Vec::new();
        t.teardown_done(b, &mut collect(&mut ready)).unwrap();
        assert_eq!(ready, [c.session]);
    }

    /// With 4 buckets and 4 sessions the S_ID chains collide; removal from the middle and
    /// head of a chain must keep every other session reachable.
    #[test]
    fn hash_chains_survive_removal_order() {
        let ids = [0x01_0101u32, 0x01_0102, 0x01_0103, 0x01_0104];
        for victim in 0..ids.len() {
            let mut t = SessionTable::<4>::new();
            let refs: Vec<_> = ids
                .iter()
                .enumerate()
                .map(|(i, &id)| {
                    login_active(
                        &mut t,
                        nx(
                            L0,
                            Wwpn(0x100 + i as u64),
                            PortId::new(id),
                            Handle(i as u16),
                        ),
                    )
                })
                .collect();
            t.logout(L0, PortId::new(ids[victim]), None, &mut |_| ());
            for (i, &id) in ids.iter().enumerate() {
                let found = t.lookup_sid(L0, PortId::new(id));
                if i == victim {
                    assert_eq!(found, Err(NoSession));
                } else {
                    assert_eq!(found, Ok(refs[i]));
                }
            }
            t.teardown_done(refs[victim], &mut |_| ()).unwrap();
            let again = login_active(
                &mut t,
                nx(L0, Wwpn(0x200), PortId::new(ids[victim]), Handle(9)),
            );
            assert_eq!(t.lookup_sid(L0, PortId::new(ids[victim])), Ok(again));
            assert_ne!(again, refs[victim]);
            assert_eq!(again.slot(), refs[victim].slot());
        }
    }
}
