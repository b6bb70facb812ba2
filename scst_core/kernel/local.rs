// SPDX-License-Identifier: GPL-2.0
//! The `local` fabric: Ferrule LUNs as a local Linux SCSI host (like scst_local/tcm_loop).
//! The "wire" is the SCSI midlayer: `queuecommand` receives the initiator's command, a
//! workqueue thread executes it through `scst_core::exec`, `scsi_done` returns it.
//!
//! Threading: `queuecommand` may run in atomic context, so it only queues the work item
//! embedded in the command's private area (`cmd_size`; no allocation per command). The
//! work runs on Ferrule's own workqueue, not a system one, because:
//! - it is `WQ_MEM_RECLAIM` (writeback to these disks must make progress under memory
//!   pressure, which system_unbound does not guarantee);
//! - the EH handlers and host removal can `flush_workqueue` it to wait for exactly our
//!   commands, and unload destroys it, so no worker can run module code after unload.

use crate::bindings;
use crate::engine::{demo_engine, MAX_SECTORS};
use crate::scsi::ScsiCmd;
use crate::target_engine::{local_port_id, Engine};
use core::ffi::c_int;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::bindings as kb;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::{device, faux, ModuleMetadata};
use scst_core::tmf::{TmfFunction, TmfResponse};
use scst_core::types::{DeviceId, PortId};

/// Commands in flight per host (blk-mq tags).
const CAN_QUEUE: c_int = 128;
/// Queue depth per LU.
const CMD_PER_LUN: i16 = 64;
/// Largest CDB the host accepts.
const MAX_CMD_LEN: u16 = 32;
/// Number of LUNs the midlayer may scan on the demo target (REPORT LUNS lists the rest).
const DEMO_MAX_LUN: u64 = 2;
/// Ferrule's SCSI timeout disposition codes (`enum scsi_disposition`).
const EH_SUCCESS: c_int = bindings::scsi_disposition_SUCCESS as c_int;

/// An owned kernel workqueue.
///
/// # Invariants
/// `self.0` came from `alloc_workqueue` and is destroyed only by `Drop`.
pub(crate) struct Workqueue(NonNull<kb::workqueue_struct>);

// SAFETY: workqueue functions may be called from any thread.
unsafe impl Send for Workqueue {}
// SAFETY: as above; `&Workqueue` only queues and flushes, which are thread-safe.
unsafe impl Sync for Workqueue {}

impl Workqueue {
    /// Allocates the fabric's unbound, memory-reclaim-safe workqueue.
    pub(crate) fn new() -> Result<Self> {
        let flags = kb::wq_flags_WQ_UNBOUND | kb::wq_flags_WQ_MEM_RECLAIM;
        // SAFETY: the format string is a NUL-terminated literal without conversions, so no
        // variadic arguments are read.
        let wq = unsafe { kb::alloc_workqueue_noprof(c"ferrule_local".as_ptr().cast(), flags, 0) };
        // INVARIANT: freshly allocated.
        NonNull::new(wq).map(Workqueue).ok_or(ENOMEM)
    }

    fn raw(&self) -> *mut kb::workqueue_struct {
        self.0.as_ptr()
    }

    /// A handle for targets on this fabric.
    fn handle(&self) -> WqRef {
        // INVARIANT: handles live in `TargetData`, which `LocalFabric` frees (with its
        // targets) before this workqueue.
        WqRef(self.0)
    }
}

/// A non-owning handle of the fabric's [`Workqueue`].
///
/// # Invariants
/// The workqueue outlives the handle.
#[derive(Clone, Copy)]
struct WqRef(NonNull<kb::workqueue_struct>);

impl WqRef {
    /// Queues `work`; false when it was already pending.
    ///
    /// # Safety
    /// `work` is an initialised work item that stays valid until its function has run.
    unsafe fn queue(self, work: *mut kb::work_struct) -> bool {
        // SAFETY: the workqueue is live (type invariant); `work` per the caller.
        unsafe {
            kb::queue_work_on(
                kb::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                self.0.as_ptr(),
                work,
            )
        }
    }

