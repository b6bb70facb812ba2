//! A logical unit as the engine runs it: device emulation ([`crate::exec`]) plus persistent
//! reservations, unit attentions and the task set, split by how they are shared.
//!
//! - [`LuShared`]: configuration, [`LuState`] atomics and the backend. Read concurrently,
//!   without a lock, by every CPU running a command of this LU (media access happens here).
//! - [`LuLocked`]: [`PrTable`], [`UaState`], [`TaskSet`] and a scratch buffer for
//!   reservation parameter data. Changed only through `&mut`; the kernel keeps it behind a
//!   per-LU spinlock, and never holds that lock across backend I/O.
//!
//! A command goes through three phases (the [`crate::target`] module drives them):
//! 1. [`admit`] (locked): task-set admission with its task attribute;
//! 2. [`enable`] (locked) when the task may run: unit attention, CDB validation, reservation
//!    conflict, read-only checks; commands that only touch locked state (PERSISTENT RESERVE
//!    IN/OUT, RESERVE/RELEASE, MODE SELECT, REQUEST SENSE) are executed right here;
//! 3. [`run`] (no lock) for everything else, then [`complete`] (locked), which removes the
//!    task and reports tasks it unblocked.
//!
//! Unit attention conditions are indexed by session slot ([`LuNexus::slot`]); every session
//! of the target joins every LU's [`UaState`] while it is active.

use core::mem::MaybeUninit;

use crate::backend::{Backend, DataBuffer};
use crate::cdb::{self, Handler, OpInfo};
use crate::device::{DeviceConfig, LuState};
use crate::exec::{self, CmdContext, CmdResult, DataIn, Fail, Hooks, Lu, Xfer};
use crate::pr::{PrError, PrImageError, PrNexus, PrSink, PrTable};
use crate::task_set::{AbortOutcome, Admit, AdmitError, TaskKey, TaskSet, TaskState};
use crate::tmf::{self, AbortNotice, Spc2Release, TmfOutcome, TmfRequest, TmfSink, UaTarget};
use crate::types::{Asc, DeviceId, ScsiStatus, Sense, SenseKey};
use crate::ua::{UaState, OPCODE_REQUEST_SENSE};

/// Session slots a logical unit keeps unit attention state for (the largest session table
/// a target may use).
pub const MAX_NEXUSES: usize = 256;
/// Unit attention conditions queued per I_T nexus.
pub const UA_DEPTH: usize = 8;
/// Tasks per logical unit (all nexuses together); more get TASK SET FULL.
pub const TASK_SLOTS: usize = 128;
/// Scratch space for PERSISTENT RESERVE IN responses and OUT parameter lists: the largest
/// READ FULL STATUS of a [`PrTable`] (8 + 64 × 48 bytes) fits, and so does any parameter list
/// naming more TransportIDs than the table can register.
pub const PR_SCRATCH: usize = 4096;

/// The lock-free part of a logical unit.
#[derive(Debug)]
pub struct LuShared<B> {
    /// Static attributes.
    pub config: DeviceConfig,
    /// Mode values and the stopped state (atomics).
    pub state: LuState,
    /// Storage.
    pub backend: B,
}

impl<B> LuShared<B> {
    /// A started logical unit with power-on mode values.
    pub const fn new(config: DeviceConfig, backend: B) -> Self {
        LuShared {
            state: LuState::new(&config),
            config,
            backend,
        }
    }
    /// The view [`crate::exec`] works on.
    pub fn lu(&self) -> Lu<'_, B> {
        Lu {
            config: &self.config,
            state: &self.state,
            backend: &self.backend,
        }
    }
}

/// The locked part of a logical unit. About 15 KiB: in the kernel construct it in place
/// with [`LuLocked::init`].
pub struct LuLocked {
    pr: PrTable,
    ua: UaState<MAX_NEXUSES, UA_DEPTH>,
    tasks: TaskSet<TASK_SLOTS>,
    scratch: [u8; PR_SCRATCH],
    pr_changed: bool,
}

