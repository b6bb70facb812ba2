// SPDX-License-Identifier: GPL-2.0
//! The runtime behind configfs for the local fabric: `enable 1` on `targets/local/<wwpn>`
//! builds the LUN set the target's ACL resolves for its `initiator` and registers it as a
//! SCSI host; `enable 0` removes the host (after its commands complete).
//!
//! LUN map changes on an enabled local target: changes that can only remove LUNs from the
//! initiator's view (rmdir of a LUN, group or member) take effect at once (the LU answers
//! LOGICAL UNIT NOT SUPPORTED and its Linux device is removed); changes that could add or
//! alter LUNs are refused with EBUSY by the config tree (see `config.rs`).

use crate::blockio::BlockIo;
use crate::config::{BackendKind, Backing, Device, Fabric, Target};
use crate::engine::{complete, run, MAX_SECTORS};
use crate::fileio::FileIo;
use crate::local::{HostLuns, LocalTarget, Workqueue};
use crate::nullio::NullIo;
use crate::runtime::{NoEngine, Runtime};
use crate::scsi::ScsiCmd;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::str::CString;
use scst_core::acl::WwpnText;
use scst_core::device::{DeviceConfig, LuState};
use scst_core::exec::{self, CmdContext};
use scst_core::types::{DeviceId, LocalPort, Lun, PortId, TaskAttr, Wwpn};

/// SCSI LUNs a configfs target may have (0..255, as the ACL).
const MAX_LUN: u64 = 256;

/// The backend of one configured LU.
enum LuBackend {
    Null(NullIo),
    File(FileIo),
    Block(BlockIo),
}

/// One LU of an enabled local target: a snapshot of the device's attributes at enable.
struct ConfigLu {
    lun: u16,
    device: DeviceId,
    read_only: bool,
    config: DeviceConfig,
    state: LuState,
    backend: LuBackend,
    /// Removed from the initiator's view while the target is enabled.
    gone: AtomicBool,
}

/// The LUNs a local target's initiator sees, in LUN order.
pub(crate) struct ConfigLuns {
    initiator: Wwpn,
    target_wwpn: Wwpn,
    rel_port: u16,
    lus: KVec<KBox<ConfigLu>>,
    /// REPORT LUNS data (as at enable; a LUN removed later is still listed, but answers
    /// LOGICAL UNIT NOT SUPPORTED).
    list: KVec<Lun>,
}

type Fail = (Error, &'static str);

/// A WWPN for `pr_*!` (which takes the kernel's `Display`).
struct Wt(Wwpn);

impl kernel::fmt::Display for Wt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&WwpnText(self.0), f)
    }
}