    /// Waits for every work item queued so far to finish. Must not be called from one of
    /// the workqueue's own workers (it would wait for itself); our callers are the SCSI EH
    /// thread and module unload.
    fn flush(self) {
        // SAFETY: the workqueue is live (type invariant).
        unsafe { kb::__flush_workqueue(self.0.as_ptr()) }
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        // SAFETY: live (type invariant) and dropped once; `destroy_workqueue` drains it first.
        unsafe { kb::destroy_workqueue(self.raw()) }
    }
}

/// The private area of every `scsi_cmnd` of our hosts (`cmd_size`).
#[repr(C)]
struct CmdPriv {
    /// Runs the command on the workqueue. First field: the work function recovers the
    /// `CmdPriv` from the `work_struct` pointer by a cast.
    work: kb::work_struct,
    /// The command this area belongs to (set once in `init_cmd_priv`).
    cmd: *mut bindings::scsi_cmnd,
}

/// What executes the commands of one local host: the I_T nexus it stands for, i.e. the
/// target's engine and the session's N_Port ID.
pub(crate) struct HostNexus {
    pub(crate) engine: Arc<Engine>,
    pub(crate) s_id: PortId,
}

/// What a host's `hostdata` points at: everything the callbacks need.
struct TargetData {
    /// The workqueue running this host's commands (outlives the host, see `LocalTarget`).
    wq: WqRef,
    /// Commands accepted by `queuecommand` and not yet completed.
    inflight: AtomicUsize,
    nexus: HostNexus,
}

// SAFETY: `wq` is only used for thread-safe queue/flush calls; the rest is Sync itself
// (atomics, immutable configs, the RAM LU's mutex).
unsafe impl Send for TargetData {}
// SAFETY: as above.
unsafe impl Sync for TargetData {}

/// The host template shared by every local target: static, like a C driver's, because the
/// midlayer reads it until the last `Scsi_Host` reference is gone.
struct HostTemplate(bindings::scsi_host_template);

// SAFETY: the template is immutable after compile time and only read by the midlayer.
unsafe impl Sync for HostTemplate {}

static TEMPLATE: HostTemplate = HostTemplate(template());

const fn template() -> bindings::scsi_host_template {
    // SAFETY: every field of `scsi_host_template` is an integer, a raw pointer or an
    // `Option` of a function pointer, for all of which all-zero bytes are valid (0/NULL/None).
    let mut t: bindings::scsi_host_template = unsafe { core::mem::zeroed() };
    t.module = <crate::Ferrule as ModuleMetadata>::THIS_MODULE.as_ptr();
    t.name = c"Ferrule local target".as_ptr().cast();
    t.proc_name = c"ferrule_local".as_ptr().cast();
    t.queuecommand = Some(queuecommand);
    t.init_cmd_priv = Some(init_cmd_priv);
    t.eh_abort_handler = Some(eh_abort);
    t.eh_device_reset_handler = Some(eh_device_reset);
    t.eh_target_reset_handler = Some(eh_target_reset);
    t.can_queue = CAN_QUEUE;
    t.this_id = -1;
    t.sg_tablesize = 256;
    t.max_sectors = MAX_SECTORS;
    t.cmd_per_lun = CMD_PER_LUN;
    t.cmd_size = core::mem::size_of::<CmdPriv>() as u32;
    t
}

/// The `TargetData` of `shost`.
///
/// # Safety
/// `shost` is one of our live hosts (allocated by [`LocalTarget::new`], not yet removed).
unsafe fn target_data<'a>(shost: *mut bindings::Scsi_Host) -> &'a TargetData {
    // SAFETY: our hosts are allocated with a pointer-sized hostdata holding a pointer to a
    // pinned `TargetData` that is freed only after the host is removed and the workqueue
    // flushed (see `LocalTarget::drop`).
    unsafe {
        &*(*shost)
            .hostdata
            .as_ptr()
            .cast::<*const TargetData>()
            .read()
    }
}

