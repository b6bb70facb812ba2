//! Target-mode logic of one HBA, between its rings and the target core: logins by the
//! identity rule (ARCHITECTURE.md §5), exchanges from ATIO to the final CTIO, ABTS, TMFs.
//!
//! The driver decodes ring entries and calls in here; everything to put on the request
//! ring is handed to a [`RequestQueue`]; session changes go to the core through
//! [`SessionCore`]. No allocation, no locking: the kernel driver keeps one [`Port`] per HBA
//! behind its own lock and runs commands (backend I/O) outside it.
//!
//! The rules this module enforces:
//! - A login's Notify Ack is held until every conflicting session (another WWPN on the same
//!   N_Port ID or handle; the same WWPN at a new N_Port ID) is torn down, i.e. until the
//!   driver has no exchange of theirs left. A held login that is itself torn down is
//!   answered with a terminating Notify Ack (the initiator retries).
//! - An ATIO is routed by D_ID to its vp and by S_ID to the active session; every exchange
//!   remembers the session incarnation ([`SessionRef`]) it arrived on. An exchange whose
//!   session was torn down never sends data or status: its replies become a terminate.
//! - An ATIO from an S_ID without an active session is answered BUSY and never reaches the
//!   core.

use core::mem::MaybeUninit;

use crate::iocb::{
    ctio_flags, ctio_status, ss, tmf, AbtsRecv24, AbtsResp24, Atio7, Ctio7, Ctio7Body, Ctio7Status,
    Dsd64, Entry, ImmNotify24, NotifyAck24, CTIO7_NHANDLE_UNRECOGNIZED, CTIO7_SENSE_LEN,
    CTIO_COMPLETION_HANDLE_MARK, EXCHANGE_ADDRESS_UNKNOWN, SKIP_HANDLE,
};
use crate::notify::{AsyncEvent, NotifyEvent, RemotePort};
use crate::ring::DataSegments;
use scst_core::exec::Residual;
use scst_core::identity::{ActivateError, Login, Nexus, SessionRef, Teardown, TeardownDoneError};
use scst_core::lu::{LuStore, TaskEvents};
use scst_core::target::{LoginRefused, Target, TargetEvents};
use scst_core::task_set::{AbortOutcome, TaskKey};
use scst_core::tmf::{AbortNotice, TmfFunction};
use scst_core::types::{DataDirection, Handle, LocalPort, Lun, PortId, TaskAttr, Wwpn};

/// Virtual ports (vp_index 0 = the physical port) one HBA routes.
pub const MAX_VPS: usize = 16;

/// SCSI BUSY.
const STATUS_BUSY: u8 = 0x08;
/// SCSI TASK SET FULL.
const STATUS_TASK_SET_FULL: u8 = 0x28;
/// SCSI CHECK CONDITION.
const STATUS_CHECK_CONDITION: u8 = 0x02;
/// Handle of CTIOs that answer an ATIO the driver keeps no exchange for.
const REFUSAL_HANDLE: u32 = CTIO_COMPLETION_HANDLE_MARK | 0xFFFF;
/// Fixed sense: ILLEGAL REQUEST / INVALID FIELD IN COMMAND INFORMATION UNIT (0Eh/03h).
const SENSE_INVALID_IU: [u8; 18] = [
    0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x0E, 0x03, 0, 0, 0, 0,
];

/// Where the port logic puts request-ring entries.
pub trait RequestQueue {
    /// Queues `count` entries in ring order (a CTIO7 and its continuations are one call).
    /// Returns false, having queued nothing, when the ring lacks room.
    fn post(&mut self, count: u16, entries: &mut dyn Iterator<Item = Entry>) -> bool;
}

/// Receives what the core reports while it handles a session event.
pub trait SessionSink {
    /// A session is being torn down (its tasks are already aborted in the core).
    fn teardown(&mut self, t: Teardown);
    /// A held login became ready.
    fn ready(&mut self, r: SessionRef);
}

/// ATIO routing: the active session for an S_ID.
pub trait SessionLookup {
    /// The active session for `s_id` on `port` and its N_Port handle.
    fn lookup(&self, port: LocalPort, s_id: PortId) -> Option<(SessionRef, Handle)>;
}

/// The target core as the port logic needs it (session events and lookups). Implemented
/// for the real core by [`TargetCore`]. With NPIV each virtual port may belong to another
/// target (engine): session references are then only unique per vp, which is why every
/// call names its vp (in the nexus / local port, or explicitly) and the port logic keys its
/// own state on (vp, session).
pub trait SessionCore: SessionLookup {
    /// PLOGI.
    fn plogi(&mut self, n: Nexus, sink: &mut dyn SessionSink) -> Result<Login, LoginRefused>;
    /// PRLI.
    fn prli(&mut self, n: Nexus, sink: &mut dyn SessionSink) -> Result<Login, LoginRefused>;
    /// Makes a ready login of virtual port `vp` active (resolves its LUN map).
    fn activate(&mut self, vp: u8, r: SessionRef) -> Result<(), ActivateError>;
    /// The driver holds nothing more of a session of `vp` being torn down.
    fn teardown_done(
        &mut self,
        vp: u8,
        r: SessionRef,
        sink: &mut dyn SessionSink,
    ) -> Result<(), TeardownDoneError>;
    /// LOGO / PRLO by N_Port ID (and WWPN when known).
    fn logout(
        &mut self,
        port: LocalPort,
        port_id: PortId,
        wwpn: Option<Wwpn>,
        sink: &mut dyn SessionSink,
    ) -> usize;
    /// The firmware logged a handle out.
    fn logout_handle(
        &mut self,
        port: LocalPort,
        handle: Handle,
        sink: &mut dyn SessionSink,
    ) -> usize;
    /// Link down or reset of every vp of HBA `target`.
    fn hba_down(&mut self, target: u16, sink: &mut dyn SessionSink) -> usize;
    /// Every session of one local port (vp) ends (its target let go of it).
    fn port_down(&mut self, port: LocalPort, sink: &mut dyn SessionSink) -> usize;
}

/// [`SessionCore`] over the real core: a target, its LU store and a sink for task events
/// (tasks aborted by a teardown).
pub struct TargetCore<'a, const S: usize, St: LuStore, T: TaskEvents> {
    /// The target.
    pub target: &'a mut Target<S>,
    /// Its logical units.
    pub store: &'a St,
    /// Task events raised while sessions are torn down.
    pub tasks: &'a mut T,
}