impl ConfigLuns {
    /// Resolves `t`'s initiator through its ACL and snapshots the mapped devices.
    fn build(t: &Target, devices: &[KBox<Device>]) -> Result<Self, Fail> {
        let oom = |_| (ENOMEM, "out of memory");
        let g = t.acl.resolve(t.initiator);
        let mut lus = KVec::new();
        let mut list = KVec::new();
        for (lun, m) in t.acl.luns_of(g) {
            let dev = devices
                .iter()
                .find(|d| d.id == m.device)
                .ok_or((ENOENT, "a mapped device is gone"))?;
            if !dev.enabled {
                return Err((EBUSY, "a mapped device is not enabled"));
            }
            let bs = dev.cfg.block_size as usize;
            let mut config = dev.cfg;
            config.read_only |= m.read_only;
            // The host's transfer limit in blocks, so the initiator never exceeds the LU's.
            let max_blocks = MAX_SECTORS
                .saturating_mul(512)
                .checked_div(dev.cfg.block_size)
                .unwrap_or(0);
            config.max_xfer_blocks = config.max_xfer_blocks.min(max_blocks).max(1);
            let backend = match (dev.backend, &dev.backing) {
                (BackendKind::Nullio, _) => LuBackend::Null(NullIo::new(bs)),
                (BackendKind::Blockio, Some(Backing::Bdev(f))) => {
                    // SAFETY: as below, for the block device file.
                    let b = unsafe { BlockIo::new(*f, bs) };
                    LuBackend::Block(b.ok_or((EINVAL, "block_size does not suit the device"))?)
                }
                (_, Some(Backing::File(f))) | (_, Some(Backing::Bdev(f))) => {
                    // SAFETY: the device is enabled, so `f` is open and the tree (whose
                    // mutex our caller holds) keeps its reference for this call.
                    let f = unsafe { FileIo::new(*f, bs) };
                    LuBackend::File(f.ok_or((EINVAL, "backing file missing"))?)
                }
                _ => return Err((EINVAL, "backing file missing")),
            };
            let lu = ConfigLu {
                lun,
                device: m.device,
                read_only: m.read_only,
                state: LuState::new(&config),
                config,
                backend,
                gone: AtomicBool::new(false),
            };
            lus.push(KBox::new(lu, GFP_KERNEL).map_err(oom)?, GFP_KERNEL)
                .map_err(oom)?;
            list.push(Lun::from_index(lun), GFP_KERNEL).map_err(oom)?;
        }
        Ok(ConfigLuns {
            initiator: t.initiator,
            target_wwpn: t.wwpn,
            rel_port: t.rel_port,
            lus,
            list,
        })
    }

    /// The live LU at Linux LUN `lun`.
    fn find(&self, lun: u64) -> Option<&ConfigLu> {
        let lun = u16::try_from(lun).ok()?;
        let i = self.lus.binary_search_by_key(&lun, |l| l.lun).ok()?;
        self.lus
            .get(i)
            .map(|l| &**l)
            .filter(|l| !l.gone.load(Ordering::Acquire))
    }
}

impl ConfigLuns {
    /// Executes `cmd` and completes it back to the midlayer.
    pub(crate) fn execute(&self, cmd: ScsiCmd) {
        let linux_lun = cmd.lun();
        let lun = u16::try_from(linux_lun).map_or(Lun(u64::MAX), Lun::from_index);
        let ctx = CmdContext {
            initiator: self.initiator,
            initiator_port_id: PortId::new(0),
            local_port: LocalPort {
                target: 0,
                vp_index: 0,
            },
            lun,
            target_wwpn: self.target_wwpn,
            rel_port_id: self.rel_port,
            tpg_id: 0,
            tpg_ports: &[],
            luns: &self.list,
            pending_sense: None,
            attr: TaskAttr::Simple,
        };
        let cdb = cmd.cdb();
        let lu = self.find(linux_lun);
        let (result, d_sense) = cmd.with_data(|buf| match lu {
            Some(lu) => match &lu.backend {
                LuBackend::Null(b) => run(&lu.config, &lu.state, b, &ctx, cdb, buf),
                LuBackend::File(b) => run(&lu.config, &lu.state, b, &ctx, cdb, buf),
                LuBackend::Block(b) => run(&lu.config, &lu.state, b, &ctx, cdb, buf),
            },
            None => (exec::execute_no_lu(&ctx, cdb, buf), false),
        });
        complete(cmd, &result, d_sense);
    }
}