/// `init_cmd_priv`: prepares the private area of each preallocated command once.
unsafe extern "C" fn init_cmd_priv(
    _shost: *mut bindings::Scsi_Host,
    cmd: *mut bindings::scsi_cmnd,
) -> c_int {
    // SAFETY: the midlayer passes a command with a `cmd_size`-byte private area, which is
    // ours; `CmdPriv` fits it (cmd_size) and its alignment (8) is within that of
    // `scsi_cmnd`, after which the area starts.
    unsafe {
        let p = bindings::ferrule_h_scsi_cmd_priv(cmd).cast::<CmdPriv>();
        kb::init_work_with_key(
            &raw mut (*p).work,
            Some(run_command),
            false,
            c"ferrule_local_cmd".as_ptr().cast(),
            kernel::static_lock_class!().as_ptr(),
        );
        (&raw mut (*p).cmd).write(cmd);
    }
    0
}

/// `queuecommand`: may be called in atomic context, so only queue the command's work item.
unsafe extern "C" fn queuecommand(
    shost: *mut bindings::Scsi_Host,
    cmd: *mut bindings::scsi_cmnd,
) -> bindings::scsi_qc_status {
    // SAFETY: the midlayer calls this only for our live hosts.
    let target = unsafe { target_data(shost) };
    target.inflight.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `cmd` has our initialised private area (init_cmd_priv); a new command's work
    // item is idle, and queueing it hands the command to `run_command`.
    let queued = unsafe {
        let p = bindings::ferrule_h_scsi_cmd_priv(cmd).cast::<CmdPriv>();
        target.wq.queue(&raw mut (*p).work)
    };
    if queued {
        0
    } else {
        // Cannot happen (the item was idle); let the midlayer retry rather than lose it.
        target.inflight.fetch_sub(1, Ordering::Relaxed);
        bindings::scsi_qc_status_SCSI_MLQUEUE_HOST_BUSY
    }
}

/// Work function: executes one command and completes it.
unsafe extern "C" fn run_command(work: *mut kb::work_struct) {
    // SAFETY: only `CmdPriv::work` items are queued with this function; `work` is its first
    // field (repr(C)), so the cast recovers the private area, whose `cmd` was set by
    // init_cmd_priv. The command was accepted by queuecommand and is completed only below.
    let Some(cmd) = (unsafe { ScsiCmd::from_raw((*work.cast::<CmdPriv>()).cmd) }) else {
        return;
    };
    // SAFETY: the command's device and host are live while the command is outstanding,
    // and the host is one of ours.
    let target = unsafe { target_data((*(*(*work.cast::<CmdPriv>()).cmd).device).host) };
    target.nexus.engine.execute(target.nexus.s_id, cmd);
    target.inflight.fetch_sub(1, Ordering::Release);
}

/// The error handler's task management: runs `f` in the engine (its effects on the task
/// set, unit attentions and reservations), then waits until every queued command has
/// finished. Commands cannot be cancelled once on a worker (backend I/O is synchronous); a
/// command that timed out has its completion ignored by the midlayer (it already marked it
/// complete), so once the flush returns the EH owns it exclusively.
///
/// # Safety
/// `cmd` is a command of one of our live hosts, passed by the EH.
unsafe fn eh_tmf(cmd: *mut bindings::scsi_cmnd, f: TmfFunction) -> c_int {
    // SAFETY: the EH passes a command of one of our live hosts, whose device is live.
    let (target, lun) = unsafe { (target_data((*(*cmd).device).host), (*(*cmd).device).lun) };
    let r = target
        .nexus
        .engine
        .task_management(target.nexus.s_id, lun, f);
    if r != TmfResponse::FunctionComplete && r != TmfResponse::FunctionSucceeded {
        pr_info!("local: task management for LUN {} answered {:?}\n", lun, r);
    }
    target.wq.flush();
    EH_SUCCESS
}

/// `eh_abort_handler`: ABORT TASK.
unsafe extern "C" fn eh_abort(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: called by the EH with a command it is aborting, which we accepted: its
    // request is a real block-layer request (unlike the resets' ioctl commands, which have
    // no hardware queue and so no tag).
    let tag = u64::from(unsafe { bindings::ferrule_h_scsi_tag(cmd) });
    // SAFETY: as above.
    unsafe { eh_tmf(cmd, TmfFunction::AbortTask { tag }) }
}