// No `Default`: too large for a kernel stack; use `init` (see `new`).

impl LuLocked {
    /// [`LuLocked::new`] as a constant, for in-place construction.
    pub const INIT: Self = Self::new();

    /// Initialises `this` in place from [`LuLocked::INIT`] (a copy from read-only data, no
    /// stack temporary; `new()` called at run time builds the 15 KiB value on the stack).
    pub fn init(this: &mut MaybeUninit<Self>) -> &mut Self {
        this.write(Self::INIT)
    }

    /// No registrations, no nexus joined, no task.
    // `#[inline]`: no out-of-line copy is emitted unless something calls it at run time, which
    // the kernel must not do (a stack frame the size of the table; scripts/check-stack.sh).
    #[inline]
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        LuLocked {
            pr: PrTable::new(),
            ua: UaState::new(),
            tasks: TaskSet::new(),
            scratch: [0; PR_SCRATCH],
            pr_changed: false,
        }
    }
    /// Reservation state (read only: it changes through commands and events).
    pub fn pr(&self) -> &PrTable {
        &self.pr
    }
    /// Unit attention state.
    pub fn ua(&self) -> &UaState<MAX_NEXUSES, UA_DEPTH> {
        &self.ua
    }
    /// Unit attention state, for events the target establishes (capacity change, ...).
    pub fn ua_mut(&mut self) -> &mut UaState<MAX_NEXUSES, UA_DEPTH> {
        &mut self.ua
    }
    /// The task set.
    pub fn tasks(&self) -> &TaskSet<TASK_SLOTS> {
        &self.tasks
    }
    /// After a successful PERSISTENT RESERVE OUT: `Some(aptpl)` once. With `Some(true)` the
    /// kernel writes [`LuLocked::export_pr`] to stable storage, with `Some(false)` it deletes
    /// the stored image.
    pub fn take_pr_change(&mut self) -> Option<bool> {
        let changed = core::mem::replace(&mut self.pr_changed, false);
        changed.then(|| self.pr.aptpl())
    }
    /// Writes the APTPL image of the reservation state into `out`.
    pub fn export_pr(&self, out: &mut [u8]) -> Result<usize, PrImageError> {
        self.pr.export(out)
    }
    /// Restores the reservation state from a stored APTPL image (at LU creation).
    pub fn import_pr(&mut self, image: &[u8]) -> Result<(), PrImageError> {
        self.pr.import(image)
    }
    /// A session became active in `slot`: it starts with POWER ON, RESET, OR BUS DEVICE
    /// RESET OCCURRED.
    pub fn nexus_joined(&mut self, slot: u16) {
        self.ua.nexus_joined(slot);
    }
    /// The session in `slot` (`nexus` for reservations, `generation` for tasks) is gone:
    /// drops its unit attentions, releases its SPC-2 reservation and aborts its tasks (no
    /// status: the initiator is gone). Returns the number of tasks aborted.
    pub fn nexus_lost(
        &mut self,
        slot: u16,
        generation: u32,
        nexus: &PrNexus,
        events: &mut impl TaskEvents,
    ) -> usize {
        self.ua.nexus_left(slot);
        self.pr.on_nexus_loss(nexus);
        self.tasks
            .mark_aborted_where(|k| k.is_from(slot, generation), &mut |e| match e {
                crate::task_set::AbortEvent::Aborted(k, o) => {
                    events.task_aborted(k, o, AbortNotice::NoStatus)
                }
                crate::task_set::AbortEvent::Unblocked(k) => events.task_unblocked(k),
            })
    }
}

/// Who a command (or task management request) comes from, as the logical unit sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LuNexus {
    /// Session slot: the unit attention index.
    pub slot: u16,
    /// Session generation as kept in task keys.
    pub generation: u32,
    /// Identity for persistent reservations.
    pub pr: PrNexus,
    /// The nexus's LUN map marks this LU read only.
    pub read_only: bool,
}

