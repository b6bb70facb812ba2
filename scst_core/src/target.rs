//! One Ferrule target: the session table, the access control table, per-session state and
//! the command path from a fabric down to a logical unit.
//!
//! # The identity rule, made structural
//! The per-session state ([`ResolvedMap`], REPORT LUNS list, reservation identity, counters)
//! lives in a private array indexed by session slot and stamped with the session generation
//! it was resolved for. The only way to reach it is [`Target::session`], which takes the
//! [`SessionRef`] the S_ID lookup returned and checks that it is still the `Active`
//! incarnation *and* that the stamp matches; the LUN lookup then also checks the map's WWPN.
//! Nothing on the command path accepts a slot, a handle or a port ID.
//!
//! # Concurrency (kernel)
//! Command entry points take `&self`; session and ACL events take `&mut self`, so the
//! kernel keeps the target behind a read-mostly lock (commands are readers). Per-LU state is
//! reached through a [`LuStore`], whose locked part the kernel guards with a per-LU
//! spinlock; backend I/O ([`Target::run`]) runs without it. A target never holds two LU
//! locks at once.
//!
//! # Command flow
//! [`Target::submit`] → ([`Submitted::Blocked`] → `task_unblocked` event →
//! [`Target::resume`]) → [`Submitted::Run`] → [`Target::run`] → [`Target::complete`].
//! [`Target::execute`] does all of it synchronously (tests, benchmarks, loopback).
//!
//! # Size
//! About 5 KiB per session slot plus the 150 KiB [`AclTable`] (1.2 MiB for 256 sessions):
//! never call [`Target::new`] at run time in the kernel (it would build the value on the
//! stack); allocate uninitialised storage and use [`Target::init`], which copies the
//! constant [`Target::INIT`] in place. Host tests use small `S`.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::acl::{AclTable, LunLookupError, LunMapping, ResolvedMap, MAX_LUNS};
use crate::backend::{Backend, DataBuffer};
use crate::cdb::{Handler, OpInfo};
use crate::exec::{self, CmdContext, CmdResult, Fail, Xfer};
use crate::identity::{
    ActivateError, Login, LoginError, Nexus, SessionInfo, SessionRef, SessionTable, Teardown,
    TeardownDoneError,
};
use crate::lu::{self, Enabled, LuNexus, LuStore, NexusDirectory, TaskEvents, MAX_NEXUSES};
use crate::pr::PrNexus;
use crate::task_set::{Admit, TaskKey, TaskState};
use crate::tmf::{TmfFunction, TmfOutcome, TmfRequest, TmfResponse, TmfScope};
use crate::types::{Asc, DeviceId, Handle, LocalPort, Lun, PortId, ScsiStatus, TaskAttr, Wwpn};

/// Local ports (physical + NPIV) one target can have.
pub const MAX_PORTS: usize = 16;

/// A local target port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortConfig {
    /// Which port.
    pub port: LocalPort,
    /// Its WWPN (VPD 83h target port designator).
    pub wwpn: Wwpn,
    /// Relative target port identifier (1-based, unique in the target).
    pub rel_port: u16,
    /// Target port group.
    pub tpg: u16,
}

/// Why [`Target::add_port`] refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PortError {
    /// [`MAX_PORTS`] ports exist.
    Full,
    /// The port, or its relative port identifier, is configured already; or the identifier
    /// is 0.
    Duplicate,
}

/// Why [`Target::plogi`] / [`Target::prli`] refused a login.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoginRefused {
    /// The local port is not configured in this target ([`Target::add_port`]).
    UnknownPort,
    /// The session table refused it.
    Identity(LoginError),
}

impl From<LoginError> for LoginRefused {
    fn from(e: LoginError) -> Self {
        LoginRefused::Identity(e)
    }
}

/// Receives what the target's session events require of the driver and the engine.
pub trait TargetEvents: TaskEvents {
    /// A session is being torn down: its tasks were aborted already (reported through
    /// [`TaskEvents::task_aborted`]); terminate what the driver still holds for it and call
    /// [`Target::teardown_done`].
    fn session_teardown(&mut self, t: Teardown);
    /// A held login became ready ([`crate::identity::SessionTable::teardown_done`]).
    fn login_ready(&mut self, r: SessionRef);
}