/// `eh_device_reset_handler`: LOGICAL UNIT RESET.
unsafe extern "C" fn eh_device_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: as above.
    unsafe { eh_tmf(cmd, TmfFunction::LogicalUnitReset) }
}

/// `eh_target_reset_handler`: TARGET RESET.
unsafe extern "C" fn eh_target_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: as above.
    unsafe { eh_tmf(cmd, TmfFunction::TargetReset) }
}

/// One local target: a `Scsi_Host` (target id 0) with its LUNs under a faux parent device.
pub(crate) struct LocalTarget {
    /// The registered host; removed and released in `Drop`.
    host: NonNull<bindings::Scsi_Host>,
    /// Pointed to by the host's hostdata; freed after the host is gone.
    data: Pin<KBox<TargetData>>,
    /// LUNs 0..max_lun-1 are scannable.
    max_lun: u64,
    /// LUN → device as last synchronised ([`LocalTarget::sync_luns`]).
    exported: Pin<KBox<Mutex<KVec<(u16, DeviceId)>>>>,
    /// Parent `struct device` of the host (dropped last).
    _parent: faux::Registration,
}

// SAFETY: the host pointer is only used by `Drop`; midlayer host functions are thread-safe.
unsafe impl Send for LocalTarget {}
// SAFETY: `&LocalTarget` gives access to nothing but thread-safe reads.
unsafe impl Sync for LocalTarget {}

impl LocalTarget {
    /// Creates the parent device and the host (LUNs 0..`max_lun`-1 scannable), then scans it
    /// (LUNs appear asynchronously). `wq` must outlive the returned target.
    #[inline(never)]
    pub(crate) fn new(name: &CStr, wq: &Workqueue, nexus: HostNexus, max_lun: u64) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        let exported = KBox::pin_init(new_mutex!(KVec::new()), GFP_KERNEL)?;
        let data = KBox::pin(
            TargetData {
                wq: wq.handle(),
                inflight: AtomicUsize::new(0),
                nexus,
            },
            GFP_KERNEL,
        )?;
        let hostdata_size = core::mem::size_of::<*const TargetData>() as c_int;
        // SAFETY: the template is static and complete; hostdata is sized for one pointer.
        let host = unsafe { bindings::scsi_host_alloc(&TEMPLATE.0, hostdata_size) };
        let host = NonNull::new(host).ok_or(ENOMEM)?;
        let dev: &device::Device<device::Bound> = parent.as_ref().as_ref();
        let dev = core::ptr::from_ref(dev).cast::<kb::device>().cast_mut();
        // SAFETY: `host` is freshly allocated and not yet visible to anyone: we may set its
        // limits and hostdata. `data` is pinned and outlives the host (Drop order). `dev` is
        // the faux device's `struct device` (`device::Device` is a transparent wrapper),
        // which the host holds a reference on while added.
        let added = unsafe {
            let h = host.as_ptr();
            (*h).max_id = 1;
            (*h).max_lun = max_lun;
            (*h).max_channel = 0;
            (*h).max_cmd_len = MAX_CMD_LEN;
            let target: *const TargetData = &*data;
            (*h).hostdata
                .as_mut_ptr()
                .cast::<*const TargetData>()
                .write(target);
            bindings::ferrule_h_scsi_add_host(h, dev)
        };
        if added != 0 {
            // SAFETY: allocated above, never added: dropping our reference frees it.
            unsafe { bindings::scsi_host_put(host.as_ptr()) };
            return Err(Error::from_errno(added));
        }
        // SAFETY: the host was added above.
        unsafe { bindings::scsi_scan_host(host.as_ptr()) };
        Ok(LocalTarget {
            host,
            data,
            max_lun,
            exported,
            _parent: parent,
        })
    }

    /// The SCSI host number (`hostN`).
    pub(crate) fn host_no(&self) -> u32 {
        // SAFETY: the host is live while `self` is.
        unsafe { (*self.host.as_ptr()).host_no }
    }

    /// Makes the host's Linux SCSI devices match `luns` (LUN → device, in LUN order): a
    /// LUN that is gone or now names another device loses its Linux device (removal waits
    /// for its commands), a new one is scanned. Process context; must not hold the engine's
    /// lock (scanning and removal run commands through it).
    ///
    /// With `add == false` only removals happen (before the engine stops serving them, so
    /// the disks' final SYNCHRONIZE CACHE still reaches their device) and the record is
    /// left as it was.
    pub(crate) fn sync_luns(&self, luns: &[(u16, DeviceId)], add: bool) -> Result {
        let mut exported = self.exported.lock();
        for lun in 0..self.max_lun {
            let lun16 = u16::try_from(lun).unwrap_or(u16::MAX);
            let want = luns.iter().find(|(n, _)| *n == lun16).map(|(_, d)| *d);
            let had = exported.iter().find(|(n, _)| *n == lun16).map(|(_, d)| *d);
            // SAFETY: the host is live while `self` is; the lookup returns a referenced
            // device or NULL, whose reference is dropped below.
            let sdev = unsafe { bindings::scsi_device_lookup(self.host.as_ptr(), 0, 0, lun) };
            let mut present = !sdev.is_null();
            if present && (want.is_none() || (had.is_some() && had != want)) {
                // SAFETY: `sdev` is referenced; removal is allowed in process context.
                unsafe { bindings::scsi_remove_device(sdev) };
                present = false;
            }
            if !sdev.is_null() {
                // SAFETY: drops the lookup's reference.
                unsafe { bindings::scsi_device_put(sdev) };
            }
            if add && want.is_some() && !present {
                // SAFETY: the host is live; the midlayer scans and adds the LUN, returning
                // a referenced device or an error pointer.
                unsafe {
                    let d = bindings::__scsi_add_device(
                        self.host.as_ptr(),
                        0,
                        0,
                        lun,
                        core::ptr::null_mut(),
                    );
                    if kernel::error::from_err_ptr(d).is_ok() {
                        bindings::scsi_device_put(d);
                    }
                }
            }
        }
        if add {
            exported.clear();
            exported.extend_from_slice(luns, GFP_KERNEL)?;
        }
        Ok(())
    }
}