/// The target's sessions as the logical unit needs them (for reservation effects on other
/// nexuses). Only active sessions are listed.
pub trait NexusDirectory {
    /// Calls `f(slot, generation)` for every active session whose reservation identity is
    /// `nexus`.
    fn slots_of(&self, nexus: &PrNexus, f: &mut dyn FnMut(u16, u32));
    /// The reservation identity of the session in `slot`, if it is still `generation`.
    fn pr_nexus(&self, slot: u16, generation: u32) -> Option<PrNexus>;
    /// Relative port identifiers through which the logical unit is reachable.
    fn rel_ports(&self) -> &[u16];
}

/// What the engine must learn about tasks while state changes under the lock.
pub trait TaskEvents {
    /// `key` was aborted ([`crate::tmf::TmfSink::task_aborted`] explains `outcome` and
    /// `notice`).
    fn task_aborted(&mut self, key: TaskKey, outcome: AbortOutcome, notice: AbortNotice);
    /// `key` may run now: call the target's `resume` for it.
    fn task_unblocked(&mut self, key: TaskKey);
}

/// Admits a task to the set. On an overlapped tag the existing task is aborted too (SAM-5
/// 5.8.3) and reported through `events`. An `Err` means the task is not in the set; finish
/// the command with [`admit_error_result`].
pub fn admit(
    locked: &mut LuLocked,
    key: TaskKey,
    attr: crate::types::TaskAttr,
    events: &mut impl TaskEvents,
) -> Result<Admit, AdmitError> {
    let r = locked.tasks.admit(key, attr);
    if let Err(AdmitError::Overlapped { existing }) = r {
        let outcome = locked
            .tasks
            .mark_aborted(existing, &mut |k| events.task_unblocked(k));
        if let Some(o) = outcome {
            events.task_aborted(existing, o, AbortNotice::NoStatus);
        }
    }
    r
}

/// The command result for a refused admission.
pub fn admit_error_result(e: AdmitError, buf_len: usize) -> CmdResult {
    match (e.status(), e.sense()) {
        (ScsiStatus::CheckCondition, Some(s)) => exec::finish(Err(Fail::Check(s)), buf_len),
        (status, _) => exec::finish(Err(Fail::Status(status)), buf_len),
    }
}

/// Whether a handler runs entirely under the LU lock in [`enable`].
pub const fn runs_locked(h: Handler) -> bool {
    matches!(
        h,
        Handler::RequestSense
            | Handler::ModeSelect
            | Handler::PersistentReserveIn
            | Handler::PersistentReserveOut
            | Handler::Reserve
            | Handler::Release
    )
}

/// Outcome of [`enable`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Enabled {
    /// Finished under the lock (error, or a command that only touches locked state): call
    /// [`complete`] and send `result`. `op` is the decoded row when validation passed.
    Done {
        /// The command's result.
        result: CmdResult,
        /// Its table row, when it got past validation.
        op: Option<&'static OpInfo>,
    },
    /// Validated: call [`run`] without the lock, then [`complete`].
    Run(&'static OpInfo),
}

