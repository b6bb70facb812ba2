// SPDX-License-Identifier: GPL-2.0
//! FC ports (initialised HBAs) and the configfs targets on them.
//!
//! An HBA registers its port once its firmware runs in target mode with a WWPN; a
//! `targets/qla2x00t/<wwpn>` directory can only be made for a registered WWPN. `enable 1`
//! builds the target's engine and hands the port to it: from then on the HBA's logins are
//! judged by that target's ACL. `enable 0` takes the port back (every session ends). An HBA
//! that goes away while its target is enabled leaves the engine in place, and gets it back if
//! it returns with the same WWPN.
//!
//! Lock order: the local runtime's list, then [`FC`], then an HBA's `tgt`, then an engine.

use crate::config::{Device, Target};
use crate::local_rt::Wt;
use crate::target_engine::Engine;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::sync::Arc;
use scst_core::acl::WwpnText;
use scst_core::types::{DeviceId, LocalPort, Wwpn};

type Fail = (Error, &'static str);

/// What the registry needs of an FC port: an HBA's physical port (vp 0) or an NPIV port.
pub(crate) trait FcPort: Sync {
    /// Its port name.
    fn wwpn(&self) -> Wwpn;
    /// Its virtual port index on the HBA (0: the physical port).
    fn vp_index(&self) -> u8;
    /// Serve logins and commands through `engine`.
    fn attach(&self, engine: Arc<Engine>);
    /// Stop: every session ends, logins are refused.
    fn detach(&self);
    /// NPIV (physical ports only): creates a virtual port with these names.
    fn create_vp(&self, _wwpn: Wwpn, _wwnn: Wwpn) -> Result<NonNull<dyn FcPort>, Fail> {
        Err((EOPNOTSUPP, "not a physical port"))
    }
    /// NPIV: deletes a virtual port `create_vp` made (unregistered first).
    fn delete_vp(&self, _vp: NonNull<dyn FcPort>) {}
}

struct PortEntry {
    port: NonNull<dyn FcPort>,
    /// The physical port an NPIV port was created on.
    parent: Option<NonNull<dyn FcPort>>,
}

// SAFETY: `FcPort` is `Sync`; the pointer is valid while registered (see `register`).
unsafe impl Send for PortEntry {}

impl PortEntry {
    fn get(&self) -> &dyn FcPort {
        // SAFETY: registered ports stay valid until `unregister` removes them.
        unsafe { self.port.as_ref() }
    }
}

/// An enabled FC target.
struct FcLive {
    target: u32,
    wwpn: Wwpn,
    engine: Arc<Engine>,
}

struct State {
    ports: KVec<PortEntry>,
    live: KVec<FcLive>,
}

kernel::sync::global_lock! {
    // SAFETY: `init` runs at module load, before configfs or any HBA can use it.
    unsafe(uninit) static FC: Mutex<State> = State { ports: KVec::new(), live: KVec::new() };
}

/// Initialises the registry (module load).
pub(crate) fn init() {
    // SAFETY: called once, at module init, before any use of `FC`.
    unsafe { FC.init() };
}

/// Frees the registry (module unload; every HBA and target is gone by then).
pub(crate) fn exit() {
    let mut s = FC.lock();
    drop(core::mem::replace(&mut s.ports, KVec::new()));
    drop(core::mem::replace(&mut s.live, KVec::new()));
}

/// The registry's pointer to `port`, whose type may borrow from a bound device (a PCI HBA's
/// BARs live as long as its binding): only the trait object's lifetime bound is erased.
///
/// # Safety
/// The pointer must not be used after `port` (or anything it borrows) is gone: it is
/// unregistered (and an NPIV port deleted) first.
pub(crate) unsafe fn port_ptr<'a>(port: &'a (dyn FcPort + 'a)) -> NonNull<dyn FcPort> {
    let p: NonNull<dyn FcPort + 'a> = NonNull::from(port);
    // SAFETY: the same fat pointer with a longer lifetime bound; validity while in use is
    // the caller's contract above.
    unsafe { core::mem::transmute::<NonNull<dyn FcPort + 'a>, NonNull<dyn FcPort>>(p) }
}

/// Adds a port; if its WWPN's target is enabled, the port is attached at once.
///
/// # Safety
/// `port` must stay valid until [`unregister`] with the same pointer has returned.
pub(crate) unsafe fn register(port: NonNull<dyn FcPort>) -> Result {
    let mut s = FC.lock();
    let e = PortEntry { port, parent: None };
    let wwpn = e.get().wwpn();
    if s.ports.iter().any(|p| p.get().wwpn() == wwpn) {
        pr_err!(
            "qla2x00t: port {} is registered already (duplicate WWPN)\n",
            Wt(wwpn)
        );
        return Err(EEXIST);
    }
    if let Some(l) = s.live.iter().find(|l| l.wwpn == wwpn) {
        e.get().attach(l.engine.clone());
        pr_info!("qla2x00t: port {} back: target re-attached\n", Wt(wwpn));
    }
    s.ports.push(e, GFP_KERNEL)?;
    Ok(())
}

/// Removes a port (detaching it from its target first).
pub(crate) fn unregister(port: NonNull<dyn FcPort>) {
    let mut s = FC.lock();
    if let Some(i) = s
        .ports
        .iter()
        .position(|p| core::ptr::addr_eq(p.port.as_ptr(), port.as_ptr()))
    {
        if let Ok(e) = s.ports.remove(i) {
            e.get().detach();
        }
    }
}

/// Whether a port with this WWPN is registered.
pub(crate) fn exists(wwpn: Wwpn) -> bool {
    FC.lock().ports.iter().any(|p| p.get().wwpn() == wwpn)
}

/// Whether an enabled FC target exports device `id`.
pub(crate) fn exports(id: DeviceId) -> bool {
    FC.lock().live.iter().any(|l| l.engine.has_device(id))
}

/// `enable 1` on an FC target: builds its engine and attaches its port. `busy` says whether a
/// device is exported by a target of another fabric.
pub(crate) fn enable(
    t: &Target,
    devices: &[KBox<Device>],
    busy: &dyn Fn(DeviceId) -> bool,
) -> Result<(), Fail> {
    let mut s = FC.lock();
    let Some(port) = s.ports.iter().find(|p| p.get().wwpn() == t.wwpn) else {
        return Err((ENODEV, "no FC port with this WWPN"));
    };
    let port = port.port;
    let other = |id| busy(id) || s.live.iter().any(|l| l.engine.has_device(id));
    // One engine per FC port: its sessions live in it as local port (0, vp).
    let local = LocalPort {
        target: 0,
        vp_index: 0,
    };
    // SAFETY: registered (we hold the lock that `unregister` takes).
    let local = LocalPort {
        vp_index: u16::from(unsafe { port.as_ref() }.vp_index()),
        ..local
    };
    let engine = Engine::new_fc(t, devices, &other, local)?;
    s.live
        .reserve(1, GFP_KERNEL)
        .map_err(|_| (ENOMEM, "out of memory"))?;
    // SAFETY: registered (we hold the lock that `unregister` takes).
    unsafe { port.as_ref() }.attach(engine.clone());
    s.live
        .push(
            FcLive {
                target: t.id,
                wwpn: t.wwpn,
                engine,
            },
            GFP_KERNEL,
        )
        .map_err(|_| (ENOMEM, "out of memory"))?;
    pr_info!("qla2x00t: target {} on\n", Wt(t.wwpn));
    Ok(())
}

/// `enable 0`: the port (if present) ends its sessions; the engine goes with its last
/// command.
pub(crate) fn disable(t: &Target) {
    let mut s = FC.lock();
    let Some(i) = s.live.iter().position(|l| l.target == t.id) else {
        return;
    };
    if let Some(p) = s.ports.iter().find(|p| p.get().wwpn() == t.wwpn) {
        p.get().detach();
    }
    drop(s.live.remove(i));
    pr_info!("qla2x00t: target {} off\n", Wt(t.wwpn));
}

/// A LUN map or membership change of an enabled FC target.
pub(crate) fn reconfigure(
    t: &Target,
    devices: &[KBox<Device>],
    busy: &dyn Fn(DeviceId) -> bool,
) -> Result<(), Fail> {
    let s = FC.lock();
    let Some(l) = s.live.iter().find(|l| l.target == t.id) else {
        return Ok(());
    };
    let other = |id| {
        busy(id)
            || s.live
                .iter()
                .any(|o| o.target != t.id && o.engine.has_device(id))
    };
    l.engine.reconfigure(t, devices, &other)
}

/// A device's capacity changed.
pub(crate) fn resize(id: DeviceId, blocks: u64) {
    for l in FC.lock().live.iter() {
        l.engine.resize(id, blocks);
    }
}

/// The `sessions` lines of an enabled FC target (handle = the firmware's N_Port handle).
pub(crate) fn sessions(t: &Target, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let s = FC.lock();
    match s.live.iter().find(|l| l.target == t.id) {
        Some(l) => l.engine.sessions(&|_| None, out),
        None => Ok(()),
    }
}

/// `npiv` write `add <parent wwpn> <wwpn> [<wwnn>]`: creates an NPIV port on the HBA whose
/// physical port is `parent`; a target with its WWPN can then be made (and is attached at
/// once if it exists and is enabled).
pub(crate) fn npiv_add(parent: Wwpn, wwpn: Wwpn, wwnn: Wwpn) -> Result<(), Fail> {
    let mut s = FC.lock();
    if s.ports.iter().any(|p| p.get().wwpn() == wwpn) {
        return Err((EEXIST, "an FC port with this WWPN exists"));
    }
    let Some(pe) = s
        .ports
        .iter()
        .find(|p| p.get().wwpn() == parent && p.parent.is_none())
    else {
        return Err((ENOENT, "no physical FC port with the parent WWPN"));
    };
    let parent_ptr = pe.port;
    s.ports
        .reserve(1, GFP_KERNEL)
        .map_err(|_| (ENOMEM, "out of memory"))?;
    // SAFETY: registered (we hold the lock `unregister` takes).
    let vp = unsafe { parent_ptr.as_ref() }.create_vp(wwpn, wwnn)?;
    let e = PortEntry {
        port: vp,
        parent: Some(parent_ptr),
    };
    if let Some(l) = s.live.iter().find(|l| l.wwpn == wwpn) {
        e.get().attach(l.engine.clone());
    }
    s.ports
        .push(e, GFP_KERNEL)
        .map_err(|_| (ENOMEM, "out of memory"))?;
    Ok(())
}

/// `npiv` write `del <wwpn>`: ends the NPIV port's sessions and deletes it.
pub(crate) fn npiv_del(wwpn: Wwpn) -> Result<(), Fail> {
    let mut s = FC.lock();
    let Some(i) = s
        .ports
        .iter()
        .position(|p| p.get().wwpn() == wwpn && p.parent.is_some())
    else {
        return Err((ENOENT, "no NPIV port with this WWPN"));
    };
    let e = s.ports.remove(i).map_err(|_| (ENOENT, "no NPIV port"))?;
    e.get().detach();
    if let Some(parent) = e.parent {
        // SAFETY: a physical port outlives its NPIV ports (it unregisters them first).
        unsafe { parent.as_ref() }.delete_vp(e.port);
    }
    Ok(())
}

/// `npiv` read: `<parent wwpn> <wwpn> vp<index>` per NPIV port.
pub(crate) fn npiv_list(out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let s = FC.lock();
    for p in s.ports.iter() {
        let Some(parent) = p.parent else { continue };
        // SAFETY: as in `npiv_del`.
        let pw = unsafe { parent.as_ref() }.wwpn();
        writeln!(
            out,
            "{} {} vp{}",
            WwpnText(pw),
            WwpnText(p.get().wwpn()),
            p.get().vp_index()
        )?;
    }
    Ok(())
}