struct Adapter<'s, 't, T: TaskEvents> {
    sink: &'s mut dyn SessionSink,
    tasks: &'t mut T,
}

impl<T: TaskEvents> TaskEvents for Adapter<'_, '_, T> {
    fn task_aborted(&mut self, key: TaskKey, outcome: AbortOutcome, notice: AbortNotice) {
        self.tasks.task_aborted(key, outcome, notice);
    }
    fn task_unblocked(&mut self, key: TaskKey) {
        self.tasks.task_unblocked(key);
    }
}

impl<T: TaskEvents> TargetEvents for Adapter<'_, '_, T> {
    fn session_teardown(&mut self, t: Teardown) {
        self.sink.teardown(t);
    }
    fn login_ready(&mut self, r: SessionRef) {
        self.sink.ready(r);
    }
}

impl<const S: usize, St: LuStore, T: TaskEvents> SessionCore for TargetCore<'_, S, St, T> {
    fn plogi(&mut self, n: Nexus, sink: &mut dyn SessionSink) -> Result<Login, LoginRefused> {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.plogi(self.store, n, &mut a)
    }
    fn prli(&mut self, n: Nexus, sink: &mut dyn SessionSink) -> Result<Login, LoginRefused> {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.prli(self.store, n, &mut a)
    }
    fn activate(&mut self, _vp: u8, r: SessionRef) -> Result<(), ActivateError> {
        self.target.activate(self.store, r)
    }
    fn teardown_done(
        &mut self,
        _vp: u8,
        r: SessionRef,
        sink: &mut dyn SessionSink,
    ) -> Result<(), TeardownDoneError> {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.teardown_done(r, &mut a)
    }
    fn logout(
        &mut self,
        port: LocalPort,
        port_id: PortId,
        wwpn: Option<Wwpn>,
        sink: &mut dyn SessionSink,
    ) -> usize {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.logout(self.store, port, port_id, wwpn, &mut a)
    }
    fn logout_handle(
        &mut self,
        port: LocalPort,
        handle: Handle,
        sink: &mut dyn SessionSink,
    ) -> usize {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.logout_handle(self.store, port, handle, &mut a)
    }
    fn hba_down(&mut self, target: u16, sink: &mut dyn SessionSink) -> usize {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.hba_down(self.store, target, &mut a)
    }
    fn port_down(&mut self, port: LocalPort, sink: &mut dyn SessionSink) -> usize {
        let mut a = Adapter {
            sink,
            tasks: &mut *self.tasks,
        };
        self.target.link_down(self.store, port, &mut a)
    }
}

impl<const S: usize, St: LuStore, T: TaskEvents> SessionLookup for TargetCore<'_, S, St, T> {
    fn lookup(&self, port: LocalPort, s_id: PortId) -> Option<(SessionRef, Handle)> {
        let r = self.target.sessions().lookup_sid(port, s_id).ok()?;
        let info = self.target.sessions().check_active(r).ok()?;
        Some((r, info.nexus.handle))
    }
}

/// Names one exchange incarnation: slot plus generation (a stale id never reaches the
/// exchange that reuses the slot). Also the CTIO handle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExchangeId {
    slot: u16,
    generation: u16,
}

impl ExchangeId {
    /// Slot index (below the port's exchange capacity): drivers index per-exchange state
    /// by it.
    pub const fn slot(self) -> u16 {
        self.slot
    }
    /// The CTIO7 handle carrying this id (bit 29 marks target-mode completions).
    pub const fn handle(self) -> u32 {
        CTIO_COMPLETION_HANDLE_MARK | ((self.generation as u32 & 0x0FFF) << 16) | self.slot as u32
    }
    const fn from_handle(h: u32) -> Option<ExchangeId> {
        if h & !0x0FFF_FFFF != CTIO_COMPLETION_HANDLE_MARK || h == REFUSAL_HANDLE {
            return None;
        }
        Some(ExchangeId {
            slot: (h & 0xFFFF) as u16,
            generation: ((h >> 16) & 0x0FFF) as u16,
        })
    }
}

/// One FCP exchange as the driver runs it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Exchange {
    /// Its id (pass it back to every call about it).
    pub id: ExchangeId,
    /// The session incarnation the command arrived on.
    pub session: SessionRef,
    /// Local port (vp) it arrived on.
    pub port: LocalPort,
    /// Initiator N_Port ID.
    pub s_id: PortId,
    /// The session's N_Port handle.
    pub nport_handle: Handle,
    /// Firmware exchange address (also the SCSI task tag).
    pub exchange_addr: u32,
    /// OX_ID.
    pub ox_id: u16,
    /// ATIO attribute nibble (echoed in CTIOs).
    pub attr: u8,
    /// LUN.
    pub lun: Lun,
    /// Task attribute.
    pub task_attr: TaskAttr,
    /// Data direction from the FCP_CMND.
    pub direction: DataDirection,
    /// FCP_DL.
    pub data_length: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Free,
    /// The driver has it (executing, or about to request data-out).
    Driver,
    /// A data-out CTIO is with the firmware.
    DataOut,
    /// The final CTIO (status or terminate) is with the firmware.
    Final,
}

#[derive(Clone, Copy)]
struct XSlot {
    phase: Phase,
    generation: u16,
    /// The session went away or the exchange was aborted: reply with a terminate only.
    dead: bool,
    /// An ABTS for this exchange arrived while the driver had it (queued or executing): its
    /// BA_ACC waits until the driver's terminate completes, so the initiator never hears
    /// "aborted" while the command can still touch the medium.
    abts: Option<AbtsRecv24>,
    x: Exchange,
}

/// Placeholder in free exchange slots (never matched: free slots are skipped).
const NO_SESSION: SessionRef = SessionRef::NONE;

const EMPTY_EXCHANGE: Exchange = Exchange {
    id: ExchangeId {
        slot: 0,
        generation: 0,
    },
    session: NO_SESSION,
    port: LocalPort {
        target: 0,
        vp_index: 0,
    },
    s_id: PortId::new(0),
    nport_handle: Handle(0),
    exchange_addr: 0,
    ox_id: 0,
    attr: 0,
    lun: Lun(0),
    task_attr: TaskAttr::Simple,
    direction: DataDirection::None,
    data_length: 0,
};