/// An enabled local target. Field order is drop order: the host goes before its workqueue.
struct Live {
    target: u32,
    host: LocalTarget,
    _wq: Workqueue,
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

/// The runtime: the local fabric plus [`NoEngine`]'s device handling (no FC engine yet).
pub(crate) struct LocalRuntime;

impl LocalRuntime {
    #[inline(never)]
    fn enable_local(t: &Target, devices: &[KBox<Device>]) -> Result<(), Fail> {
        let luns = ConfigLuns::build(t, devices)?;
        let count = luns.lus.len();
        let luns =
            HostLuns::Config(KBox::new(luns, GFP_KERNEL).map_err(|_| (ENOMEM, "out of memory"))?);
        let mut live = LIVE.lock();
        live.reserve(1, GFP_KERNEL)
            .map_err(|_| (ENOMEM, "out of memory"))?;
        let name = CString::try_from_fmt(fmt!("ferrule_t{}", t.id))
            .map_err(|_| (ENOMEM, "out of memory"))?;
        let wq = Workqueue::new().map_err(|e| (e, "cannot allocate the workqueue"))?;
        let host = LocalTarget::new(&name, &wq, luns, MAX_LUN)
            .map_err(|e| (e, "cannot create the SCSI host"))?;
        pr_info!(
            "local: target {} on host{}: {} LUNs for initiator {}\n",
            Wt(t.wwpn),
            host.host_no(),
            count,
            Wt(t.initiator)
        );
        live.push(
            Live {
                target: t.id,
                host,
                _wq: wq,
            },
            GFP_KERNEL,
        )
        .map_err(|_| (ENOMEM, "out of memory"))
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
        NoEngine.device_resize(dev, new_size)
    }

    fn target_enable(&self, t: &Target, devices: &[KBox<Device>]) -> Result<(), Fail> {
        match t.fabric {
            Fabric::Local => Self::enable_local(t, devices),
            Fabric::Qla => NoEngine.target_enable(t, devices),
        }
    }

    fn target_disable(&self, t: &Target) {
        let gone = {
            let mut live = LIVE.lock();
            match live.iter().position(|l| l.target == t.id) {
                Some(i) => live.remove(i).ok(),
                None => None,
            }
        };
        if let Some(l) = gone {
            let host = l.host.host_no();
            // Removing the host waits for its outstanding commands.
            drop(l);
            pr_info!("local: target {} off (host{} removed)\n", Wt(t.wwpn), host);
        }
    }

    fn lun_map_changed(&self, t: &Target) {
        if t.fabric != Fabric::Local || !t.enabled {
            return;
        }
        let live = LIVE.lock();
        let Some(l) = live.iter().find(|l| l.target == t.id) else {
            return;
        };
        let Some(luns) = l.host.config_luns() else {
            return;
        };
        let g = t.acl.resolve(t.initiator);
        for lu in luns.lus.iter() {
            if lu.gone.load(Ordering::Acquire) {
                continue;
            }
            let kept = t
                .acl
                .luns_of(g)
                .any(|(n, m)| n == lu.lun && m.device == lu.device && m.read_only == lu.read_only);
            if !kept {
                // New commands see no LU from here on; the removal waits for the rest.
                lu.gone.store(true, Ordering::Release);
                l.host.remove_lun(lu.lun);
                pr_info!(
                    "local: target {}: LUN {} removed from host{}\n",
                    Wt(t.wwpn),
                    lu.lun,
                    l.host.host_no()
                );
            }
        }
    }

    fn sessions(&self, t: &Target, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        if t.fabric != Fabric::Local {
            return Ok(());
        }
        let live = LIVE.lock();
        let Some(l) = live.iter().find(|l| l.target == t.id) else {
            return Ok(());
        };
        let g = t.acl.resolve(t.initiator);
        let group = t.acl.group_name(g).unwrap_or(b"?");
        // Local sessions have no N_Port ID; the handle is the SCSI host.
        write!(
            out,
            "{} - host{} {} ",
            WwpnText(t.initiator),
            l.host.host_no(),
            crate::config::Bytes(group)
        )?;
        let mut any = false;
        if let Some(c) = l.host.config_luns() {
            for lu in c.lus.iter().filter(|lu| !lu.gone.load(Ordering::Relaxed)) {
                write!(out, "{}{}", if any { "," } else { "" }, lu.lun)?;
                any = true;
            }
        }
        writeln!(out, "{} {}", if any { "" } else { "-" }, l.host.inflight())
    }

    fn fc_port_exists(&self, wwpn: Wwpn) -> bool {
        NoEngine.fc_port_exists(wwpn)
    }
}
