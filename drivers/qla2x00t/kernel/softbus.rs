// SPDX-License-Identifier: GPL-2.0
//! The soft-ISP backend: an [`IspBus`] over the C ops table of `rust/ferrule_soft_isp.h`
//! (registered by ferrule_isp_sim.ko), and the attach/detach entry points the exported C
//! functions `ferrule_soft_isp_add/remove` call (rust/ferrule_helpers.c keeps the list of
//! attached soft ISPs and serialises these calls under its mutex).
//!
//! Attach runs the same bring-up as PCI probe (`bringup.rs`) with one interrupt line (the
//! provider's irq, requested like a single MSI vector). Names: from the NVRAM behind the
//! flash registers when the provider has one (as on PCI), else the ones it supplies; so the
//! port is initialised: INITIALIZE FIRMWARE, GET ADAPTER ID, firmware state.

use crate::bindings::{ferrule_soft_isp, ferrule_soft_isp_ops};
use crate::qla2x00t::bringup;
use crate::qla2x00t::bus::IspBus;
use crate::qla2x00t::chip::{ChipInfo, VectorKind, VectorRole};
use crate::qla2x00t::fcport::{self, FcPort};
use crate::qla2x00t::hba::Hba;
use crate::qla2x00t::irq::IrqLine;
use core::ffi::c_int;
use core::ptr::NonNull;
use kernel::device::{Bound, Device, Normal};
use kernel::prelude::*;
use qla2x00t_proto::regs::{mailbox_offset, QueuePtr, QueueRegs, Reg};
use scst_core::types::Wwpn;

/// IRQ name in /proc/interrupts.
const IRQ_NAME: &CStr = c"ferrule_qla2x00t_soft";

/// An ISP behind a provider's ops table.
pub(crate) struct SoftBus {
    isp: NonNull<ferrule_soft_isp>,
    ops: NonNull<ferrule_soft_isp_ops>,
}

// SAFETY: the header's contract: the ops may be called from any context on any CPU and
// serialise themselves; the struct stays valid until detach has returned.
unsafe impl Send for SoftBus {}
// SAFETY: as above.
unsafe impl Sync for SoftBus {}

impl SoftBus {
    fn isp(&self) -> &ferrule_soft_isp {
        // SAFETY: valid until `ferrule_soft_isp_remove` returns, which drops `self` first.
        unsafe { self.isp.as_ref() }
    }

    fn ops(&self) -> &ferrule_soft_isp_ops {
        // SAFETY: as in `isp`; checked non-NULL at attach.
        unsafe { self.ops.as_ref() }
    }
}

impl IspBus for SoftBus {
    fn read32(&self, reg: Reg) -> u32 {
        match self.ops().read32 {
            // SAFETY: provider callback with its own context, callable in any context.
            Some(f) => unsafe { f(self.isp().ctx, reg.offset()) },
            None => u32::MAX,
        }
    }

    fn write32(&self, reg: Reg, value: u32) {
        if let Some(f) = self.ops().write32 {
            // SAFETY: as in `read32`.
            unsafe { f(self.isp().ctx, reg.offset(), value) }
        }
    }

    fn read_mailbox(&self, n: usize) -> u16 {
        match (mailbox_offset(n), self.ops().read16) {
            // SAFETY: as in `read32`.
            (Some(off), Some(f)) => unsafe { f(self.isp().ctx, off) },
            _ => u16::MAX,
        }
    }

    fn write_mailbox(&self, n: usize, value: u16) {
        if let (Some(off), Some(f)) = (mailbox_offset(n), self.ops().write16) {
            // SAFETY: as in `read32`.
            unsafe { f(self.isp().ctx, off, value) }
        }
    }

    fn write_queue(&self, ptr: QueuePtr, value: u32) {
        // The soft ISP has no MQ page: queue pointers are always in the 24xx window.
        if let (Some(off), Some(f)) = (QueueRegs::Isp24xx.offset(ptr), self.ops().write32) {
            // SAFETY: as in `read32`.
            unsafe { f(self.isp().ctx, off, value) }
        }
    }

    fn read_queue(&self, ptr: QueuePtr) -> u32 {
        match (QueueRegs::Isp24xx.offset(ptr), self.ops().read32) {
            // SAFETY: as in `read32`.
            (Some(off), Some(f)) => unsafe { f(self.isp().ctx, off) },
            _ => u32::MAX,
        }
    }

    fn dma_device(&self) -> &Device<Bound> {
        // SAFETY: the provider keeps `dev` bound to its driver (and so referenced) until
        // remove has returned; checked non-NULL at attach.
        unsafe { Device::<Normal>::from_raw(self.isp().dev).as_bound() }
    }
}

/// One attached soft HBA. Field order is teardown order: the line (free_irq waits for the
/// handlers), then the HBA (rings); `Drop` quiesces the chip first.
struct SoftHba {
    line: Option<IrqLine<SoftBus>>,
    hba: Pin<KBox<Hba<SoftBus>>>,
    /// Registered as an FC port (configfs targets can use it).
    registered: bool,
}

impl SoftHba {
    fn fc_port(&self) -> NonNull<dyn FcPort> {
        let p: &dyn FcPort = &*self.hba;
        NonNull::from(p)
    }
}