const FREE_SLOT: XSlot = XSlot {
    phase: Phase::Free,
    generation: 0,
    dead: false,
    abts: None,
    x: EMPTY_EXCHANGE,
};

/// A login whose Notify Ack waits for conflicting sessions to go.
#[derive(Clone, Copy)]
struct Held {
    vp: u8,
    session: SessionRef,
    notify: ImmNotify24,
    prli: bool,
}

/// A session being torn down, with the exchanges the driver still has for it.
#[derive(Clone, Copy)]
struct Tearing {
    vp: u8,
    session: SessionRef,
    open: u32,
}

#[derive(Clone, Copy)]
struct VpSlot {
    port_id: PortId,
    up: bool,
}

/// Counters (all saturating).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct PortStats {
    /// ATIOs that became exchanges.
    pub commands: u64,
    /// ATIOs answered BUSY: no active session for the S_ID.
    pub no_session: u64,
    /// ATIOs for a D_ID no vp of this HBA has (terminated).
    pub unknown_d_id: u64,
    /// ATIOs answered TASK SET FULL: exchange table full.
    pub exchange_table_full: u64,
    /// ATIOs refused as malformed (bidirectional, reserved task attribute).
    pub bad_atio: u64,
    /// Logins acknowledged.
    pub logins_acked: u64,
    /// Logins held until conflicting sessions were gone.
    pub logins_held: u64,
    /// Logins refused (terminated Notify Ack).
    pub logins_refused: u64,
    /// Sessions torn down.
    pub teardowns: u64,
    /// Replies turned into terminates because the exchange's session or task was gone.
    pub terminated: u64,
    /// ABTS received.
    pub abts: u64,
    /// ABTS whose BA_ACC waited for the driver to finish the exchange.
    pub abts_deferred: u64,
    /// CTIO completions with an unknown or stale handle.
    pub stale_completions: u64,
    /// CTIO completions with an error status.
    pub ctio_errors: u64,
    /// Entries the request ring had no room for.
    pub ring_full: u64,
    /// Immediate Notify entries acknowledged without a session change.
    pub notifies_other: u64,
}

fn bump(c: &mut u64) {
    *c = c.saturating_add(1);
}

/// What the driver does with an ATIO.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AtioAction {
    /// Run the command (data-out first when `direction` is `ToDevice`).
    Execute(Exchange),
    /// Run a task management function, then [`Port::tmf_response`].
    Tmf(Exchange, TmfFunction),
    /// Answered or dropped here (see [`PortStats`]).
    Handled,
}

/// What a CTIO completion means to the driver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CtioDone {
    /// The data-out arrived: submit the command.
    DataOutReady(Exchange),
    /// The data-out failed, or the exchange died meanwhile: release its buffer; the
    /// exchange is finished (a terminate may already be queued).
    DataOutFailed(Exchange),
    /// The exchange is finished; release its buffer. `ok` = the final CTIO completed OK.
    Finished {
        /// The exchange.
        x: Exchange,
        /// Completion status was OK.
        ok: bool,
    },
    /// Not ours or stale (counted).
    Ignored,
}

/// What the driver does with an ABTS.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbtsAction {
    /// Abort this task in the core (ABORT TASK, tag = exchange address), then call
    /// [`Port::abts_respond`].
    Abort(Exchange),
    /// Answered here (no such exchange: nothing to abort; or an abort-sequence).
    Handled,
}

/// Why an exchange call was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExchangeError {
    /// The id is stale or the exchange is not with the driver.
    Stale,
    /// The scatter list does not fit a CTIO7 chain.
    TooManySegments,
    /// The request ring is full: try again later.
    RingFull,
}

/// The final status of a command, as the driver got it from the core.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reply<'a> {
    /// SCSI status byte.
    pub status: u8,
    /// Sense data (fixed or descriptor format), at most 24 bytes are sent.
    pub sense: &'a [u8],
    /// Residual.
    pub residual: Residual,
}

struct Events<const S: usize> {
    teardowns: [Option<Teardown>; S],
    ready: [Option<(u8, SessionRef)>; S],
    /// The vp of the core call in progress (a ready login belongs to the same vp as the
    /// teardown that freed it).
    vp: u8,
    lost: u64,
}

impl<const S: usize> SessionSink for Events<S> {
    fn teardown(&mut self, t: Teardown) {
        match self.teardowns.iter_mut().find(|s| s.is_none()) {
            Some(s) => *s = Some(t),
            None => bump(&mut self.lost),
        }
    }
    fn ready(&mut self, r: SessionRef) {
        let vp = self.vp;
        match self.ready.iter_mut().find(|s| s.is_none()) {
            Some(s) => *s = Some((vp, r)),
            None => bump(&mut self.lost),
        }
    }
}

/// The target-mode state of one HBA: `S` = session capacity of its target (bounds held
/// logins and sessions tearing down), `X` = exchanges in flight.
pub struct Port<const S: usize, const X: usize> {
    target: u16,
    vps: [VpSlot; MAX_VPS],
    xchg: [XSlot; X],
    open: usize,
    held: [Option<Held>; S],
    tearing: [Option<Tearing>; S],
    /// Sessions whose last exchange is gone: `teardown_done` at the next core call.
    drained: [Option<(u8, SessionRef)>; S],
    events: Events<S>,
    stats: PortStats,
}

impl<const S: usize, const X: usize> Port<S, X> {
    const CAPACITY_OK: () = assert!(S > 0 && X > 0 && X < 0xFFFF, "bad capacities");

    /// [`Port::new`]`(0)` as a constant, for in-place construction.
    pub const INIT: Self = Self::new(0);

    /// Initialises `this` in place (a copy from read-only data: no stack temporary, which
    /// the kernel cannot afford for the exchange table).
    pub fn init(this: &mut MaybeUninit<Self>, target: u16) -> &mut Self {
        let p = this.write(Self::INIT);
        p.target = target;
        p
    }

