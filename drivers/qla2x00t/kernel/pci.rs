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
use crate::qla2x00t::chip::{vector_role, ChipInfo, VectorKind, MSIX_VECTORS};
use crate::qla2x00t::hba::Hba;
use crate::qla2x00t::irq::IrqLine;
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
/// vectors; `Drop` first quiesces the chip so no DMA or interrupt outlives its memory.
pub(crate) struct QlaPciData<'a> {
    lines: KVec<IrqLine<PciBus<'a>>>,
    hba: Pin<KBox<Hba<PciBus<'a>>>>,
    _vectors: pci::IrqVectorRegistration<'a>,
    pdev: &'a pci::Device,
    _enabled: Enabled<'a>,
}

impl Drop for QlaPciData<'_> {
    fn drop(&mut self) {
        self.hba.shutdown();
        self.lines.clear();
        dev_info!(self.pdev, "qla2x00t: released\n");
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

        // No NVRAM read yet: no port/node names, so the port is not initialised.
        let st = bringup::start(&hba, kind, None)?;
        let (maj, min, sub, attr) = st.version;
        dev_info!(
            pdev,
            "qla2x00t: ISP{:04x} firmware {}.{}.{} (attributes {:#06x}) running, {:?} interrupts; port not initialised (NVRAM/WWPN read not implemented yet)\n",
            chip.device_id,
            maj,
            min,
            sub,
            attr,
            kind
        );
        Ok(QlaPciData {
            lines,
            hba,
            _vectors: vectors,
            pdev,
            _enabled: enabled,
        })
    }
}
