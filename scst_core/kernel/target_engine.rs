// SPDX-License-Identifier: GPL-2.0
//! The command engine of one live (enabled) target: `scst_core::target::Target` with its
//! session table, ACL and per-LU state (task set, unit attentions, reservations) over a
//! [`Store`] of the mapped devices.
//!
//! Every command takes the same path an FC command will: S_ID → active session (identity
//! checked) → LUN in that session's resolved map → task-set admission → unit attention,
//! reservation and read-only checks → backend → completion. The local fabric gives each
//! initiator WWPN of a target its own SCSI host and a synthetic N_Port ID (`01 00 nn`).
//!
//! Locking: the target and its store sit behind one [`RwSem`]. Commands hold the read side
//! from submission to completion (backend I/O may sleep); configuration changes and session
//! events take the write side. Per-LU state has its own spinlock inside the store, never
//! held across backend I/O.

use crate::aptpl;
use crate::blockio::BlockIo;
use crate::config::{self, BackendKind, Backing, Device};
use crate::fileio::FileIo;
use crate::nullio::NullIo;
use crate::rwsem::RwSem;
use crate::scsi::ScsiCmd;
use crate::sg_buffer::SgBuffer;
use crate::store::{Io, LuBackend, Store};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::{new_condvar, new_mutex};
use qla2x00t_proto::port::{SessionCore, TargetCore};
use scst_core::acl::{AclTable, WwpnText};
use scst_core::exec::CmdResult;
use scst_core::identity::{Nexus, SessionRef, Teardown};
use scst_core::lu::{LuStore, TaskEvents};
use scst_core::target::{Command, PortConfig, Submitted, Target, TargetEvents};
use scst_core::task_set::{AbortOutcome, TaskKey};
use scst_core::tmf::{AbortNotice, TmfFunction, TmfResponse};
use scst_core::types::{DeviceId, Handle, LocalPort, Lun, PortId, ScsiStatus, TaskAttr, Wwpn};

/// Sessions per target: a local target has one per initiator WWPN it presents (at most
/// [`config::MAX_LOCAL_INITIATORS`]); an FC target one per logged-in initiator port.
pub(crate) const SESSIONS: usize = 64;
/// The one local port of a local target.
pub(crate) const LOCAL_PORT: LocalPort = LocalPort {
    target: 0,
    vp_index: 0,
};
/// PERSISTENT RESERVE OUT.
const PERSISTENT_RESERVE_OUT: u8 = 0x5f;
/// The midlayer's transfer limit in 512-byte sectors (see `local.rs`).
pub(crate) const MAX_SECTORS: u32 = crate::engine::MAX_SECTORS;

