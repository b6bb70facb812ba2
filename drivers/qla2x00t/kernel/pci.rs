// SPDX-License-Identifier: GPL-2.0
//! The PCI backend: a `pci_driver` named `ferrule_qla2x00t` with an **empty** ID table.
//!
//! Binding policy: no automatic binding at all. The table has no entries and is not exported
//! as a module alias, so loading ferrule.ko never autoloads for, nor claims, a QLogic HBA
//! (qla2xxx keeps every HBA it has or will have). An admin hands one HBA over explicitly:
//! `echo ferrule_qla2x00t > /sys/bus/pci/devices/<bdf>/driver_override`, unbind it from
//! qla2xxx, then `echo <bdf> > /sys/bus/pci/drivers_probe` (Documentation/qla2x00t.md).
//! The PCI core then offers the device with its dummy "any" ID; probe identifies the part
//! from the device ID and refuses anything that is not a supported ISP.

use crate::qla2x00t::bringup;
use crate::qla2x00t::bus::PciBus;
use crate::qla2x00t::chip::{vector_role, ChipInfo, Family, VectorKind, MSIX_VECTORS};
use crate::qla2x00t::fcport::{self, FcPort};
use crate::qla2x00t::hba::Hba;
use crate::qla2x00t::irq::IrqLine;
use core::ptr::NonNull;
use kernel::device::Core;
use kernel::dma::{Device as _, DmaMask};
use kernel::pci::{self, IrqType, IrqTypes};
use kernel::prelude::*;

/// Driver name in /sys/bus/pci/drivers/.
pub(crate) const DRIVER_NAME: &CStr = c"ferrule_qla2x00t";

/// The PCI driver.
pub(crate) struct QlaPciDriver;

// An empty table, deliberately without `pci_device_table!` (which would export a modalias).
static PCI_TABLE: kernel::device_id::IdArray<pci::DeviceId, (), 0> =
    kernel::device_id::IdArray::new([]);

/// Undoes `enable_device_mem` + `set_master` (the kernel crate has no disable): dropped
/// last, on probe failure as on unbind, so the function is left as probe found it.
struct Enabled<'a>(&'a pci::Device);

impl Drop for Enabled<'_> {
    fn drop(&mut self) {
        let raw = core::ptr::from_ref(self.0)
            .cast::<kernel::bindings::pci_dev>()
            .cast_mut();
        // SAFETY: `pci::Device` is a `#[repr(transparent)]` wrapper of `struct pci_dev`, valid
        // while bound; this guard exists only after a successful `pci_enable_device_mem`.
        unsafe {
            kernel::bindings::pci_clear_master(raw);
            kernel::bindings::pci_disable_device(raw);
        }
    }
}

/// A bound HBA. Field order is teardown order: lines, then the HBA (rings, BARs), then the
/// vectors; `Drop` first takes the FC port out of the registry and quiesces the chip so no
/// DMA or interrupt outlives its memory.
pub(crate) struct QlaPciData<'a> {
    lines: KVec<IrqLine<PciBus<'a>>>,
    hba: Pin<KBox<Hba<PciBus<'a>>>>,
    _vectors: pci::IrqVectorRegistration<'a>,
    pdev: &'a pci::Device,
    /// Registered as an FC port (configfs targets can use it).
    registered: bool,
    _enabled: Enabled<'a>,
}

impl QlaPciData<'_> {
    fn fc_port(&self) -> NonNull<dyn FcPort> {
        // SAFETY: `Drop` unregisters the port (and its NPIV ports) before the HBA and the
        // binding it borrows from go away.
        unsafe { fcport::port_ptr(&*self.hba) }
    }
}

impl Drop for QlaPciData<'_> {
    fn drop(&mut self) {
        if self.registered {
            // NPIV ports first (their entries point at this HBA), then the physical port.
            for vp in self.hba.tgt_vp_ports().iter() {
                fcport::unregister(*vp);
            }
            fcport::unregister(self.fc_port());
        }
        self.hba.shutdown();
        self.lines.clear();
        // No interrupt can start a step now: finish the running ones, free every command.
        self.hba.fc_wq.flush();
        self.hba.tgt_release_all();
        dev_info!(self.pdev, "qla2x00t: released\n");
    }
}

/// Which NVRAM copy is this function's, as qla2xxx numbers ports: from the interrupt pin
/// (24xx: INTA port 0, INTB port 1; 25xx and later: pin - 1), or the PCI function number
/// when the pin is 0 (virtualised).
fn port_number(pdev: &pci::Device<Core<'_>>, family: Family) -> u8 {
    let raw = core::ptr::from_ref(pdev).cast::<kernel::bindings::pci_dev>();
    // SAFETY: `pci::Device` wraps a valid `struct pci_dev` while bound; `pin` and `devfn`
    // are set at enumeration and not changed while a driver is bound.
    let (pin, devfn) = unsafe { ((*raw).pin, (*raw).devfn) };
    if pin == 0 {
        return (devfn & 7) as u8;
    }
    match family {
        Family::Isp24xx => u8::from(pin & 1 == 0),
        _ => pin.saturating_sub(1),
    }
}