/// Phase 2, under the lock, when the task enters the enabled state: unit attention
/// (REQUEST SENSE returns it as parameter data, REPORT LUNS clears REPORTED LUNS DATA HAS
/// CHANGED), CDB validation, reservation conflict, write protection of the nexus's map,
/// then the locked-only commands. `buf` must hold the data-out already.
#[allow(clippy::too_many_arguments)]
pub fn enable<B: Backend>(
    shared: &LuShared<B>,
    locked: &mut LuLocked,
    ctx: &CmdContext<'_>,
    nexus: &LuNexus,
    key: TaskKey,
    cdb: &[u8],
    buf: &mut B::Buf,
    dir: &impl NexusDirectory,
    events: &mut impl TaskEvents,
) -> Enabled {
    let len = buf.len();
    let lu = shared.lu();
    let mut hooks = LockedHooks {
        locked,
        nexus,
        key,
        opcode: cdb.first().copied().unwrap_or(0),
        tas: shared.config.tas,
        dir,
        events,
    };
    let op = match exec::check(&lu, ctx, cdb, &mut hooks) {
        Ok(op) => op,
        Err(f) => {
            return Enabled::Done {
                result: exec::finish(Err(f), len),
                op: None,
            }
        }
    };
    if op.has(cdb::flags::WRITES) && nexus.read_only {
        let s = Sense::new(SenseKey::DataProtect, Asc::WRITE_PROTECTED);
        return Enabled::Done {
            result: exec::finish(Err(Fail::Check(s)), len),
            op: None,
        };
    }
    match op.handler {
        Handler::ReportLuns => {
            // Clears REPORTED LUNS DATA HAS CHANGED for this nexus here (the target clears it
            // on the nexus's other LUs).
            hooks.locked.ua.take_for_command(nexus.slot, op.opcode);
        }
        Handler::RequestSense => {
            let pending = hooks
                .locked
                .ua
                .take_for_command(nexus.slot, OPCODE_REQUEST_SENSE);
            let ctx = CmdContext {
                pending_sense: pending,
                ..*ctx
            };
            let r = exec::dispatch(&lu, &ctx, op, cdb, buf, &mut hooks);
            return Enabled::Done {
                result: exec::finish(r, len),
                op: Some(op),
            };
        }
        h if runs_locked(h) => {
            let r = exec::dispatch(&lu, ctx, op, cdb, buf, &mut hooks);
            return Enabled::Done {
                result: exec::finish(r, len),
                op: Some(op),
            };
        }
        _ => {}
    }
    Enabled::Run(op)
}

/// Phase 3, without the lock: media access and every other emulated command.
pub fn run<B: Backend>(
    shared: &LuShared<B>,
    ctx: &CmdContext<'_>,
    op: &'static OpInfo,
    cdb: &[u8],
    buf: &mut B::Buf,
) -> Result<Xfer, Fail> {
    exec::dispatch(&shared.lu(), ctx, op, cdb, buf, &mut DataPathHooks)
}

/// Removes a finished task (under the lock) and reports the tasks it unblocked. Returns
/// true if the task had been aborted meanwhile: its result must not be sent (the abort's
/// notice applies instead).
pub fn complete(locked: &mut LuLocked, key: TaskKey, events: &mut impl TaskEvents) -> bool {
    let aborted = locked.tasks.state(key) == Some(TaskState::Aborted);
    locked
        .tasks
        .complete(key, &mut |k| events.task_unblocked(k));
    aborted
}

/// Applies a task management function to this logical unit, with the LU's TAS setting.
pub fn task_management<B>(
    shared: &LuShared<B>,
    locked: &mut LuLocked,
    req: &TmfRequest,
    dir: &impl NexusDirectory,
    events: &mut impl TaskEvents,
) -> TmfOutcome {
    /// QUERY ASYNCHRONOUS EVENT reads the real state; every other function only writes it
    /// through the sink, which then holds it mutably.
    static NO_UA: UaState<1, 3> = UaState::new();
    let tas = shared.config.tas;
    let LuLocked { pr, ua, tasks, .. } = locked;
    if matches!(req.function, tmf::TmfFunction::QueryAsyncEvent) {
        let mut sink = TmfEffects {
            ua: None,
            pr: None,
            reset: None,
            dir,
            events,
        };
        return tmf::execute(req, tas, tasks, ua, &mut sink);
    }
    let mut sink = TmfEffects {
        ua: Some(ua),
        pr: Some(pr),
        reset: Some((&shared.state, &shared.config)),
        dir,
        events,
    };
    tmf::execute(req, tas, tasks, &NO_UA, &mut sink)
}

/// Hooks for the data path: no state to reach, reservation commands reported as supported
/// (they run in [`enable`]).
struct DataPathHooks;

impl Hooks for DataPathHooks {
    fn reservations_wired(&self) -> bool {
        true
    }
    fn supported_tmfs(&self) -> [u8; 2] {
        SUPPORTED_TMFS
    }
}

/// ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, QUERY TASK, TARGET RESET;
/// QUERY ASYNCHRONOUS EVENT, QUERY TASK SET, I_T NEXUS RESET (what [`tmf::execute`] does).
const SUPPORTED_TMFS: [u8; 2] = [0xde, 0x07];

/// Hooks with the locked state: HOOK 1/2/3 of [`crate::exec`].
struct LockedHooks<'l, 'x, D, E> {
    locked: &'l mut LuLocked,
    nexus: &'x LuNexus,
    key: TaskKey,
    opcode: u8,
    tas: bool,
    dir: &'x D,
    events: &'x mut E,
}

impl<D: NexusDirectory, E: TaskEvents> Hooks for LockedHooks<'_, '_, D, E> {
    fn unit_attention(&mut self, _: &CmdContext<'_>, _: Option<&'static OpInfo>) -> Option<Sense> {
        self.locked
            .ua
            .take_for_command(self.nexus.slot, self.opcode)
    }
    fn reservation_conflict(&mut self, _: &CmdContext<'_>, _: &'static OpInfo, cdb: &[u8]) -> bool {
        self.locked.pr.check(&self.nexus.pr, cdb).is_err()
    }
    fn reservations_wired(&self) -> bool {
        true
    }
    fn persistent_reserve_in<DB: DataBuffer + ?Sized>(
        &mut self,
        _: &CmdContext<'_>,
        cdb: &[u8],
        out: &mut DataIn<'_, DB>,
    ) -> Result<(), Fail> {
        let LuLocked { pr, scratch, .. } = &mut *self.locked;
        let n = pr.reserve_in(&self.nexus.pr, cdb, scratch)?;
        out.put(scratch.get(..n).unwrap_or(&scratch[..]));
        out.seek(n);
        Ok(())
    }
    fn persistent_reserve_out<DB: DataBuffer + ?Sized>(
        &mut self,
        _: &CmdContext<'_>,
        cdb: &[u8],
        param: &DB,
    ) -> Result<(), Fail> {
        let LuLocked {
            pr,
            ua,
            tasks,
            scratch,
            pr_changed,
        } = &mut *self.locked;
        let plen = usize::try_from(cdb::be32(cdb, 5)).unwrap_or(usize::MAX);
        let Some(params) = scratch.get_mut(..plen) else {
            return Err(Fail::Check(Sense::new(
                SenseKey::IllegalRequest,
                Asc::INSUFFICIENT_REGISTRATION_RESOURCES,
            )));
        };
        if param.read_at(0, params) != plen {
            return Err(Fail::ShortDataOut { need: plen as u64 });
        }
        let mut sink = PrEffects {
            ua,
            tasks,
            requester: self.nexus,
            current: self.key,
            tas: self.tas,
            dir: self.dir,
            events: &mut *self.events,
        };
        let r = pr.reserve_out(&self.nexus.pr, self.dir.rel_ports(), cdb, params, &mut sink);
        match r {
            Ok(()) => {
                *pr_changed = true;
                Ok(())
            }
            Err(PrError::Conflict) => Err(Fail::Status(ScsiStatus::ReservationConflict)),
            Err(PrError::Check(s)) => Err(Fail::Check(s)),
        }
    }
    fn reserve_release(
        &mut self,
        _: &CmdContext<'_>,
        op: &'static OpInfo,
        cdb: &[u8],
    ) -> Result<(), Fail> {
        let r = match op.handler {
            Handler::Reserve => self.locked.pr.reserve_spc2(&self.nexus.pr, cdb),
            _ => self.locked.pr.release_spc2(&self.nexus.pr, cdb),
        };
        match r {
            Ok(()) => Ok(()),
            Err(PrError::Conflict) => Err(Fail::Status(ScsiStatus::ReservationConflict)),
            Err(PrError::Check(s)) => Err(Fail::Check(s)),
        }
    }
    fn mode_parameters_changed(&mut self, _: &CmdContext<'_>) {
        self.locked
            .ua
            .establish_all_except(self.nexus.slot, Asc::MODE_PARAMETERS_CHANGED);
    }
    fn supported_tmfs(&self) -> [u8; 2] {
        SUPPORTED_TMFS
    }
}