type Fail = (Error, &'static str);

/// The synthetic N_Port ID of the `i`th initiator of a local target.
pub(crate) fn local_port_id(i: usize) -> PortId {
    PortId::new(0x01_0000 | u32::try_from(i).unwrap_or(0xff).saturating_add(1).min(0xff))
}

/// What the engine guards.
struct Live {
    target: VBox<Target<SESSIONS>>,
    store: Store,
}

/// Collects what task and session events ask of the engine while locks are held.
#[derive(Default)]
struct Events {
    /// A blocked task may run, or was aborted: wake the waiting workers.
    wake: bool,
}

impl TaskEvents for Events {
    fn task_aborted(&mut self, _key: TaskKey, _outcome: AbortOutcome, _notice: AbortNotice) {
        // A running task finds out at completion (TASK ABORTED); a blocked one when it
        // resumes. Either way its worker must look again.
        self.wake = true;
    }
    fn task_unblocked(&mut self, _key: TaskKey) {
        self.wake = true;
    }
}

impl TargetEvents for Events {
    fn session_teardown(&mut self, _t: Teardown) {
        // Local sessions end only with the whole engine (target disable).
    }
    fn login_ready(&mut self, _r: SessionRef) {}
}

/// One live target.
#[pin_data]
pub(crate) struct Engine {
    #[pin]
    live: RwSem<Live>,
    /// The target port (local fabric: [`LOCAL_PORT`]; FC: the HBA's base vp).
    port: LocalPort,
    /// Bumped whenever a blocked task may have become runnable (or was aborted); read
    /// lock-free by every command, changed under `wake_lock`.
    wake_seq: AtomicU64,
    #[pin]
    wake_lock: Mutex<()>,
    #[pin]
    wake: CondVar,
    /// Serialises APTPL image writes, so the file always ends with the latest state.
    #[pin]
    aptpl: Mutex<()>,
    /// Where APTPL images are stored (`None`: in memory only).
    aptpl_dir: Option<aptpl::Dir>,
    /// The missing directory was logged.
    aptpl_warned: AtomicBool,
}

/// The LU configuration and backend for `dev` as `t` exports it.
fn build_lu(dev: &Device) -> Result<(scst_core::device::DeviceConfig, LuBackend), Fail> {
    let bs = dev.cfg.block_size as usize;
    let mut cfg = dev.cfg;
    // The host's transfer limit in blocks, so the initiator never exceeds the LU's.
    let max_blocks = MAX_SECTORS
        .saturating_mul(512)
        .checked_div(dev.cfg.block_size)
        .unwrap_or(0);
    cfg.max_xfer_blocks = cfg.max_xfer_blocks.min(max_blocks).max(1);
    let io = match (dev.backend, &dev.backing) {
        (BackendKind::Nullio, _) => Io::Null(NullIo::new(bs)),
        (BackendKind::Blockio, Some(Backing::Bdev(f))) => {
            // SAFETY: the device is enabled, so `f` is its open block device file, and the
            // config tree (whose mutex our caller holds) keeps its reference for this call.
            let b = unsafe { BlockIo::new(*f, bs) };
            Io::Block(b.ok_or((EINVAL, "block_size does not suit the device"))?)
        }
        (_, Some(Backing::File(f))) => {
            // SAFETY: the device is enabled, so `f` is open, and the config tree (whose mutex
            // our caller holds) keeps its reference for this call.
            let f = unsafe { FileIo::new(*f, bs) };
            Io::File(f.ok_or((EINVAL, "backing file missing"))?)
        }
        _ => return Err((EINVAL, "backing file missing")),
    };
    let backend = LuBackend::new(io).map_err(|_| (ENOMEM, "out of memory"))?;
    Ok((cfg, backend))
}

/// Adds an LU to `store` for every enabled device `t` maps that it lacks; `added` gets their
/// ids. Devices `busy` refuses (exported by another live target) are left out, logged.
fn sync_store(
    store: &mut Store,
    t: &config::Target,
    devices: &[KBox<Device>],
    busy: &dyn Fn(DeviceId) -> bool,
    aptpl_dir: Option<&aptpl::Dir>,
    added: &mut KVec<DeviceId>,
) -> Result<(), Fail> {
    for l in t.luns.iter() {
        let Some(id) = l.device else { continue };
        if store.contains(id) {
            continue;
        }
        let Some(dev) = devices.iter().find(|d| d.id == id && d.enabled) else {
            continue;
        };
        if busy(id) {
            return Err((
                EBUSY,
                "a mapped device is exported by another enabled target",
            ));
        }
        let (cfg, backend) = build_lu(dev)?;
        store
            .add(id, cfg, backend, aptpl_dir)
            .map_err(|_| (ENOMEM, "out of memory"))?;
        added
            .push(id, GFP_KERNEL)
            .map_err(|_| (ENOMEM, "out of memory"))?;
    }
    Ok(())
}

impl Engine {
    /// Builds the engine of local target `t`: its LUs, its ACL and one active session per
    /// initiator (which starts with POWER ON, RESET unit attentions, as after a login).
    #[inline(never)]
    pub(crate) fn new(
        t: &config::Target,
        devices: &[KBox<Device>],
        busy: &dyn Fn(DeviceId) -> bool,
    ) -> Result<Arc<Self>, Fail> {
        let dir = aptpl::Dir::open();
        let mut store = Store::new();
        let mut added = KVec::new();
        sync_store(&mut store, t, devices, busy, dir.as_ref(), &mut added)?;
        Self::with_store(
            &t.acl,
            store,
            LOCAL_PORT,
            t.wwpn,
            t.rel_port,
            t.initiators.as_slice(),
            dir,
        )
    }

    /// Builds the engine of FC target `t` on local port `port` (an HBA's base vp): its LUs
    /// and ACL, no sessions (initiators log in through the fabric).
    #[inline(never)]
    pub(crate) fn new_fc(
        t: &config::Target,
        devices: &[KBox<Device>],
        busy: &dyn Fn(DeviceId) -> bool,
        port: LocalPort,
    ) -> Result<Arc<Self>, Fail> {
        let dir = aptpl::Dir::open();
        let mut store = Store::new();
        let mut added = KVec::new();
        sync_store(&mut store, t, devices, busy, dir.as_ref(), &mut added)?;
        Self::with_store(&t.acl, store, port, t.wwpn, t.rel_port, &[], dir)
    }

    /// An engine over `store` with a copy of `acl`, target port `wwpn` / `rel_port`, and one
    /// active session per initiator in `initiators` (N_Port ID [`local_port_id`] of its
    /// index).
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn with_store(
        acl: &AclTable,
        store: Store,
        port: LocalPort,
        wwpn: Wwpn,
        rel_port: u16,
        initiators: &[Wwpn],
        aptpl_dir: Option<aptpl::Dir>,
    ) -> Result<Arc<Self>, Fail> {
        let oom = |_| (ENOMEM, "out of memory");
        let mut target = VBox::<Target<SESSIONS>>::new_uninit(GFP_KERNEL).map_err(oom)?;
        Target::init(&mut target);
        // SAFETY: `Target::init` initialised the allocation.
        let mut target = unsafe { target.assume_init() };
        target
            .add_port(PortConfig {
                port,
                wwpn,
                rel_port,
                tpg: 0,
            })
            .map_err(|_| (EINVAL, "bad relative port"))?;
        target.update_acl(&store, |a| a.copy_from(acl));
        let mut ev = Events::default();
        for (i, w) in initiators.iter().enumerate() {
            let nexus = Nexus {
                port,
                wwpn: *w,
                port_id: local_port_id(i),
                handle: Handle(u16::try_from(i).unwrap_or(u16::MAX)),
            };
            let login = target
                .prli(&store, nexus, &mut ev)
                .map_err(|_| (EINVAL, "session refused"))?;
            target
                .activate(&store, login.session)
                .map_err(|_| (EINVAL, "session refused"))?;
        }
        Arc::pin_init(
            pin_init!(Engine {
                live <- RwSem::new(
                    Live { target, store },
                    c"ferrule_target",
                    kernel::static_lock_class!()
                ),
                port,
                wake_seq: AtomicU64::new(0),
                wake_lock <- new_mutex!(()),
                wake <- new_condvar!(),
                aptpl <- new_mutex!(()),
                aptpl_dir,
                aptpl_warned: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
        .map_err(|_| (ENOMEM, "out of memory"))
    }

    /// Whether device `id` has an LU here.
    pub(crate) fn has_device(&self, id: DeviceId) -> bool {
        self.live.read().store.contains(id)
    }

    /// Applies `t`'s changed ACL: new LUs for newly mapped devices, sessions re-resolved,
    /// REPORTED LUNS DATA HAS CHANGED for the sessions whose LUNs changed.
    pub(crate) fn reconfigure(
        &self,
        t: &config::Target,
        devices: &[KBox<Device>],
        busy: &dyn Fn(DeviceId) -> bool,
    ) -> Result<(), Fail> {
        let mut live = self.live.write();
        let Live { target, store } = &mut *live;
        let mut added = KVec::new();
        let r = sync_store(store, t, devices, busy, self.aptpl_dir.as_ref(), &mut added);
        for id in added.iter() {
            target.lu_added(store, *id);
        }
        target.update_acl(store, |a| a.copy_from(&t.acl));
        r
    }

    /// The capacity of device `id` changed to `blocks`: CAPACITY DATA HAS CHANGED.
    pub(crate) fn resize(&self, id: DeviceId, blocks: u64) {
        let mut live = self.live.write();
        let Live { target, store } = &mut *live;
        if store.set_blocks(id, blocks) {
            target.capacity_changed(store, id);
        }
    }

    /// Executes one command from the session at `s_id` and completes it.
    pub(crate) fn execute(&self, s_id: PortId, cmd: ScsiCmd) {
        let lun = u16::try_from(cmd.lun()).map_or(Lun(u64::MAX), Lun::from_index);
        let c = Command {
            port: self.port,
            s_id,
            lun,
            // Borrowed from the command, which stays ours until `complete` below.
            cdb: cmd.cdb(),
            attr: TaskAttr::Simple,
            tag: u64::from(cmd.tag()),
            session: None,
        };
        let (result, d_sense) = cmd.with_data(|buf| self.run(&c, buf));
        crate::engine::complete(cmd, &result, d_sense);
    }

    /// Runs one command to its result (waiting while its task is blocked): the path every
    /// fabric shares. Returns the result and whether its sense is in descriptor format.
    pub(crate) fn run(&self, c: &Command<'_>, buf: &mut SgBuffer) -> (CmdResult, bool) {
        let cdb = c.cdb;
        let is_prout = cdb.first() == Some(&PERSISTENT_RESERVE_OUT);
        let mut ev = Events::default();
        let (result, d_sense) = {
            let live = self.live.read();
            let mut seen = self.wake_seq.load(Ordering::Acquire);
            let mut sub = live.target.submit(&live.store, c, buf, &mut ev);
            let result = loop {
                match sub {
                    Submitted::Done(r) => break r,
                    Submitted::Run(r) => {
                        match live
                            .target
                            .finish_running(&live.store, &r, cdb, buf, &mut ev)
                        {
                            Submitted::Done(r) => break r,
                            // `finish_running` only returns Done.
                            other => sub = other,
                        }
                    }
                    Submitted::Blocked(task) => {
                        self.notify(&mut ev);
                        self.wait_for_wake(seen);
                        seen = self.wake_seq.load(Ordering::Acquire);
                        sub = live.target.resume(&live.store, &task, cdb, buf, &mut ev);
                    }
                }
            };
            let d_sense = result.sense.is_some() && d_sense_of(&live, c.port, c.s_id, c.lun);
            (result, d_sense)
        };
        self.notify(&mut ev);
        if is_prout && result.status == ScsiStatus::Good {
            self.persist_reservations(c.s_id, c.lun);
        }
        (result, d_sense)
    }

    /// Runs a session event (FC login, logout, link change) against the target with the
    /// write side held: `f` gets the core as the qla2x00t port logic uses it.
    pub(crate) fn fc_session<R>(&self, f: impl FnOnce(&mut dyn SessionCore) -> R) -> R {
        let mut ev = Events::default();
        let r = {
            let mut live = self.live.write();
            let Live { target, store } = &mut *live;
            let mut core = TargetCore {
                target: &mut **target,
                store: &*store,
                tasks: &mut ev,
            };
            f(&mut core)
        };
        self.notify(&mut ev);
        r
    }

    /// The active session for `s_id` on `port` and its N_Port handle (ATIO routing).
    pub(crate) fn fc_lookup(&self, port: LocalPort, s_id: PortId) -> Option<(SessionRef, Handle)> {
        let live = self.live.read();
        let sessions = live.target.sessions();
        let r = sessions.lookup_sid(port, s_id).ok()?;
        let info = sessions.check_active(r).ok()?;
        Some((r, info.nexus.handle))
    }

    /// After a successful PERSISTENT RESERVE OUT: writes the LU's reservation image to stable
    /// storage if APTPL is set, or empties it if APTPL was cleared (see `aptpl.rs`).
    fn persist_reservations(&self, s_id: PortId, lun: Lun) {
        let Some(dir) = &self.aptpl_dir else {
            if !self.aptpl_warned.swap(true, Ordering::Relaxed) {
                pr_warn!(
                    "aptpl: /var/lib/ferrule/pr is missing: APTPL state is kept in memory only\n"
                );
            }
            return;
        };
        let mut image = KVec::new();
        if image.resize(aptpl::IMAGE_MAX, 0u8, GFP_KERNEL).is_err() {
            pr_warn!("aptpl: out of memory: reservation state not saved\n");
            return;
        }
        let _serialised = self.aptpl.lock();
        let mut serial = [0u8; 64];
        let (n_serial, len) = {
            let live = self.live.read();
            let Some(dev) = device_of(&live, self.port, s_id, lun) else {
                return;
            };
            let Some(sh) = live.store.shared(dev) else {
                return;
            };
            let src = sh.config.serial();
            let n = src.len().min(serial.len());
            if let (Some(d), Some(s)) = (serial.get_mut(..n), src.get(..n)) {
                d.copy_from_slice(s);
            }
            let len = live
                .store
                .with_locked(dev, |_, l| match l.take_pr_change() {
                    None => None,
                    Some(false) => Some(0),
                    Some(true) => l.export_pr(&mut image).ok(),
                })
                .flatten();
            (n, len)
        };
        let Some(len) = len else { return };
        let serial = serial.get(..n_serial).unwrap_or(&[]);
        if let Err(e) = dir.store(serial, image.get(..len).unwrap_or(&[])) {
            pr_warn!(
                "aptpl: device {}: reservation state not saved ({:?})\n",
                crate::config::Bytes(serial),
                e
            );
        }
    }

    /// A task management function from the session at `s_id` (the midlayer's error
    /// handler).
    pub(crate) fn task_management(&self, s_id: PortId, lun: u64, f: TmfFunction) -> TmfResponse {
        let lun = u16::try_from(lun).map_or(Lun(u64::MAX), Lun::from_index);
        self.task_management_fc(s_id, lun, f)
    }

    /// A task management function from the session at `s_id` for `lun` as the fabric gave
    /// it (FC: FCP_CMND TMF flags, or ABORT TASK for an ABTS; local: see above).
    pub(crate) fn task_management_fc(&self, s_id: PortId, lun: Lun, f: TmfFunction) -> TmfResponse {
        let mut ev = Events::default();
        let r = {
            let live = self.live.read();
            live.target
                .task_management(&live.store, self.port, s_id, lun, f, &mut ev)
                .response
        };
        self.notify(&mut ev);
        r
    }

    /// One `sessions` line per active session; `host_of(i)` names initiator `i`'s host.
    pub(crate) fn sessions(
        &self,
        host_of: &dyn Fn(usize) -> Option<u32>,
        out: &mut dyn core::fmt::Write,
    ) -> core::fmt::Result {
        let live = self.live.read();
        let acl = live.target.acl();
        for (r, info) in live.target.sessions().iter() {
            let Some(v) = live.target.session(r) else {
                continue;
            };
            let group = acl.group_name(acl.resolve(info.nexus.wwpn)).unwrap_or(b"?");
            write!(
                out,
                "{} {:06x} ",
                WwpnText(info.nexus.wwpn),
                info.nexus.port_id.get()
            )?;
            match host_of(usize::from(info.nexus.handle.0)) {
                Some(h) => write!(out, "host{h} ")?,
                None => write!(out, "{} ", info.nexus.handle.0)?,
            }
            write!(out, "{} ", crate::config::Bytes(group))?;
            let mut any = false;
            for l in v.luns() {
                if let Some(n) = l.to_index() {
                    write!(out, "{}{}", if any { "," } else { "" }, n)?;
                    any = true;
                }
            }
            writeln!(out, "{} {}", if any { "" } else { "-" }, v.commands())?;
        }
        Ok(())
    }

    /// Wakes workers waiting for a blocked task, if `ev` says one may run.
    fn notify(&self, ev: &mut Events) {
        if core::mem::take(&mut ev.wake) {
            let g = self.wake_lock.lock();
            self.wake_seq.fetch_add(1, Ordering::AcqRel);
            drop(g);
            self.wake.notify_all();
        }
    }

    /// Sleeps until a wake-up newer than `seen`.
    fn wait_for_wake(&self, seen: u64) {
        let mut g = self.wake_lock.lock();
        while self.wake_seq.load(Ordering::Acquire) == seen {
            self.wake.wait(&mut g);
        }
    }
}

/// The device `lun` names for the session at `s_id`, if any.
fn device_of(live: &Live, port: LocalPort, s_id: PortId, lun: Lun) -> Option<DeviceId> {
    live.target
        .sessions()
        .lookup_sid(port, s_id)
        .ok()
        .and_then(|r| live.target.session(r))
        .and_then(|v| v.lookup(lun).ok())
        .map(|m| m.device)
}

/// Whether the LU that `lun` names for the session at `s_id` reports descriptor sense.
fn d_sense_of(live: &Live, port: LocalPort, s_id: PortId, lun: Lun) -> bool {
    device_of(live, port, s_id, lun)
        .and_then(|d| live.store.shared(d))
        .is_some_and(|s| s.state.d_sense())
}