/// Allocates vectors: MSI-X for default/response/ATIO when the part allows, else one MSI,
/// else INTx.
fn alloc_vectors<'a>(
    pdev: &'a pci::Device<kernel::device::Bound>,
    chip: &ChipInfo,
) -> Result<(pci::IrqVectorRegistration<'a>, VectorKind)> {
    let n = MSIX_VECTORS as u32;
    if chip.msix {
        if let Ok(v) = pdev.alloc_irq_vectors(n, n, IrqTypes::default().with(IrqType::MsiX)) {
            return Ok((v, VectorKind::MsiX));
        }
    }
    let v = pdev.alloc_irq_vectors(
        1,
        1,
        IrqTypes::default().with(IrqType::Msi).with(IrqType::Intx),
    )?;
    let kind = match v.irq_type() {
        IrqType::Msi => VectorKind::Msi,
        _ => VectorKind::Intx,
    };
    Ok((v, kind))
}

/// Logs the failed step once and passes the error on.
fn step<T>(pdev: &pci::Device<Core<'_>>, what: &str, r: Result<T>) -> Result<T> {
    r.inspect_err(|e| {
        dev_err!(
            pdev,
            "qla2x00t: probe failed at {}: errno {}\n",
            what,
            e.to_errno()
        )
    })
}

impl pci::Driver for QlaPciDriver {
    type IdInfo = ();
    type Data<'bound> = QlaPciData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let chip = if pdev.vendor_id() == pci::Vendor::QLOGIC {
            ChipInfo::from_device_id(pdev.device_id())
        } else {
            None
        };
        let chip = step(
            pdev,
            "identify (not a supported QLogic ISP)",
            chip.ok_or(ENODEV),
        )?;

        step(pdev, "enable", pdev.enable_device_mem())?;
        let enabled = Enabled(pdev);
        pdev.set_master();
        // SAFETY: probe runs before any DMA allocation for this device.
        let masked =
            unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<64>()) }.or_else(|_| unsafe {
                // SAFETY: as above.
                pdev.dma_set_mask_and_coherent(DmaMask::new::<32>())
            });
        step(pdev, "DMA mask", masked)?;

        let regs = step(
            pdev,
            "register BAR",
            pdev.iomap_region(chip.regs_bar, DRIVER_NAME),
        )?;
        if pdev.resource_len(chip.regs_bar).unwrap_or(0) < 0x100 {
            dev_err!(pdev, "qla2x00t: probe failed at register BAR: too small\n");
            return Err(ENODEV);
        }
        let mq = match chip.mq_bar {
            Some(bar) => Some(step(pdev, "MQ BAR", pdev.iomap_region(bar, DRIVER_NAME))?),
            None => None,
        };
        let bus = PciBus::new(pdev, regs, mq, chip.queue_regs());
        let hba = step(pdev, "rings", Hba::new(bus, chip))?;
        let hba = step(pdev, "rings", KBox::pin_init(hba, GFP_KERNEL))?;

        // Same bring-up as the soft ISP (bringup.rs): reset, our lines, firmware, version.
        bringup::quiesce_and_reset(&hba)?;

        let (vectors, kind) = step(pdev, "interrupt vectors", alloc_vectors(pdev, &chip))?;
        let mut lines = KVec::new();
        for i in 0..vectors.len() {
            let Some(role) = vector_role(kind, i) else {
                break;
            };
            let irq = step(pdev, "interrupt vector", vectors.index(i))?;
            let irq = kernel::irq::IrqRequest::from(irq).irq();
            // SAFETY: `hba` is pinned in a box that `QlaPciData` drops after `lines` (and
            // `Drop` clears `lines` explicitly first).
            let line =
                unsafe { IrqLine::request(irq, &hba, role, kind == VectorKind::Intx, DRIVER_NAME) };
            let line = step(pdev, "request_irq", line)?;
            step(
                pdev,
                "request_irq",
                lines.push(line, GFP_KERNEL).map_err(Error::from),
            )?;
        }

        // Names from this function's NVRAM; an invalid one fails here (logged once).
        let function = port_number(pdev, chip.family);
        let source = bringup::NameSource::Nvram {
            function,
            fallback: None,
        };
        let st = bringup::start(&hba, kind, source)?;
        let (maj, min, sub, attr) = st.version;
        dev_info!(
            pdev,
            "qla2x00t: ISP{:04x} firmware {}.{}.{} (attributes {:#06x}) running, {:?} interrupts\n",
            chip.device_id,
            maj,
            min,
            sub,
            attr,
            kind
        );
        let mut data = QlaPciData {
            lines,
            hba,
            _vectors: vectors,
            pdev,
            registered: false,
            _enabled: enabled,
        };
        let Some(names) = st.names else {
            dev_info!(
                pdev,
                "qla2x00t: port not initialised (function {}): {}\n",
                function,
                st.names_from
            );
            return Ok(data);
        };
        dev_info!(
            pdev,
            "qla2x00t: firmware initialised (target mode), WWPN {:016x} WWNN {:016x}, state {}; names from {} (function {})\n",
            names.0 .0,
            names.1 .0,
            bringup::fw_state_name(st.fw_state),
            st.names_from,
            function
        );
        match st.adapter_id {
            Some(id) => dev_info!(
                pdev,
                "qla2x00t: GET ADAPTER ID: port id {:06x}, topology {}\n",
                id.port_id.get(),
                id.topology
            ),
            None => dev_info!(pdev, "qla2x00t: GET ADAPTER ID: no port id (link down)\n"),
        }
        data.hba
            .tgt_set_port(names.0, st.adapter_id.map(|id| id.port_id));
        // SAFETY: `data` owns the pinned HBA; its `Drop` unregisters before freeing it.
        step(pdev, "FC port registration", unsafe {
            fcport::register(data.fc_port())
        })?;
        data.registered = true;
        Ok(data)
    }
}