impl Drop for SoftHba {
    fn drop(&mut self) {
        if self.registered {
            // NPIV ports first (their entries point at this HBA), then the physical port.
            for vp in self.hba.tgt_vp_ports().iter() {
                fcport::unregister(*vp);
            }
            fcport::unregister(self.fc_port());
        }
        self.hba.shutdown();
        self.line = None;
        // No interrupt can start a step now: finish the running ones, free every command.
        self.hba.fc_wq.flush();
        self.hba.tgt_release_all();
        let s = &self.hba.stats;
        let ld = core::sync::atomic::Ordering::Relaxed;
        dev_info!(
            self.hba.bus.dma_device(),
            "qla2x00t: soft ISP released ({} interrupts, {} async events, {} ATIO IOCBs, {} immediate notify)\n",
            s.irqs.load(ld),
            s.async_events.load(ld),
            s.atio_iocbs.load(ld),
            s.notifies.load(ld)
        );
    }
}

fn attach(isp: NonNull<ferrule_soft_isp>) -> Result<KBox<SoftHba>> {
    // SAFETY: the caller (ferrule_soft_isp_add) passes a provider struct valid until remove.
    let raw = unsafe { isp.as_ref() };
    let ops = NonNull::new(raw.ops.cast_mut()).ok_or(EINVAL)?;
    if raw.dev.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: non-NULL, and bound to the provider's driver until remove has returned.
    let dev = unsafe { Device::<Normal>::from_raw(raw.dev).as_bound() };
    let bus = SoftBus { isp, ops };
    let chip = bringup::step(
        dev,
        "identify (device id not a supported ISP)",
        ChipInfo::from_device_id(raw.device_id).ok_or(ENODEV),
    )?;
    let given = (Wwpn(raw.port_name), Wwpn(raw.node_name));
    let source = if raw.has_nvram {
        bringup::NameSource::Nvram {
            function: raw.function,
            fallback: Some(given),
        }
    } else {
        bringup::NameSource::Given(given.0, given.1)
    };
    let irq = raw.irq;
    let hba = bringup::step(dev, "rings", Hba::new(bus, chip))?;
    let hba = KBox::pin_init(hba, GFP_KERNEL)?;
    let mut soft = KBox::new(
        SoftHba {
            line: None,
            hba,
            registered: false,
        },
        GFP_KERNEL,
    )?;
    bringup::quiesce_and_reset(&soft.hba)?;
    // SAFETY: the HBA is pinned in a box that `SoftHba` drops after the line (its `Drop`
    // clears `line` explicitly first).
    let line = unsafe { IrqLine::request(irq, &soft.hba, VectorRole::Default, false, IRQ_NAME) };
    soft.line = Some(bringup::step(
        soft.hba.bus.dma_device(),
        "request_irq",
        line,
    )?);
    let st = bringup::start(&soft.hba, VectorKind::Msi, source)?;
    let hba = &soft.hba;
    let dev = hba.bus.dma_device();
    let (maj, min, sub, attr) = st.version;
    dev_info!(
        dev,
        "qla2x00t: soft ISP{:04x} firmware {}.{}.{} (attributes {:#06x}) running, irq {}\n",
        chip.device_id,
        maj,
        min,
        sub,
        attr,
        irq
    );
    if let Some(names) = st.names {
        dev_info!(
            dev,
            "qla2x00t: firmware initialised (target mode), WWPN {:016x} WWNN {:016x}, state {}; names from {}\n",
            names.0 .0,
            names.1 .0,
            bringup::fw_state_name(st.fw_state),
            st.names_from
        );
    }
    match st.adapter_id {
        Some(id) => dev_info!(
            dev,
            "qla2x00t: GET ADAPTER ID: port id {:06x}, topology {}\n",
            id.port_id.get(),
            id.topology
        ),
        None => dev_info!(dev, "qla2x00t: GET ADAPTER ID: no port id (link down)\n"),
    }
    if let Some(names) = st.names {
        hba.tgt_set_port(names.0, st.adapter_id.map(|id| id.port_id));
        // SAFETY: the HBA is pinned in `soft`, whose `Drop` unregisters it before freeing.
        unsafe { fcport::register(soft.fc_port()) }?;
        soft.registered = true;
    }
    Ok(soft)
}

/// Called by `ferrule_soft_isp_add` (under its mutex): brings the soft ISP up and stores the
/// HBA in `driver_priv`. 0 or a negative errno; on error nothing remains.
#[no_mangle]
extern "C" fn ferrule_rs_soft_isp_attach(isp: *mut ferrule_soft_isp) -> c_int {
    let Some(isp) = NonNull::new(isp) else {
        return EINVAL.to_errno();
    };
    match attach(isp) {
        Ok(soft) => {
            // SAFETY: valid provider struct (see `attach`); only we write `driver_priv`.
            unsafe { (*isp.as_ptr()).driver_priv = KBox::into_raw(soft).cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Called by `ferrule_soft_isp_remove` and at module unload (under the list mutex): tears
/// the HBA down and clears `driver_priv`.
#[no_mangle]
extern "C" fn ferrule_rs_soft_isp_detach(isp: *mut ferrule_soft_isp) {
    let Some(isp) = NonNull::new(isp) else {
        return;
    };
    let raw = isp.as_ptr();
    // SAFETY: valid provider struct; `driver_priv` is ours.
    let priv_ = unsafe { core::mem::replace(&mut (*raw).driver_priv, core::ptr::null_mut()) };
    if !priv_.is_null() {
        // SAFETY: set by `ferrule_rs_soft_isp_attach` from `KBox::into_raw`, taken once.
        drop(unsafe { KBox::from_raw(priv_.cast::<SoftHba>()) });
    }
}