/// Effects of PERSISTENT RESERVE OUT on other nexuses.
struct PrEffects<'a, D, E> {
    ua: &'a mut UaState<MAX_NEXUSES, UA_DEPTH>,
    tasks: &'a mut TaskSet<TASK_SLOTS>,
    requester: &'a LuNexus,
    current: TaskKey,
    tas: bool,
    dir: &'a D,
    events: &'a mut E,
}

impl<D: NexusDirectory, E: TaskEvents> PrSink for PrEffects<'_, D, E> {
    fn unit_attention(&mut self, to: &PrNexus, asc: Asc) {
        let ua = &mut *self.ua;
        self.dir
            .slots_of(to, &mut |slot, _| ua.establish(slot, asc));
    }
    fn abort_tasks(&mut self, of: &PrNexus) {
        let (dir, current) = (self.dir, self.current);
        let select =
            |k: &TaskKey| *k != current && dir.pr_nexus(k.nexus, k.generation) == Some(*of);
        let mut sink = TmfEffects {
            ua: Some(&mut *self.ua),
            pr: None,
            reset: None,
            dir,
            events: &mut *self.events,
        };
        tmf::abort_tasks(
            self.requester.slot,
            self.requester.generation,
            self.tas,
            self.tasks,
            select,
            true,
            &mut sink,
        );
    }
}

/// Effects of task management (and of PREEMPT AND ABORT's task aborts).
struct TmfEffects<'a, D, E> {
    ua: Option<&'a mut UaState<MAX_NEXUSES, UA_DEPTH>>,
    pr: Option<&'a mut PrTable>,
    reset: Option<(&'a LuState, &'a DeviceConfig)>,
    dir: &'a D,
    events: &'a mut E,
}

impl<D: NexusDirectory, E: TaskEvents> TmfSink for TmfEffects<'_, D, E> {
    fn task_aborted(&mut self, key: TaskKey, outcome: AbortOutcome, notice: AbortNotice) {
        self.events.task_aborted(key, outcome, notice);
    }
    fn task_unblocked(&mut self, key: TaskKey) {
        self.events.task_unblocked(key);
    }
    fn establish_ua(&mut self, target: UaTarget, asc: Asc) {
        let dir = self.dir;
        if let Some(ua) = self.ua.as_deref_mut() {
            target.apply(ua, asc, |slot, generation| {
                dir.pr_nexus(slot, generation).is_some()
            });
        }
    }
    fn release_spc2_reservation(&mut self, which: Spc2Release) {
        let Some(pr) = self.pr.as_deref_mut() else {
            return;
        };
        match which {
            Spc2Release::Any => pr.on_lu_reset(),
            Spc2Release::HeldBy { nexus, generation } => {
                if let Some(n) = self.dir.pr_nexus(nexus, generation) {
                    pr.on_nexus_loss(&n);
                }
            }
        }
    }
    fn logical_unit_reset(&mut self) {
        if let Some(pr) = self.pr.as_deref_mut() {
            pr.on_lu_reset();
        }
        if let Some((state, cfg)) = self.reset {
            state.reset(cfg);
        }
    }
}

/// Where a target finds its logical units by [`DeviceId`]. The kernel implements it over
/// its device table with a spinlock around each [`LuLocked`]; [`LocalStore`] is the
/// single-threaded implementation for host tests and benchmarks.
pub trait LuStore {
    /// The backend type of the logical units.
    type Backend: Backend;
    /// The lock-free part of `dev`.
    fn shared(&self, dev: DeviceId) -> Option<&LuShared<Self::Backend>>;
    /// Runs `f` with `dev`'s locked part (under its lock). `None` if `dev` does not exist
    /// (or its lock is held by the caller already).
    fn with_locked<R>(
        &self,
        dev: DeviceId,
        f: impl FnOnce(&LuShared<Self::Backend>, &mut LuLocked) -> R,
    ) -> Option<R>;
    /// Calls `f` for every logical unit.
    fn for_each_device(&self, f: impl FnMut(DeviceId));
}