/// Per-session state, reachable only through [`Target::session`].
struct SessionSlot {
    /// Generation of the active session this state was resolved for; 0 = none.
    generation: u64,
    map: ResolvedMap,
    luns: [Lun; MAX_LUNS],
    lun_count: u16,
    pr: PrNexus,
    port: PortConfig,
    commands: AtomicU64,
}

impl SessionSlot {
    const fn empty() -> SessionSlot {
        SessionSlot {
            generation: 0,
            map: ResolvedMap::new(),
            luns: [Lun(0); MAX_LUNS],
            lun_count: 0,
            pr: PrNexus {
                initiator: Wwpn(0),
                rel_port: 0,
            },
            port: PortConfig {
                port: LocalPort {
                    target: 0,
                    vp_index: 0,
                },
                wwpn: Wwpn(0),
                rel_port: 0,
                tpg: 0,
            },
            commands: AtomicU64::new(0),
        }
    }
}

/// A checked view of one active session's state (see the module documentation).
pub struct SessionView<'t> {
    r: SessionRef,
    info: SessionInfo,
    slot: &'t SessionSlot,
}

impl<'t> SessionView<'t> {
    /// The session.
    pub fn session(&self) -> SessionRef {
        self.r
    }
    /// Its identity.
    pub fn nexus(&self) -> Nexus {
        self.info.nexus
    }
    /// The LUN map entry of `lun`, checked against the session's own WWPN.
    pub fn lookup(&self, lun: Lun) -> Result<LunMapping, LunLookupError> {
        self.slot.map.lookup(self.info.nexus.wwpn, lun)
    }
    /// The LUNs this session sees (REPORT LUNS order).
    pub fn luns(&self) -> &'t [Lun] {
        self.slot
            .luns
            .get(..usize::from(self.slot.lun_count))
            .unwrap_or(&[])
    }
    /// Identity for persistent reservations.
    pub fn pr_nexus(&self) -> PrNexus {
        self.slot.pr
    }
    /// Commands received on this session.
    pub fn commands(&self) -> u64 {
        self.slot.commands.load(Ordering::Relaxed)
    }
    fn lu_nexus(&self, read_only: bool) -> LuNexus {
        LuNexus {
            slot: self.r.slot(),
            generation: task_generation(self.r),
            pr: self.slot.pr,
            read_only,
        }
    }
}

/// Task keys carry the low 32 bits of the session generation: a task left by a session is
/// confused with one of a later session in the same slot only after 2^32 logins.
const fn task_generation(r: SessionRef) -> u32 {
    r.generation() as u32
}

/// A command as a fabric delivers it.
#[derive(Clone, Copy, Debug)]
pub struct Command<'c> {
    /// Local port (vp) the command arrived on (routed by D_ID).
    pub port: LocalPort,
    /// The initiator's N_Port ID (S_ID).
    pub s_id: PortId,
    /// Addressed LUN.
    pub lun: Lun,
    /// CDB bytes (FCP: 16).
    pub cdb: &'c [u8],
    /// Task attribute.
    pub attr: TaskAttr,
    /// Task tag (FCP: exchange address), unique per nexus while the task lives.
    pub tag: u64,
    /// The session incarnation the fabric resolved when the command arrived (FC: at ATIO
    /// time), when the fabric keeps the command across a possible session change. If the
    /// S_ID now resolves to another incarnation the command is refused (BUSY) before any
    /// LUN lookup: it must never run against the map of whoever holds the N_Port ID now.
    pub session: Option<SessionRef>,
}

/// A task admitted to a logical unit's task set; the engine keeps it until it completes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Task {
    session: SessionRef,
    device: DeviceId,
    lun: Lun,
    key: TaskKey,
    attr: TaskAttr,
    read_only: bool,
}

impl Task {
    /// Its task-set key (what `task_unblocked` / `task_aborted` events name).
    pub fn key(&self) -> TaskKey {
        self.key
    }
    /// The session it arrived on.
    pub fn session(&self) -> SessionRef {
        self.session
    }
    /// The logical unit it addresses.
    pub fn device(&self) -> DeviceId {
        self.device
    }
}

/// A validated task ready for [`Target::run`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Running {
    task: Task,
    op: &'static OpInfo,
}

