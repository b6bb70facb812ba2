// SPDX-License-Identifier: GPL-2.0
//! The runtime behind configfs for the local fabric: `enable 1` on `targets/local/<wwpn>`
//! builds the target's engine (its LUs, ACL and one session per initiator WWPN) and one SCSI
//! host per initiator; `enable 0` removes the hosts (after their commands complete).
//!
//! Live changes: a LUN map or membership change re-resolves the sessions in the engine
//! (REPORTED LUNS DATA HAS CHANGED) and then adds or removes the Linux devices of each host
//! to match; a device resize raises CAPACITY DATA HAS CHANGED.
//!
//! A device is exported by at most one enabled target at a time: reservations and unit
//! attentions are kept per target, so sharing a device between two live targets would let
//! one target's initiators bypass the other's reservations.

use crate::config::{Device, Fabric, Target};
use crate::local::{HostNexus, LocalTarget, Workqueue};
use crate::runtime::{NoEngine, Runtime};
use crate::target_engine::{local_port_id, Engine};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;
use scst_core::acl::WwpnText;
use scst_core::types::Wwpn;

/// SCSI LUNs a configfs target may have (0..255, as the ACL).
const MAX_LUN: u64 = 256;

type Fail = (Error, &'static str);

/// A WWPN for `pr_*!` (which takes the kernel's `Display`).
pub(crate) struct Wt(pub(crate) Wwpn);

impl kernel::fmt::Display for Wt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&WwpnText(self.0), f)
    }
}

/// An enabled local target. Field order is drop order: the hosts (one per initiator) go
/// before their workqueue, the engine after both.
struct Live {
    target: u32,
    hosts: KVec<LocalTarget>,
    _wq: Workqueue,
    engine: Arc<Engine>,
}

impl Live {
    /// Brings every host's Linux devices in line with the LUNs `t` maps for its initiator;
    /// with `add == false` only removes (see [`LocalTarget::sync_luns`]).
    fn sync_hosts(&self, t: &Target, add: bool) {
        let mut luns = KVec::new();
        for (h, w) in self.hosts.iter().zip(t.initiators.as_slice()) {
            luns.clear();
            let g = t.acl.resolve(*w);
            let r = t
                .acl
                .luns_of(g)
                .try_for_each(|(n, m)| luns.push((n, m.device), GFP_KERNEL))
                .map_err(|_| ENOMEM)
                .and_then(|()| h.sync_luns(&luns, add));
            if let Err(e) = r {
                pr_warn!("local: host{}: LUN update failed ({:?})\n", h.host_no(), e);
            }
        }
    }
}

kernel::sync::global_lock! {
    // SAFETY: `init` runs at module load, before configfs can call the runtime.
    unsafe(uninit) static LIVE: Mutex<KVec<Live>> = KVec::new();
}

/// Initialises the runtime's state. Called once, at module load, before configfs is
/// registered.
pub(crate) fn init() {
    // SAFETY: called once (module init), before any use of `LIVE`.
    unsafe { LIVE.init() };
}

/// Frees the runtime's state at module unload. Statics are never dropped, so the vector's
/// buffer would otherwise outlive the module (kmemleak found it). By then no target is
/// enabled: configfs refuses `rmmod` while any target directory exists.
pub(crate) fn exit() {
    let old = core::mem::replace(&mut *LIVE.lock(), KVec::new());
    drop(old);
}

/// Whether an enabled target other than local target `this` exports device `id`: another
/// local target, or any FC target when `fc`. Reservations live per target, so a device is
/// exported by one enabled target at a time; every enable and LUN change asks this.
fn exported_elsewhere(
    live: &[Live],
    this: Option<u32>,
    fc: bool,
    id: scst_core::types::DeviceId,
) -> bool {
    live.iter()
        .any(|l| Some(l.target) != this && l.engine.has_device(id))
        || (fc && crate::qla2x00t::fcport::exports(id))
}

/// The runtime: the local fabric plus [`NoEngine`]'s device handling (no FC engine yet).
pub(crate) struct LocalRuntime;