#[cfg(not(MODULE))]
pub use local::{LocalStore, StoreError};

/// The host store (not built into the kernel module: it builds logical units on the stack).
#[cfg(not(MODULE))]
mod local {
    use super::{LuLocked, LuShared, LuStore};
    use crate::backend::Backend;
    use crate::device::{ConfigError, DeviceConfig};
    use crate::types::DeviceId;
    use core::cell::RefCell;

    /// Why [`LocalStore::add`] refused.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum StoreError {
        /// The device id is not below the store's capacity.
        IdOutOfRange,
        /// A logical unit with that id exists.
        Exists,
        /// The configuration is invalid.
        Config(ConfigError),
    }

    struct LocalLu<B> {
        shared: LuShared<B>,
        locked: RefCell<LuLocked>,
    }

    /// A fixed table of `D` logical units indexed by `DeviceId` (0..D), with `RefCell` as the
    /// "lock". Single-threaded: host tests, benchmarks, fuzzing.
    pub struct LocalStore<B, const D: usize> {
        lus: [Option<LocalLu<B>>; D],
    }

    impl<B: Backend, const D: usize> Default for LocalStore<B, D> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<B: Backend, const D: usize> LocalStore<B, D> {
        /// An empty store.
        pub const fn new() -> Self {
            LocalStore {
                lus: [const { None }; D],
            }
        }
        /// Adds logical unit `id` (tell the target with `Target::lu_added`).
        pub fn add(
            &mut self,
            id: DeviceId,
            config: DeviceConfig,
            backend: B,
        ) -> Result<(), StoreError> {
            config.validate().map_err(StoreError::Config)?;
            let slot = usize::try_from(id.0)
                .ok()
                .and_then(|i| self.lus.get_mut(i))
                .ok_or(StoreError::IdOutOfRange)?;
            if slot.is_some() {
                return Err(StoreError::Exists);
            }
            *slot = Some(LocalLu {
                shared: LuShared::new(config, backend),
                locked: RefCell::new(LuLocked::new()),
            });
            Ok(())
        }
        /// Changes the capacity of `id` (tell the target with `Target::capacity_changed`).
        /// Returns false if there is no such LU or the capacity is invalid.
        pub fn set_capacity(&mut self, id: DeviceId, blocks: u64) -> bool {
            let Some(lu) = self.get_mut(id) else {
                return false;
            };
            let mut cfg = lu.shared.config;
            cfg.blocks = blocks;
            if cfg.validate().is_err() {
                return false;
            }
            lu.shared.config = cfg;
            true
        }
        fn get(&self, id: DeviceId) -> Option<&LocalLu<B>> {
            usize::try_from(id.0)
                .ok()
                .and_then(|i| self.lus.get(i))
                .and_then(Option::as_ref)
        }
        fn get_mut(&mut self, id: DeviceId) -> Option<&mut LocalLu<B>> {
            usize::try_from(id.0)
                .ok()
                .and_then(|i| self.lus.get_mut(i))
                .and_then(Option::as_mut)
        }
    }

    impl<B: Backend, const D: usize> LuStore for LocalStore<B, D> {
        type Backend = B;
        fn shared(&self, dev: DeviceId) -> Option<&LuShared<B>> {
            self.get(dev).map(|l| &l.shared)
        }
        fn with_locked<R>(
            &self,
            dev: DeviceId,
            f: impl FnOnce(&LuShared<B>, &mut LuLocked) -> R,
        ) -> Option<R> {
            let lu = self.get(dev)?;
            let mut locked = lu.locked.try_borrow_mut().ok()?;
            Some(f(&lu.shared, &mut locked))
        }
        fn for_each_device(&self, mut f: impl FnMut(DeviceId)) {
            for (i, lu) in self.lus.iter().enumerate() {
                if let (Some(_), Ok(id)) = (lu, u32::try_from(i)) {
                    f(DeviceId(id));
                }
            }
        }
    }
}