impl Running {
    /// The task.
    pub fn task(&self) -> &Task {
        &self.task
    }
    /// Its decoded command.
    pub fn op(&self) -> &'static OpInfo {
        self.op
    }
}

/// Outcome of [`Target::submit`] / [`Target::resume`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Submitted {
    /// Finished: send this result (the task is not, or no longer, in any task set).
    Done(CmdResult),
    /// Waiting for earlier tasks; call [`Target::resume`] after its `task_unblocked` event.
    Blocked(Task),
    /// Call [`Target::run`] (no lock held), then [`Target::complete`].
    Run(Running),
}

/// Outcome of [`Target::complete`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Completion {
    /// Send this result.
    Done(CmdResult),
    /// The task was aborted while running: answer per the abort's notice instead.
    Aborted,
}

fn busy(len: usize) -> CmdResult {
    exec::finish(Err(Fail::Status(ScsiStatus::Busy)), len)
}

/// A target with room for `S` sessions (`1 <= S <= MAX_NEXUSES`).
pub struct Target<const S: usize> {
    sessions: SessionTable<S>,
    acl: AclTable,
    slots: [SessionSlot; S],
    ports: [Option<PortConfig>; MAX_PORTS],
    rel_ports: [u16; MAX_PORTS],
    rel_port_count: u8,
    busy: AtomicU64,
}

// No `Default`: too large for a kernel stack; use `init` (see `new`).

impl<const S: usize> Target<S> {
    const CAPACITY_OK: () = assert!(S >= 1 && S <= MAX_NEXUSES, "1 <= S <= MAX_NEXUSES");

    /// [`Target::new`] as a constant, for in-place construction.
    // Interior mutability (counters) is fine here: the constant is only ever copied out.
    #[allow(clippy::declare_interior_mutable_const)]
    pub const INIT: Self = Self::new();

    /// Initialises `this` in place from [`Target::INIT`]: a copy from read-only data with no
    /// stack temporary (calling `new()` at run time builds the whole target on the stack).
    /// The kernel allocates uninitialised storage and calls this.
    pub fn init(this: &mut MaybeUninit<Self>) -> &mut Self {
        this.write(Self::INIT)
    }