impl LocalRuntime {
    #[inline(never)]
    fn enable_local(t: &Target, devices: &[KBox<Device>]) -> Result<(), Fail> {
        let oom = |_| (ENOMEM, "out of memory");
        let mut live = LIVE.lock();
        let busy = |id| exported_elsewhere(&live, None, true, id);
        let engine = Engine::new(t, devices, &busy)?;
        live.reserve(1, GFP_KERNEL).map_err(oom)?;
        let wq = Workqueue::new().map_err(|e| (e, "cannot allocate the workqueue"))?;
        let mut hosts = KVec::new();
        for (i, w) in t.initiators.as_slice().iter().enumerate() {
            let name = CString::try_from_fmt(fmt!("ferrule_t{}_i{}", t.id, i))
                .map_err(|_| (ENOMEM, "out of memory"))?;
            let nexus = HostNexus {
                engine: engine.clone(),
                s_id: local_port_id(i),
            };
            hosts.reserve(1, GFP_KERNEL).map_err(oom)?;
            let host = LocalTarget::new(&name, &wq, nexus, MAX_LUN)
                .map_err(|e| (e, "cannot create the SCSI host"))?;
            pr_info!(
                "local: target {} on host{} for initiator {}\n",
                Wt(t.wwpn),
                host.host_no(),
                Wt(*w)
            );
            hosts.push(host, GFP_KERNEL).map_err(oom)?;
        }
        let l = Live {
            target: t.id,
            hosts,
            _wq: wq,
            engine,
        };
        // The disks exist when `enable` returns.
        l.sync_hosts(t, true);
        live.push(l, GFP_KERNEL).map_err(oom)
    }
}

impl Runtime for LocalRuntime {
    fn device_enable(&self, dev: &mut Device) -> Result<(), Fail> {
        NoEngine.device_enable(dev)
    }

    fn device_disable(&self, dev: &mut Device) {
        NoEngine.device_disable(dev)
    }

    fn device_resize(&self, dev: &mut Device, new_size: u64) -> Result<(), Fail> {
        NoEngine.device_resize(dev, new_size)?;
        let blocks = new_size
            .checked_div(u64::from(dev.cfg.block_size))
            .unwrap_or(0);
        for l in LIVE.lock().iter() {
            l.engine.resize(dev.id, blocks);
        }
        crate::qla2x00t::fcport::resize(dev.id, blocks);
        Ok(())
    }

    fn target_enable(&self, t: &Target, devices: &[KBox<Device>]) -> Result<(), Fail> {
        match t.fabric {
            Fabric::Local => Self::enable_local(t, devices),
            Fabric::Qla => {
                let live = LIVE.lock();
                // FC targets among themselves: fcport's own check.
                let busy = |id| exported_elsewhere(&live, None, false, id);
                crate::qla2x00t::fcport::enable(t, devices, &busy)
            }
        }
    }

    fn target_disable(&self, t: &Target) {
        if t.fabric == Fabric::Qla {
            crate::qla2x00t::fcport::disable(t);
            return;
        }
        let gone = {
            let mut live = LIVE.lock();
            match live.iter().position(|l| l.target == t.id) {
                Some(i) => live.remove(i).ok(),
                None => None,
            }
        };
        if let Some(l) = gone {
            let n = l.hosts.len();
            // Removing the hosts waits for their outstanding commands.
            drop(l);
            pr_info!("local: target {} off ({} hosts removed)\n", Wt(t.wwpn), n);
        }
    }

    fn lun_map_changed(&self, t: &Target, devices: &[KBox<Device>]) {
        if !t.enabled {
            return;
        }
        if t.fabric == Fabric::Qla {
            let live = LIVE.lock();
            let busy = |id| exported_elsewhere(&live, None, false, id);
            if let Err((e, why)) = crate::qla2x00t::fcport::reconfigure(t, devices, &busy) {
                pr_warn!(
                    "qla2x00t: target {}: a LUN stays offline: {} ({:?})\n",
                    Wt(t.wwpn),
                    why,
                    e
                );
            }
            return;
        }
        let live = LIVE.lock();
        let Some(l) = live.iter().find(|l| l.target == t.id) else {
            return;
        };
        // An FC target may have taken the device since this one was enabled.
        let busy = |id| exported_elsewhere(&live, Some(t.id), true, id);
        // Disks of LUNs that go away or change device are removed first, while the engine
        // still serves them; then the engine switches; then new disks are scanned.
        l.sync_hosts(t, false);
        if let Err((e, why)) = l.engine.reconfigure(t, devices, &busy) {
            // The configuration change stands; the LUN answers LOGICAL UNIT NOT SUPPORTED.
            pr_warn!(
                "local: target {}: a LUN stays offline: {} ({:?})\n",
                Wt(t.wwpn),
                why,
                e
            );
        }
        l.sync_hosts(t, true);
    }

    fn sessions(&self, t: &Target, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        if t.fabric == Fabric::Qla {
            return crate::qla2x00t::fcport::sessions(t, out);
        }
        let live = LIVE.lock();
        let Some(l) = live.iter().find(|l| l.target == t.id) else {
            return Ok(());
        };
        l.engine
            .sessions(&|i| l.hosts.get(i).map(|h| h.host_no()), out)
    }

    fn fc_port_exists(&self, wwpn: Wwpn) -> bool {
        crate::qla2x00t::fcport::exists(wwpn)
    }
}