impl Drop for LocalTarget {
    fn drop(&mut self) {
        let h = self.host.as_ptr();
        // SAFETY: the host was added in `new` and is removed once, here. Removal deletes the
        // disks, which waits for their outstanding requests; the flush then waits for the
        // tails of the workers that completed them. Only then is hostdata's target freed
        // (field drop after this function).
        unsafe { bindings::scsi_remove_host(h) };
        self.data.wq.flush();
        let left = self.data.inflight.load(Ordering::Acquire);
        if left != 0 {
            pr_err!(
                "local: host{} removed with {} commands in flight\n",
                self.host_no(),
                left
            );
        }
        // SAFETY: drops the reference from `scsi_host_alloc`; `self.host` is not used again.
        unsafe { bindings::scsi_host_put(h) };
    }
}

/// The local fabric: its workqueue and the targets on it.
pub(crate) struct LocalFabric {
    /// The `local_demo=1` target. Declared before `_wq`: targets are removed before the
    /// workqueue is destroyed. (Only held to be dropped, hence the underscores.)
    _demo: Option<LocalTarget>,
    _wq: Workqueue,
}

impl LocalFabric {
    /// Starts the fabric; with `demo`, creates one target with nullio LUN 0 and a RAM LUN 1
    /// of `ram_mib` MiB.
    pub(crate) fn new(demo: bool, ram_mib: u32) -> Result<Self> {
        let wq = Workqueue::new()?;
        let demo = if demo {
            let ram_bytes = usize::try_from(ram_mib)?
                .checked_mul(1 << 20)
                .ok_or(EINVAL)?;
            // 16 GiB of nullio: large enough to look like a disk, costs nothing.
            let nexus = HostNexus {
                engine: demo_engine(16 << 21, ram_bytes)?,
                s_id: local_port_id(0),
            };
            let t = LocalTarget::new(c"ferrule_local0", &wq, nexus, DEMO_MAX_LUN)?;
            pr_info!(
                "local: demo target on host{} (LUN 0 nullio, LUN 1 ram {} MiB)\n",
                t.host_no(),
                ram_mib
            );
            Some(t)
        } else {
            None
        };
        Ok(LocalFabric {
            _demo: demo,
            _wq: wq,
        })
    }
}