    /// An idle port for HBA number `target` (its `LocalPort::target`).
    // `#[inline]`: no out-of-line copy unless called at run time (see `init`).
    #[inline]
    pub const fn new(target: u16) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_OK;
        Port {
            target,
            vps: [VpSlot {
                port_id: PortId::new(0),
                up: false,
            }; MAX_VPS],
            xchg: [FREE_SLOT; X],
            open: 0,
            held: [None; S],
            tearing: [None; S],
            drained: [None; S],
            events: Events {
                teardowns: [None; S],
                ready: [None; S],
                vp: 0,
                lost: 0,
            },
            stats: PortStats {
                commands: 0,
                no_session: 0,
                unknown_d_id: 0,
                exchange_table_full: 0,
                bad_atio: 0,
                logins_acked: 0,
                logins_held: 0,
                logins_refused: 0,
                teardowns: 0,
                terminated: 0,
                abts: 0,
                abts_deferred: 0,
                stale_completions: 0,
                ctio_errors: 0,
                ring_full: 0,
                notifies_other: 0,
            },
        }
    }

    /// Counters.
    pub fn stats(&self) -> PortStats {
        self.stats
    }

    /// Exchanges in flight.
    pub fn open_exchanges(&self) -> usize {
        self.open
    }

    /// Logins whose Notify Ack is held.
    pub fn held_logins(&self) -> usize {
        self.held.iter().flatten().count()
    }

    /// Sessions waiting for their exchanges before the core frees them.
    pub fn sessions_tearing_down(&self) -> usize {
        self.tearing.iter().flatten().count()
    }

    /// Core events that found no room (a bug if ever non-zero: capacities too small).
    pub fn lost_events(&self) -> u64 {
        self.events.lost
    }

    /// Sets vp `vp`'s N_Port ID (from GET ADAPTER ID / Report ID Acquisition); `None`
    /// when it has none (link down, vp disabled). Unknown vp numbers are ignored.
    pub fn set_vp(&mut self, vp: u8, port_id: Option<PortId>) {
        if let Some(s) = self.vps.get_mut(usize::from(vp)) {
            *s = match port_id {
                Some(p) => VpSlot {
                    port_id: p,
                    up: true,
                },
                None => VpSlot {
                    port_id: PortId::new(0),
                    up: false,
                },
            };
        }
    }

    fn vp_of(&self, d_id: PortId) -> Option<u8> {
        self.vps
            .iter()
            .position(|v| v.up && v.port_id == d_id)
            .and_then(|i| u8::try_from(i).ok())
    }

    fn local(&self, vp: u8) -> LocalPort {
        LocalPort {
            target: self.target,
            vp_index: u16::from(vp),
        }
    }

    fn post(&mut self, q: &mut dyn RequestQueue, e: Entry) -> bool {
        self.post_n(q, 1, &mut core::iter::once(e))
    }

    fn post_n(
        &mut self,
        q: &mut dyn RequestQueue,
        count: u16,
        entries: &mut dyn Iterator<Item = Entry>,
    ) -> bool {
        let ok = q.post(count, entries);
        if !ok {
            bump(&mut self.stats.ring_full);
        }
        ok
    }

    /// After posting an exchange's CTIO: the firmware has it now (in `phase`), or the ring
    /// was full and the driver keeps it.
    fn handed_over(
        &mut self,
        id: ExchangeId,
        posted: bool,
        phase: Phase,
    ) -> Result<(), ExchangeError> {
        if !posted {
            return Err(ExchangeError::RingFull);
        }
        if let Some(s) = self.slot_mut(id) {
            s.phase = phase;
        }
        Ok(())
    }

    // ----- Immediate Notify / async events -------------------------------------------

    fn ack(&mut self, q: &mut dyn RequestQueue, n: &ImmNotify24, terminate: bool) {
        let e = NotifyAck24::for_notify(n, SKIP_HANDLE, terminate).encode();
        self.post(q, e);
    }

    fn nexus_of(&self, p: &RemotePort) -> Nexus {
        Nexus {
            port: self.local(p.vp_index),
            wwpn: p.wwpn,
            port_id: p.port_id,
            handle: p.handle,
        }
    }

    /// Handles an Immediate Notify: session changes through the core, then the Notify Ack
    /// (now, held, or terminating).
    pub fn notify(
        &mut self,
        core: &mut dyn SessionCore,
        n: &ImmNotify24,
        q: &mut dyn RequestQueue,
    ) {
        let ev = NotifyEvent::from_notify(n);
        match ev {
            NotifyEvent::Plogi { port, .. } => {
                self.events.vp = port.vp_index;
                let r = core.plogi(self.nexus_of(&port), &mut self.events);
                self.login(core, n, r, false, q);
            }
            NotifyEvent::Prli { port, .. } => {
                self.events.vp = port.vp_index;
                let r = core.prli(self.nexus_of(&port), &mut self.events);
                self.login(core, n, r, true, q);
            }
            NotifyEvent::Logo(p) | NotifyEvent::Prlo(p) | NotifyEvent::Tprlo(p) => {
                core.logout(
                    self.local(p.vp_index),
                    p.port_id,
                    Some(p.wwpn),
                    &mut self.events,
                );
                self.ack(q, n, false);
            }
            NotifyEvent::OtherEls { port, .. } => {
                core.logout(
                    self.local(port.vp_index),
                    port.port_id,
                    None,
                    &mut self.events,
                );
                self.ack(q, n, false);
            }
            NotifyEvent::PortLogout(p) => {
                core.logout_handle(self.local(p.vp_index), p.handle, &mut self.events);
                self.ack(q, n, false);
            }
            NotifyEvent::LipReset
            | NotifyEvent::LinkReinit
            | NotifyEvent::GlobalLogo
            | NotifyEvent::GlobalTprlo
            | NotifyEvent::PortConfigChanged => {
                core.hba_down(self.target, &mut self.events);
                self.ack(q, n, false);
            }
            NotifyEvent::Srr => {
                // Sequence retransmission is not supported: reject it; the initiator
                // recovers the exchange with ABTS.
                bump(&mut self.stats.notifies_other);
                self.ack(q, n, true);
            }
            NotifyEvent::Adisc(_)
            | NotifyEvent::Pdisc(_)
            | NotifyEvent::AbortTask { .. }
            | NotifyEvent::IocbOverflow
            | NotifyEvent::Resource
            | NotifyEvent::MsgRx
            | NotifyEvent::Unknown(_) => {
                bump(&mut self.stats.notifies_other);
                self.ack(q, n, false);
            }
        }
        self.settle(core, q);
        self.run_core_work(core, q);
    }

    fn login(
        &mut self,
        core: &mut dyn SessionCore,
        n: &ImmNotify24,
        r: Result<Login, LoginRefused>,
        prli: bool,
        q: &mut dyn RequestQueue,
    ) {
        let login = match r {
            Ok(l) => l,
            Err(_) => {
                bump(&mut self.stats.logins_refused);
                self.ack(q, n, true);
                return;
            }
        };
        let vp = n.vp_index;
        if login.ready {
            self.accept(core, vp, login.session, n, prli, q);
            return;
        }
        // Hold it; a newer ELS of the same pending session replaces an older held one.
        let held = Held {
            vp,
            session: login.session,
            notify: *n,
            prli,
        };
        if let Some(old) = self
            .held
            .iter_mut()
            .find(|h| h.is_some_and(|h| h.vp == vp && h.session == login.session))
        {
            let prev = old.replace(held);
            if let Some(p) = prev {
                self.ack(q, &p.notify, true);
            }
        } else if let Some(free) = self.held.iter_mut().find(|h| h.is_none()) {
            *free = Some(held);
        } else {
            bump(&mut self.stats.logins_refused);
            self.ack(q, n, true);
            return;
        }
        bump(&mut self.stats.logins_held);
    }

    fn accept(
        &mut self,
        core: &mut dyn SessionCore,
        vp: u8,
        session: SessionRef,
        n: &ImmNotify24,
        prli: bool,
        q: &mut dyn RequestQueue,
    ) {
        if prli && core.activate(vp, session).is_err() {
            bump(&mut self.stats.logins_refused);
            self.ack(q, n, true);
            return;
        }
        bump(&mut self.stats.logins_acked);
        self.ack(q, n, false);
    }

    /// Ends every session of the HBA (its target was disabled); vp routing is kept.
    pub fn end_sessions(&mut self, core: &mut dyn SessionCore, q: &mut dyn RequestQueue) {
        core.hba_down(self.target, &mut self.events);
        self.settle(core, q);
        self.run_core_work(core, q);
    }

    /// Ends every session of virtual port `vp` (its target was disabled or the vp deleted);
    /// routing is kept (see [`Port::set_vp`]).
    pub fn vp_down(&mut self, core: &mut dyn SessionCore, vp: u8, q: &mut dyn RequestQueue) {
        core.port_down(self.local(vp), &mut self.events);
        self.settle(core, q);
        self.run_core_work(core, q);
    }

    /// Handles an asynchronous event: link down ends every session of the HBA.
    pub fn async_event(
        &mut self,
        core: &mut dyn SessionCore,
        ev: AsyncEvent,
        q: &mut dyn RequestQueue,
    ) {
        if let AsyncEvent::LinkDown | AsyncEvent::LipReset | AsyncEvent::SystemError = ev {
            for v in self.vps.iter_mut() {
                v.up = false;
            }
            core.hba_down(self.target, &mut self.events);
        }
        self.settle(core, q);
    }

    /// Works off what the core reported: teardowns (terminate held logins, kill the
    /// session's exchanges, report teardown done when none is left) and ready logins.
    fn settle(&mut self, core: &mut dyn SessionCore, q: &mut dyn RequestQueue) {
        loop {
            if let Some(t) = self.events.teardowns.iter_mut().find_map(|t| t.take()) {
                self.teardown(core, t, q);
                continue;
            }
            if let Some((vp, r)) = self.events.ready.iter_mut().find_map(|r| r.take()) {
                let held = self
                    .held
                    .iter_mut()
                    .find(|h| h.is_some_and(|h| h.vp == vp && h.session == r))
                    .and_then(|h| h.take());
                if let Some(h) = held {
                    self.accept(core, h.vp, h.session, &h.notify, h.prli, q);
                }
                continue;
            }
            break;
        }
    }

    fn teardown(&mut self, core: &mut dyn SessionCore, t: Teardown, q: &mut dyn RequestQueue) {
        bump(&mut self.stats.teardowns);
        let vp = u8::try_from(t.nexus.port.vp_index).unwrap_or(u8::MAX);
        let held = self
            .held
            .iter_mut()
            .find(|h| h.is_some_and(|h| h.vp == vp && h.session == t.session))
            .and_then(|h| h.take());
        if let Some(h) = held {
            bump(&mut self.stats.logins_refused);
            self.ack(q, &h.notify, true);
        }
        // Exchanges with a CTIO in flight end with its completion; those the driver holds
        // are terminated when it replies (`driver_owned`).
        let mut open = 0u32;
        for s in self.xchg.iter_mut() {
            if s.phase != Phase::Free && s.x.session == t.session && s.x.port == t.nexus.port {
                s.dead = true;
                open = open.saturating_add(1);
            }
        }
        if open == 0 {
            self.events.vp = vp;
            let _ = core.teardown_done(vp, t.session, &mut self.events);
            return;
        }
        match self.tearing.iter_mut().find(|s| s.is_none()) {
            Some(s) => {
                *s = Some(Tearing {
                    vp,
                    session: t.session,
                    open,
                })
            }
            None => {
                // Cannot happen with S slots for S sessions; never leave a session stuck.
                bump(&mut self.events.lost);
                self.events.vp = vp;
                let _ = core.teardown_done(vp, t.session, &mut self.events);
            }
        }
    }

    // ----- exchanges -------------------------------------------------------------------

    fn slot(&self, id: ExchangeId) -> Option<&XSlot> {
        self.xchg
            .get(usize::from(id.slot))
            .filter(|s| s.phase != Phase::Free && s.generation == id.generation)
    }

    fn slot_mut(&mut self, id: ExchangeId) -> Option<&mut XSlot> {
        self.xchg
            .get_mut(usize::from(id.slot))
            .filter(|s| s.phase != Phase::Free && s.generation == id.generation)
    }

    fn alloc(&mut self, mut x: Exchange) -> Option<Exchange> {
        let i = self.xchg.iter().position(|s| s.phase == Phase::Free)?;
        let s = self.xchg.get_mut(i)?;
        s.generation = s.generation.wrapping_add(1) & 0x0FFF;
        x.id = ExchangeId {
            slot: u16::try_from(i).ok()?,
            generation: s.generation,
        };
        s.x = x;
        s.phase = Phase::Driver;
        s.dead = false;
        s.abts = None;
        self.open = self.open.saturating_add(1);
        Some(x)
    }

    /// Frees an exchange; a session tearing down whose last exchange this was waits in
    /// `drained` for [`Port::run_core_work`] (the completion path does not take the core).
    fn free(&mut self, id: ExchangeId) {
        let Some(s) = self.slot_mut(id) else { return };
        s.phase = Phase::Free;
        let session = s.x.session;
        let vp = u8::try_from(s.x.port.vp_index).unwrap_or(u8::MAX);
        self.open = self.open.saturating_sub(1);
        let mut done = false;
        for t in self.tearing.iter_mut() {
            if let Some(te) = t {
                if te.vp == vp && te.session == session {
                    te.open = te.open.saturating_sub(1);
                    if te.open == 0 {
                        *t = None;
                        done = true;
                    }
                }
            }
        }
        if done {
            match self.drained.iter_mut().find(|d| d.is_none()) {
                Some(d) => *d = Some((vp, session)),
                None => bump(&mut self.events.lost),
            }
        }
    }

    /// Whether [`Port::run_core_work`] has something to do (a torn-down session drained).
    pub fn core_work_pending(&self) -> bool {
        self.drained.iter().any(|d| d.is_some())
    }

    /// Reports drained sessions to the core and sends the logins that became ready.
    pub fn run_core_work(&mut self, core: &mut dyn SessionCore, q: &mut dyn RequestQueue) {
        while let Some((vp, r)) = self.drained.iter_mut().find_map(|d| d.take()) {
            self.events.vp = vp;
            let _ = core.teardown_done(vp, r, &mut self.events);
            self.settle(core, q);
        }
    }

    /// Routes an ATIO: D_ID to the vp, S_ID to the active session. Refusals are answered
    /// here (BUSY, TASK SET FULL, CHECK CONDITION, terminate).
    pub fn atio(
        &mut self,
        core: &dyn SessionLookup,
        a: &Atio7,
        q: &mut dyn RequestQueue,
    ) -> AtioAction {
        let Some(vp) = self.vp_of(a.fc.d_id) else {
            bump(&mut self.stats.unknown_d_id);
            let mut c = Ctio7::for_atio(a, REFUSAL_HANDLE, Handle(CTIO7_NHANDLE_UNRECOGNIZED), 0);
            c.flags |= ctio_flags::TERMINATE | ctio_flags::STATUS_MODE_1;
            self.post(q, c.encode());
            return AtioAction::Handled;
        };
        let port = self.local(vp);
        let Some((session, handle)) = core.lookup(port, a.fc.s_id) else {
            bump(&mut self.stats.no_session);
            self.refuse(
                a,
                vp,
                Handle(CTIO7_NHANDLE_UNRECOGNIZED),
                STATUS_BUSY,
                &[],
                q,
            );
            return AtioAction::Handled;
        };
        let (Some(direction), Some(task_attr)) = (a.cmnd.direction(), a.cmnd.task_attr()) else {
            bump(&mut self.stats.bad_atio);
            self.refuse(a, vp, handle, STATUS_CHECK_CONDITION, &SENSE_INVALID_IU, q);
            return AtioAction::Handled;
        };
        let x = Exchange {
            id: ExchangeId {
                slot: 0,
                generation: 0,
            },
            session,
            port,
            s_id: a.fc.s_id,
            nport_handle: handle,
            exchange_addr: a.exchange_addr,
            ox_id: a.fc.ox_id,
            attr: a.attr,
            lun: a.cmnd.lun,
            task_attr,
            direction,
            data_length: a.cmnd.data_length,
        };
        let Some(x) = self.alloc(x) else {
            bump(&mut self.stats.exchange_table_full);
            self.refuse(a, vp, handle, STATUS_TASK_SET_FULL, &[], q);
            return AtioAction::Handled;
        };
        bump(&mut self.stats.commands);
        if a.cmnd.tmf != 0 {
            let f = match a.cmnd.tmf {
                tmf::ABORT_TASK_SET => Some(TmfFunction::AbortTaskSet),
                tmf::CLEAR_TASK_SET => Some(TmfFunction::ClearTaskSet),
                tmf::LUN_RESET => Some(TmfFunction::LogicalUnitReset),
                tmf::TARGET_RESET => Some(TmfFunction::TargetReset),
                tmf::CLEAR_ACA => Some(TmfFunction::ClearAca),
                _ => None,
            };
            return match f {
                Some(f) => AtioAction::Tmf(x, f),
                None => {
                    // More than one flag, or a reserved one: FCP_RSP_INFO "function not
                    // supported" (04h) without involving the core.
                    if self.tmf_response(x.id, 0x04, q).is_err() {
                        // Ring full: no one else knows this exchange; the firmware times
                        // it out, the slot must not stay held (a teardown would wait on it).
                        self.free(x.id);
                    }
                    AtioAction::Handled
                }
            };
        }
        AtioAction::Execute(x)
    }

    fn refuse(
        &mut self,
        a: &Atio7,
        vp: u8,
        handle: Handle,
        status: u8,
        sense: &[u8],
        q: &mut dyn RequestQueue,
    ) {
        let mut c = Ctio7::for_atio(a, REFUSAL_HANDLE, handle, vp);
        let (sense_length, buf) = sense_bytes(sense);
        c.flags |= ctio_flags::SEND_STATUS | ctio_flags::STATUS_MODE_1;
        c.scsi_status = u16::from(status);
        if sense_length > 0 {
            c.scsi_status |= ss::SENSE_LEN_VALID;
        }
        if a.cmnd.data_length > 0 {
            c.scsi_status |= ss::RESIDUAL_UNDER;
            c.residual = a.cmnd.data_length;
        }
        c.body = Ctio7Body::Mode1 {
            sense_length,
            response_len: 0,
            sense: buf,
        };
        self.post(q, c.encode());
    }

    fn base_ctio(x: &Exchange) -> Ctio7 {
        Ctio7 {
            entry_count: 1,
            handle: x.id.handle(),
            nport_handle: x.nport_handle,
            timeout: 10,
            dseg_count: 0,
            vp_index: u8::try_from(x.port.vp_index).unwrap_or(0),
            add_flags: 0,
            initiator_id: x.s_id,
            exchange_addr: x.exchange_addr,
            flags: u16::from(x.attr & 0x0f) << ctio_flags::ATTR_SHIFT,
            residual: 0,
            ox_id: x.ox_id,
            scsi_status: 0,
            body: Ctio7Body::Mode1 {
                sense_length: 0,
                response_len: 0,
                sense: [0; CTIO7_SENSE_LEN],
            },
        }
    }

    /// The exchange while the driver has it; a dead one is terminated instead and
    /// `Err(Stale)` returned (its completion then reports it finished).
    fn driver_owned(
        &mut self,
        id: ExchangeId,
        q: &mut dyn RequestQueue,
    ) -> Result<Exchange, ExchangeError> {
        let s = self.slot(id).ok_or(ExchangeError::Stale)?;
        if s.phase != Phase::Driver {
            return Err(ExchangeError::Stale);
        }
        let (x, dead) = (s.x, s.dead);
        if dead {
            self.terminate(id, q)?;
            return Err(ExchangeError::Stale);
        }
        Ok(x)
    }

    /// Asks the firmware for the data-out (XFER_RDY) into `segs` (bus address, length).
    pub fn data_out<I: Iterator<Item = (u64, u32)> + Clone>(
        &mut self,
        id: ExchangeId,
        segs: I,
        q: &mut dyn RequestQueue,
    ) -> Result<(), ExchangeError> {
        let x = self.driver_owned(id, q)?;
        let mut c = Self::base_ctio(&x);
        c.flags |= ctio_flags::DATA_OUT;
        c.body = Ctio7Body::Mode0 {
            relative_offset: 0,
            transfer_length: 0,
            dsd: Dsd64::default(),
        };
        let mut chain = DataSegments::new(&c, segs).map_err(|_| ExchangeError::TooManySegments)?;
        let posted = self.post_n(q, chain.entries(), &mut chain);
        self.handed_over(id, posted, Phase::DataOut)
    }

    /// Sends the command's result: data-in from `segs` (empty for none) plus status in one
    /// mode-0 CTIO7 chain, or a mode-1 status with sense when there is sense data.
    pub fn respond<I: Iterator<Item = (u64, u32)> + Clone>(
        &mut self,
        id: ExchangeId,
        reply: &Reply<'_>,
        segs: I,
        q: &mut dyn RequestQueue,
    ) -> Result<(), ExchangeError> {
        let x = self.driver_owned(id, q)?;
        let mut c = Self::base_ctio(&x);
        c.flags |= ctio_flags::SEND_STATUS;
        c.scsi_status = u16::from(reply.status);
        match reply.residual {
            Residual::None => {}
            Residual::Underrun(n) => {
                c.scsi_status |= ss::RESIDUAL_UNDER;
                c.residual = u32::try_from(n).unwrap_or(u32::MAX);
            }
            Residual::Overrun(n) => {
                c.scsi_status |= ss::RESIDUAL_OVER;
                c.residual = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        let has_data = segs.clone().any(|(_, len)| len > 0);
        let ok = if !reply.sense.is_empty() || !has_data {
            let (sense_length, buf) = sense_bytes(reply.sense);
            if sense_length > 0 {
                c.scsi_status |= ss::SENSE_LEN_VALID;
            }
            c.flags |= ctio_flags::STATUS_MODE_1;
            c.body = Ctio7Body::Mode1 {
                sense_length,
                response_len: 0,
                sense: buf,
            };
            self.post(q, c.encode())
        } else {
            c.flags |= ctio_flags::DATA_IN;
            c.body = Ctio7Body::Mode0 {
                relative_offset: 0,
                transfer_length: 0,
                dsd: Dsd64::default(),
            };
            let mut chain =
                DataSegments::new(&c, segs).map_err(|_| ExchangeError::TooManySegments)?;
            self.post_n(q, chain.entries(), &mut chain)
        };
        self.handed_over(id, ok, Phase::Final)
    }

    /// Answers a TMF with FCP_RSP_INFO carrying `response_code` (FCP-4 table: 00h complete,
    /// 04h not supported, 05h failed, 08h succeeded, 09h incorrect LUN).
    pub fn tmf_response(
        &mut self,
        id: ExchangeId,
        response_code: u8,
        q: &mut dyn RequestQueue,
    ) -> Result<(), ExchangeError> {
        let x = self.driver_owned(id, q)?;
        let mut c = Self::base_ctio(&x);
        c.flags |= ctio_flags::SEND_STATUS | ctio_flags::STATUS_MODE_1;
        c.scsi_status = ss::RESPONSE_INFO_LEN_VALID;
        let mut info = [0u8; CTIO7_SENSE_LEN];
        if let Some(b) = info.get_mut(3) {
            *b = response_code;
        }
        c.body = Ctio7Body::Mode1 {
            sense_length: 0,
            response_len: 8,
            sense: info,
        };
        let posted = self.post(q, c.encode());
        self.handed_over(id, posted, Phase::Final)
    }

    /// Terminates the exchange without status (aborted task whose notice says "no status",
    /// or a dead session).
    pub fn terminate(
        &mut self,
        id: ExchangeId,
        q: &mut dyn RequestQueue,
    ) -> Result<(), ExchangeError> {
        let s = self.slot(id).ok_or(ExchangeError::Stale)?;
        if s.phase != Phase::Driver {
            return Err(ExchangeError::Stale);
        }
        let mut c = Self::base_ctio(&s.x);
        c.flags |= ctio_flags::TERMINATE | ctio_flags::STATUS_MODE_1;
        let posted = self.post(q, c.encode());
        self.handed_over(id, posted, Phase::Final)?;
        bump(&mut self.stats.terminated);
        Ok(())
    }

    /// Whether the exchange can still reach its initiator (its session was not torn down
    /// and it was not aborted). The driver checks it before running a command.
    pub fn is_live(&self, id: ExchangeId) -> bool {
        self.slot(id).is_some_and(|s| !s.dead)
    }

    /// Marks an exchange dead (its task was aborted): replies become terminates.
    pub fn mark_dead(&mut self, id: ExchangeId) {
        if let Some(s) = self.slot_mut(id) {
            s.dead = true;
        }
    }

    /// A CTIO7 completion from the response queue.
    pub fn ctio_done(&mut self, st: &Ctio7Status, q: &mut dyn RequestQueue) -> CtioDone {
        let Some(id) = ExchangeId::from_handle(st.handle) else {
            if st.handle != REFUSAL_HANDLE {
                bump(&mut self.stats.stale_completions);
            }
            return CtioDone::Ignored;
        };
        let Some(s) = self.slot(id) else {
            bump(&mut self.stats.stale_completions);
            return CtioDone::Ignored;
        };
        let (x, phase, dead) = (s.x, s.phase, s.dead);
        let ok = st.entry_status == 0 && st.status == ctio_status::OK;
        if !ok {
            bump(&mut self.stats.ctio_errors);
        }
        match phase {
            Phase::DataOut if ok && !dead => {
                if let Some(s) = self.slot_mut(id) {
                    s.phase = Phase::Driver;
                }
                CtioDone::DataOutReady(x)
            }
            Phase::DataOut => {
                // The exchange still exists in the firmware unless it said otherwise.
                let gone = matches!(
                    st.status,
                    ctio_status::PORT_LOGGED_OUT
                        | ctio_status::INVALID_RX_ID
                        | ctio_status::ABORTED
                        | ctio_status::LIP_RESET
                        | ctio_status::PORT_UNAVAILABLE
                        | ctio_status::PORT_CONF_CHANGED
                        | ctio_status::TARGET_RESET
                ) || st.entry_status != 0;
                if gone {
                    self.free(id);
                } else {
                    if let Some(s) = self.slot_mut(id) {
                        s.phase = Phase::Driver;
                    }
                    if self.terminate(id, q).is_err() {
                        // The driver drops its command on DataOutFailed: free the slot
                        // rather than hold it (and a teardown) forever.
                        self.free(id);
                    }
                }
                CtioDone::DataOutFailed(x)
            }
            Phase::Final => {
                // The terminate of an exchange aborted while the driver had it: now the
                // ABTS gets its answer.
                if let Some(a) = self.slot_mut(id).and_then(|s| s.abts.take()) {
                    self.post_abts_response(&a, true, q);
                }
                self.free(id);
                CtioDone::Finished { x, ok }
            }
            Phase::Driver | Phase::Free => {
                bump(&mut self.stats.stale_completions);
                CtioDone::Ignored
            }
        }
    }

    /// An ABTS: finds the exchange it aborts. Abort-sequence requests and unknown
    /// exchanges are answered here (BA_RJT / BA_ACC).
    pub fn abts(&mut self, a: &AbtsRecv24, q: &mut dyn RequestQueue) -> AbtsAction {
        bump(&mut self.stats.abts);
        if a.is_abort_sequence() || a.exchange_addr_to_abort == EXCHANGE_ADDRESS_UNKNOWN {
            self.abts_respond(a, false, q);
            return AbtsAction::Handled;
        }
        let found = self.xchg.iter_mut().find(|s| {
            s.phase != Phase::Free
                && s.x.exchange_addr == a.exchange_addr_to_abort
                && s.x.s_id == a.fc.s_id
                && s.x.port.vp_index == u16::from(a.vp_index)
        });
        match found {
            Some(s) => {
                s.dead = true;
                if s.phase == Phase::Driver {
                    // A newer ABTS for the same exchange replaces an older held one.
                    s.abts = Some(*a);
                    bump(&mut self.stats.abts_deferred);
                }
                AbtsAction::Abort(s.x)
            }
            None => {
                // Nothing of it left here: the exchange is as aborted as it gets.
                self.abts_respond(a, true, q);
                AbtsAction::Handled
            }
        }
    }

    /// Sends the ABTS response (BA_ACC when `accept`), terminating the victim exchange in
    /// the firmware. An accept for an exchange the driver still holds is deferred: it goes
    /// out when the driver's terminate of that exchange completes (see [`Port::abts`]).
    pub fn abts_respond(&mut self, a: &AbtsRecv24, accept: bool, q: &mut dyn RequestQueue) {
        let held = self.xchg.iter().any(|s| {
            s.phase != Phase::Free
                && s.abts.is_some_and(|h| {
                    h.exchange_addr_to_abort == a.exchange_addr_to_abort
                        && h.fc.s_id == a.fc.s_id
                        && h.fc.ox_id == a.fc.ox_id
                        && h.vp_index == a.vp_index
                })
        });
        if accept && held {
            return;
        }
        self.post_abts_response(a, accept, q);
    }

    fn post_abts_response(&mut self, a: &AbtsRecv24, accept: bool, q: &mut dyn RequestQueue) {
        let mut r = AbtsResp24::for_abts(a, SKIP_HANDLE, accept);
        if accept {
            r.control_flags |= crate::iocb::ABTS_CONTR_FLG_TERM_EXCHG;
        }
        self.post(q, r.encode());
    }

    /// Completes an exchange the driver finished without a CTIO in flight (its final CTIO
    /// could not be posted, or the firmware terminated it with the ABTS response).
    pub fn release(&mut self, id: ExchangeId, q: &mut dyn RequestQueue) {
        if self.slot(id).is_some_and(|s| s.phase == Phase::Driver) {
            // A deferred BA_ACC goes out now: the driver is done with the exchange.
            if let Some(a) = self.slot_mut(id).and_then(|s| s.abts.take()) {
                self.post_abts_response(&a, true, q);
            }
            self.free(id);
        }
    }

    /// Every exchange the driver holds (for teardown on HBA reset / unload).
    pub fn exchanges(&self) -> impl Iterator<Item = Exchange> + '_ {
        self.xchg
            .iter()
            .filter(|s| s.phase != Phase::Free)
            .map(|s| s.x)
    }
}

fn sense_bytes(sense: &[u8]) -> (u16, [u8; CTIO7_SENSE_LEN]) {
    let mut buf = [0u8; CTIO7_SENSE_LEN];
    let n = sense.len().min(CTIO7_SENSE_LEN);
    if let (Some(d), Some(s)) = (buf.get_mut(..n), sense.get(..n)) {
        d.copy_from_slice(s);
    }
    (n as u16, buf)
}