    /// No ports, no sessions, an empty ACL.
    // `#[inline]`: no out-of-line copy is emitted unless something calls it at run time, which
    // the kernel must not do (a stack frame the size of the table; scripts/check-stack.sh).
    #[inline]
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_OK;
        Target {
            sessions: SessionTable::new(),
            acl: AclTable::new(),
            slots: [const { SessionSlot::empty() }; S],
            ports: [None; MAX_PORTS],
            rel_ports: [0; MAX_PORTS],
            rel_port_count: 0,
            busy: AtomicU64::new(0),
        }
    }

    // ----- configuration ---------------------------------------------------------------

    /// Adds a local port. Sessions are only accepted on configured ports.
    pub fn add_port(&mut self, cfg: PortConfig) -> Result<(), PortError> {
        let dup = self
            .ports
            .iter()
            .flatten()
            .any(|p| p.port == cfg.port || p.rel_port == cfg.rel_port);
        if dup || cfg.rel_port == 0 {
            return Err(PortError::Duplicate);
        }
        let n = usize::from(self.rel_port_count);
        let (Some(free), Some(rp)) = (
            self.ports.iter_mut().find(|p| p.is_none()),
            self.rel_ports.get_mut(n),
        ) else {
            return Err(PortError::Full);
        };
        *free = Some(cfg);
        *rp = cfg.rel_port;
        self.rel_port_count = self.rel_port_count.saturating_add(1);
        Ok(())
    }

    fn port(&self, port: LocalPort) -> Option<PortConfig> {
        self.ports
            .iter()
            .flatten()
            .find(|p| p.port == port)
            .copied()
    }

    /// The access control table (read only; change it with [`Target::update_acl`]).
    pub fn acl(&self) -> &AclTable {
        &self.acl
    }

    /// The session table (read only; events go through the target).
    pub fn sessions(&self) -> &SessionTable<S> {
        &self.sessions
    }

    /// Commands answered BUSY because no active session owned their S_ID.
    pub fn busy_count(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }

    /// Changes the ACL with `f`, then re-resolves every active session whose map changed;
    /// a session whose group or LUN inventory changed gets REPORTED LUNS DATA HAS CHANGED on
    /// every LU of its old and new map. Returns `f`'s result (a failed ACL change leaves the
    /// table as it was, so nothing is re-resolved).
    pub fn update_acl<R>(&mut self, store: &impl LuStore, f: impl FnOnce(&mut AclTable) -> R) -> R {
        let r = f(&mut self.acl);
        for i in 0..S {
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            if slot.generation == 0 {
                continue;
            }
            let change = self.acl.check(&slot.map);
            if !change.needs_reresolve() {
                continue;
            }
            let ua = change.unit_attention();
            let slot_id = u16::try_from(i).unwrap_or(u16::MAX);
            if let Some(asc) = ua {
                establish_on_map(store, &slot.map, slot_id, asc);
            }
            let wwpn = slot.map.wwpn();
            self.acl.resolve_into(wwpn, &mut slot.map);
            fill_luns(slot);
            if let Some(asc) = ua {
                establish_on_map(store, &slot.map, slot_id, asc);
            }
        }
        r
    }

    /// A logical unit was added to the store: every active session joins its unit
    /// attention state.
    pub fn lu_added(&self, store: &impl LuStore, dev: DeviceId) {
        store.with_locked(dev, |_, l| {
            for (i, s) in self.slots.iter().enumerate() {
                if s.generation != 0 {
                    l.nexus_joined(u16::try_from(i).unwrap_or(u16::MAX));
                }
            }
        });
    }

    /// The capacity of `dev` changed: CAPACITY DATA HAS CHANGED for every nexus.
    pub fn capacity_changed(&self, store: &impl LuStore, dev: DeviceId) {
        store.with_locked(dev, |_, l| {
            l.ua_mut().establish_all(Asc::CAPACITY_DATA_CHANGED)
        });
    }

    // ----- session events ----------------------------------------------------------------

    /// PLOGI: see [`SessionTable::plogi`]. Sessions it tears down lose their tasks, unit
    /// attentions and SPC-2 reservations before this returns.
    pub fn plogi(
        &mut self,
        store: &impl LuStore,
        nexus: Nexus,
        events: &mut impl TargetEvents,
    ) -> Result<Login, LoginRefused> {
        if self.port(nexus.port).is_none() {
            return Err(LoginRefused::UnknownPort);
        }
        Ok(self.with_teardowns(store, events, |t, mut on| t.plogi(nexus, &mut on))?)
    }

    /// PRLI: see [`SessionTable::prli`]; call [`Target::activate`] before accepting it.
    pub fn prli(
        &mut self,
        store: &impl LuStore,
        nexus: Nexus,
        events: &mut impl TargetEvents,
    ) -> Result<Login, LoginRefused> {
        if self.port(nexus.port).is_none() {
            return Err(LoginRefused::UnknownPort);
        }
        Ok(self.with_teardowns(store, events, |t, mut on| t.prli(nexus, &mut on))?)
    }

    /// Makes a ready session active: resolves its LUN map for its WWPN first, then joins it
    /// to every LU's unit attention state (POWER ON, RESET, OR BUS DEVICE RESET OCCURRED).
    pub fn activate(&mut self, store: &impl LuStore, r: SessionRef) -> Result<(), ActivateError> {
        let info = self.sessions.get(r).map_err(|_| ActivateError::Stale)?;
        let port = self.port(info.nexus.port).ok_or(ActivateError::Stale)?;
        self.sessions.activate(r)?;
        let Some(slot) = self.slots.get_mut(usize::from(r.slot())) else {
            return Err(ActivateError::Stale);
        };
        self.acl.resolve_into(info.nexus.wwpn, &mut slot.map);
        fill_luns(slot);
        slot.pr = PrNexus {
            initiator: info.nexus.wwpn,
            rel_port: port.rel_port,
        };
        slot.port = port;
        slot.commands.store(0, Ordering::Relaxed);
        slot.generation = r.generation();
        store.for_each_device(|dev| {
            store.with_locked(dev, |_, l| l.nexus_joined(r.slot()));
        });
        Ok(())
    }

    /// The driver finished a teardown: frees the slot; held logins that became ready are
    /// reported through [`TargetEvents::login_ready`].
    pub fn teardown_done(
        &mut self,
        r: SessionRef,
        events: &mut impl TargetEvents,
    ) -> Result<(), TeardownDoneError> {
        self.sessions
            .teardown_done(r, &mut |ready| events.login_ready(ready))
    }

    /// LOGO / PRLO: see [`SessionTable::logout`].
    pub fn logout(
        &mut self,
        store: &impl LuStore,
        port: LocalPort,
        port_id: PortId,
        wwpn: Option<Wwpn>,
        events: &mut impl TargetEvents,
    ) -> usize {
        self.with_teardowns(store, events, |t, mut on| {
            t.logout(port, port_id, wwpn, &mut on)
        })
    }

    /// Port logout by handle: see [`SessionTable::logout_handle`].
    pub fn logout_handle(
        &mut self,
        store: &impl LuStore,
        port: LocalPort,
        handle: Handle,
        events: &mut impl TargetEvents,
    ) -> usize {
        self.with_teardowns(store, events, |t, mut on| {
            t.logout_handle(port, handle, &mut on)
        })
    }

    /// Port database change: see [`SessionTable::port_db_changed`].
    pub fn port_db_changed(
        &mut self,
        store: &impl LuStore,
        nexus: Nexus,
        events: &mut impl TargetEvents,
    ) -> Option<SessionRef> {
        self.with_teardowns(store, events, |t, mut on| t.port_db_changed(nexus, &mut on))
    }

    /// Link down on one local port.
    pub fn link_down(
        &mut self,
        store: &impl LuStore,
        port: LocalPort,
        events: &mut impl TargetEvents,
    ) -> usize {
        self.with_teardowns(store, events, |t, mut on| t.link_down(port, &mut on))
    }

    /// Link down or reset of the whole HBA `target` (every vp).
    pub fn hba_down(
        &mut self,
        store: &impl LuStore,
        target: u16,
        events: &mut impl TargetEvents,
    ) -> usize {
        self.with_teardowns(store, events, |t, mut on| t.hba_down(target, &mut on))
    }

    /// Runs an identity event; every session it tears down loses its state on the spot
    /// ([`session_lost`]) and is then reported to the driver.
    fn with_teardowns<R>(
        &mut self,
        store: &impl LuStore,
        events: &mut impl TargetEvents,
        f: impl FnOnce(&mut SessionTable<S>, &mut dyn FnMut(Teardown)) -> R,
    ) -> R {
        let Target {
            sessions, slots, ..
        } = self;
        let mut on = |t: Teardown| {
            session_lost(slots, store, t, events);
            events.session_teardown(t);
        };
        f(sessions, &mut on)
    }

    // ----- command path ------------------------------------------------------------------

    /// The active session `r` names, with its state; `None` when `r` is stale (the only way
    /// to reach a session's LUN map).
    pub fn session(&self, r: SessionRef) -> Option<SessionView<'_>> {
        let info = self.sessions.check_active(r).ok()?;
        let slot = self.slots.get(usize::from(r.slot()))?;
        if slot.generation != r.generation() || slot.map.wwpn() != info.nexus.wwpn {
            return None;
        }
        Some(SessionView { r, info, slot })
    }

    fn context<'a>(&'a self, view: &SessionView<'a>, lun: Lun, attr: TaskAttr) -> CmdContext<'a> {
        let port = view.slot.port;
        CmdContext {
            initiator: view.info.nexus.wwpn,
            initiator_port_id: view.info.nexus.port_id,
            local_port: port.port,
            lun,
            target_wwpn: port.wwpn,
            rel_port_id: port.rel_port,
            tpg_id: port.tpg,
            tpg_ports: self.rel_ports_slice(),
            luns: view.luns(),
            pending_sense: None,
            attr,
        }
    }

    /// Phases 1-2 of a command: S_ID → active session (none: BUSY) → LUN in that session's
    /// map (unmapped: [`exec::execute_no_lu`]) → task-set admission → enabled-state checks.
    /// `buf` is the command's data buffer and must hold the data-out already.
    pub fn submit<St: LuStore>(
        &self,
        store: &St,
        cmd: &Command<'_>,
        buf: &mut <St::Backend as Backend>::Buf,
        events: &mut impl TaskEvents,
    ) -> Submitted {
        let len = buf.len();
        let Some(view) = self
            .sessions
            .lookup_sid(cmd.port, cmd.s_id)
            .ok()
            .filter(|r| cmd.session.is_none_or(|expected| expected == *r))
            .and_then(|r| self.session(r))
        else {
            self.busy.fetch_add(1, Ordering::Relaxed);
            return Submitted::Done(busy(len));
        };
        view.slot.commands.fetch_add(1, Ordering::Relaxed);
        let ctx = self.context(&view, cmd.lun, cmd.attr);
        let mapping = match view.lookup(cmd.lun) {
            Ok(m) => m,
            Err(LunLookupError::NotMapped) => {
                let r = exec::execute_no_lu(&ctx, cmd.cdb, buf);
                if r.status == ScsiStatus::Good && cmd.cdb.first() == Some(&0xa0) {
                    self.report_luns_seen(store, &view, None);
                }
                return Submitted::Done(r);
            }
            // Unreachable through `session()`; refusing is the safe answer anyway.
            Err(LunLookupError::WrongInitiator) => return Submitted::Done(busy(len)),
        };
        let task = Task {
            session: view.r,
            device: mapping.device,
            lun: cmd.lun,
            key: TaskKey::new(view.r.slot(), task_generation(view.r), cmd.tag),
            attr: cmd.attr,
            read_only: mapping.read_only,
        };
        let admitted = store.with_locked(task.device, |_, l| {
            lu::admit(l, task.key, task.attr, events)
        });
        match admitted {
            None => Submitted::Done(exec::execute_no_lu(&ctx, cmd.cdb, buf)),
            Some(Err(e)) => Submitted::Done(lu::admit_error_result(e, len)),
            Some(Ok(Admit::Blocked)) => Submitted::Blocked(task),
            Some(Ok(Admit::Run)) => {
                self.enable(store, &view, &ctx, task, cmd.cdb, buf, events, false)
            }
        }
    }

    /// Phase 2 for a task reported by `task_unblocked`. A task still waiting comes back
    /// [`Submitted::Blocked`]; one aborted meanwhile gets TASK ABORTED (send nothing for it:
    /// its abort notice applies).
    pub fn resume<St: LuStore>(
        &self,
        store: &St,
        task: &Task,
        cdb: &[u8],
        buf: &mut <St::Backend as Backend>::Buf,
        events: &mut impl TaskEvents,
    ) -> Submitted {
        let len = buf.len();
        let Some(view) = self.session(task.session) else {
            // The session ended; its tasks were aborted with it.
            store.with_locked(task.device, |_, l| lu::complete(l, task.key, events));
            return Submitted::Done(exec::finish(
                Err(Fail::Status(ScsiStatus::TaskAborted)),
                len,
            ));
        };
        let ctx = self.context(&view, task.lun, task.attr);
        self.enable(store, &view, &ctx, *task, cdb, buf, events, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn enable<St: LuStore>(
        &self,
        store: &St,
        view: &SessionView<'_>,
        ctx: &CmdContext<'_>,
        task: Task,
        cdb: &[u8],
        buf: &mut <St::Backend as Backend>::Buf,
        events: &mut impl TaskEvents,
        resumed: bool,
    ) -> Submitted {
        let len = buf.len();
        let nexus = view.lu_nexus(task.read_only);
        let enabled = store.with_locked(task.device, |sh, l| {
            if resumed {
                // Only a task the set reported runnable may start; an aborted one is gone.
                match l.tasks().state(task.key) {
                    Some(TaskState::Running) => {}
                    Some(TaskState::Blocked) => return None,
                    _ => {
                        let r = exec::finish(Err(Fail::Status(ScsiStatus::TaskAborted)), len);
                        return Some(Enabled::Done {
                            result: r,
                            op: None,
                        });
                    }
                }
            }
            let e = lu::enable(sh, l, ctx, &nexus, task.key, cdb, buf, self, events);
            if let Enabled::Done { .. } = e {
                lu::complete(l, task.key, events);
            }
            Some(e)
        });
        match enabled {
            None => Submitted::Done(exec::execute_no_lu(ctx, cdb, buf)),
            Some(None) => Submitted::Blocked(task),
            Some(Some(Enabled::Done { result, .. })) => Submitted::Done(result),
            Some(Some(Enabled::Run(op))) => {
                if op.handler == Handler::ReportLuns {
                    self.report_luns_seen(store, view, Some(task.device));
                }
                Submitted::Run(Running { task, op })
            }
        }
    }

    /// REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED on every LU of the nexus (the LU
    /// it was addressed to, `done`, already did).
    fn report_luns_seen(
        &self,
        store: &impl LuStore,
        view: &SessionView<'_>,
        done: Option<DeviceId>,
    ) {
        let slot = view.r.slot();
        let Ok(luns) = view.slot.map.luns(view.info.nexus.wwpn) else {
            return;
        };
        for (_, m) in luns {
            if Some(m.device) != done {
                store.with_locked(m.device, |_, l| {
                    l.ua_mut().clear(slot, Asc::REPORTED_LUNS_DATA_CHANGED)
                });
            }
        }
    }

    /// Phase 3, without any lock: executes the command against the backend. A session that
    /// ended meanwhile gets BUSY here (its task was aborted; the result is discarded).
    pub fn run<St: LuStore>(
        &self,
        store: &St,
        running: &Running,
        cdb: &[u8],
        buf: &mut <St::Backend as Backend>::Buf,
    ) -> Result<Xfer, Fail> {
        let t = &running.task;
        let Some(view) = self.session(t.session) else {
            return Err(Fail::Status(ScsiStatus::Busy));
        };
        let Some(shared) = store.shared(t.device) else {
            return Err(Fail::Status(ScsiStatus::Busy));
        };
        let ctx = self.context(&view, t.lun, t.attr);
        lu::run(shared, &ctx, running.op, cdb, buf)
    }

    /// Removes the task from its task set and builds the result for a buffer of `buf_len`
    /// bytes. Tasks it unblocked are reported through `events`.
    pub fn complete(
        &self,
        store: &impl LuStore,
        running: &Running,
        outcome: Result<Xfer, Fail>,
        buf_len: usize,
        events: &mut impl TaskEvents,
    ) -> Completion {
        let t = &running.task;
        let aborted = store
            .with_locked(t.device, |_, l| lu::complete(l, t.key, events))
            .unwrap_or(false);
        if aborted {
            Completion::Aborted
        } else {
            Completion::Done(exec::finish(outcome, buf_len))
        }
    }

    /// Submit, run and complete in one call. A task that had to wait comes back as
    /// [`Submitted::Blocked`]; `Ok` carries the finished result, `Err(Completion::Aborted)`
    /// a task aborted while it ran.
    pub fn execute<St: LuStore>(
        &self,
        store: &St,
        cmd: &Command<'_>,
        buf: &mut <St::Backend as Backend>::Buf,
        events: &mut impl TaskEvents,
    ) -> Submitted {
        match self.submit(store, cmd, buf, events) {
            Submitted::Run(r) => self.finish_running(store, &r, cmd.cdb, buf, events),
            other => other,
        }
    }

    /// [`Target::run`] + [`Target::complete`] for a task [`Target::submit`] or
    /// [`Target::resume`] returned as runnable; a task aborted while it ran comes back as
    /// [`Submitted::Done`] with TASK ABORTED status (send it only if the abort's notice
    /// says so).
    pub fn finish_running<St: LuStore>(
        &self,
        store: &St,
        r: &Running,
        cdb: &[u8],
        buf: &mut <St::Backend as Backend>::Buf,
        events: &mut impl TaskEvents,
    ) -> Submitted {
        let len = buf.len();
        let x = self.run(store, r, cdb, buf);
        match self.complete(store, r, x, len, events) {
            Completion::Done(res) => Submitted::Done(res),
            Completion::Aborted => Submitted::Done(exec::finish(
                Err(Fail::Status(ScsiStatus::TaskAborted)),
                len,
            )),
        }
    }

    // ----- task management ----------------------------------------------------------------

    /// A task management request from the session at `s_id` on `port` for `lun`. TARGET
    /// RESET applies to every LU of the store, I_T NEXUS RESET to every LU the session maps
    /// (and it loses its SPC-2 reservations), the others to the addressed LU (INCORRECT LUN
    /// when unmapped). No active session: SERVICE DELIVERY OR TARGET FAILURE (the fabric
    /// rejects the TMF).
    pub fn task_management(
        &self,
        store: &impl LuStore,
        port: LocalPort,
        s_id: PortId,
        lun: Lun,
        function: TmfFunction,
        events: &mut impl TaskEvents,
    ) -> TmfOutcome {
        let fail = |response| TmfOutcome {
            response,
            async_event: None,
            aborted: 0,
        };
        let Some(view) = self
            .sessions
            .lookup_sid(port, s_id)
            .ok()
            .and_then(|r| self.session(r))
        else {
            return fail(TmfResponse::ServiceDeliveryFailure);
        };
        let req = TmfRequest {
            function,
            nexus: view.r.slot(),
            generation: task_generation(view.r),
        };
        let mut total = fail(TmfResponse::FunctionComplete);
        let mut apply = |dev: DeviceId| {
            let o = store.with_locked(dev, |sh, l| lu::task_management(sh, l, &req, self, events));
            if let Some(o) = o {
                total.aborted = total.aborted.saturating_add(o.aborted);
                if o.response != TmfResponse::FunctionComplete {
                    total.response = o.response;
                    total.async_event = o.async_event;
                }
            }
        };
        match function.scope() {
            TmfScope::EveryLogicalUnit => store.for_each_device(&mut apply),
            TmfScope::EveryLogicalUnitOfNexus => {
                if let Ok(luns) = view.slot.map.luns(view.info.nexus.wwpn) {
                    for (_, m) in luns {
                        apply(m.device);
                    }
                }
            }
            TmfScope::LogicalUnit => match view.lookup(lun) {
                Ok(m) => apply(m.device),
                Err(_) => return fail(TmfResponse::IncorrectLun),
            },
        }
        total
    }

    fn rel_ports_slice(&self) -> &[u16] {
        self.rel_ports
            .get(..usize::from(self.rel_port_count))
            .unwrap_or(&[])
    }
}

impl<const S: usize> NexusDirectory for Target<S> {
    fn slots_of(&self, nexus: &PrNexus, f: &mut dyn FnMut(u16, u32)) {
        for (i, s) in self.slots.iter().enumerate() {
            if s.generation != 0 && s.pr == *nexus {
                f(u16::try_from(i).unwrap_or(u16::MAX), s.generation as u32);
            }
        }
    }
    fn pr_nexus(&self, slot: u16, generation: u32) -> Option<PrNexus> {
        let s = self.slots.get(usize::from(slot))?;
        (s.generation != 0 && s.generation as u32 == generation).then_some(s.pr)
    }
    fn rel_ports(&self) -> &[u16] {
        self.rel_ports_slice()
    }
}

/// Rebuilds the REPORT LUNS list from the session's resolved map.
fn fill_luns(slot: &mut SessionSlot) {
    let mut n = 0u16;
    if let Ok(luns) = slot.map.luns(slot.map.wwpn()) {
        for ((lun, _), dst) in luns.zip(slot.luns.iter_mut()) {
            *dst = lun;
            n = n.saturating_add(1);
        }
    }
    slot.lun_count = n;
}

fn establish_on_map(store: &impl LuStore, map: &ResolvedMap, slot: u16, asc: Asc) {
    if let Ok(luns) = map.luns(map.wwpn()) {
        for (_, m) in luns {
            store.with_locked(m.device, |_, l| l.ua_mut().establish(slot, asc));
        }
    }
}

/// Ends a session's state: no view reaches it any more; every LU drops its unit attentions
/// and SPC-2 reservation and aborts its tasks.
fn session_lost<const S: usize>(
    slots: &mut [SessionSlot; S],
    store: &impl LuStore,
    t: Teardown,
    events: &mut impl TaskEvents,
) {
    let Some(slot) = slots.get_mut(usize::from(t.session.slot())) else {
        return;
    };
    if slot.generation != t.session.generation() {
        return; // never activated: nothing joined, no task can exist
    }
    slot.generation = 0;
    slot.map = ResolvedMap::new();
    slot.lun_count = 0;
    let pr = slot.pr;
    let (s, g) = (t.session.slot(), task_generation(t.session));
    store.for_each_device(|dev| {
        store.with_locked(dev, |_, l| l.nexus_lost(s, g, &pr, events));
    });
}
