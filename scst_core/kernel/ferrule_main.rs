// SPDX-License-Identifier: GPL-2.0
//! ferrule.ko: the Ferrule SCSI target core, its fabrics and the qla2x00t FC driver.
//!
//! This crate is the kernel glue. The target logic lives in the `scst_core` crate (pure Rust,
//! linked into this same module by Kbuild), which is also host-tested with `cargo test`.

mod aptpl;
mod bindings;
mod blockio;
mod cfs;
mod config;
mod engine;
mod fileio;
mod identity_kunit;
mod local;
mod local_rt;
mod nullio;
mod parse;
#[path = "../../drivers/qla2x00t/kernel/mod.rs"]
mod qla2x00t;
mod ramdisk;
mod runtime;
mod rwsem;
mod scsi;
mod sg_buffer;
mod store;
mod target_engine;

use kernel::prelude::*;

module! {
    type: Ferrule,
    name: "ferrule",
    authors: ["Ferrule developers"],
    description: "Ferrule Fibre Channel SCSI target (SCST-style core + qla2x00t)",
    license: "GPL",
    params: {
        local_demo: bool {
            default: false,
            description: "Create a local target (nullio LUN 0, RAM LUN 1) at load",
        },
        local_ram_mib: u32 {
            default: 64,
            description: "Size of the local_demo RAM LUN in MiB",
        },
    },
}

/// Module state: everything lives as long as the module is loaded.
#[pin_data(PinnedDrop)]
struct Ferrule {
    /// The qla2x00t PCI driver (binds only HBAs an admin hands over; see its `pci` module).
    /// First field: unregistered (HBAs released) before the rest of the module goes.
    #[pin]
    qla2x00t: kernel::driver::Registration<kernel::pci::Adapter<qla2x00t::pci::QlaPciDriver>>,
    /// `/sys/kernel/config/ferrule/`. Dropped (unregistered) on unload; configfs holds a
    /// module reference for every open attribute and child directory, so `rmmod` is refused
    /// while the tree is in use rather than racing with it.
    config: cfs::ConfigFs,
    /// The loopback fabric (`local_demo=1` creates its demo target).
    local: local::LocalFabric,
}

impl kernel::InPlaceModule for Ferrule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pr_info!("ferrule {} loading\n", scst_core::VERSION);
        let demo = module_parameters::local_demo.value();
        let ram_mib = module_parameters::local_ram_mib.value();
        local_rt::init();
        qla2x00t::fcport::init();
        try_pin_init!(Self {
            qla2x00t <- kernel::driver::Registration::new(qla2x00t::pci::DRIVER_NAME, module),
            config: cfs::ConfigFs::register()?,
            local: local::LocalFabric::new(demo, ram_mib)?,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Ferrule {
    fn drop(self: Pin<&mut Self>) {
        // Soft ISPs a provider left attached (it cannot be loaded now: it links our symbols).
        // SAFETY: process context (module exit); takes the list mutex.
        unsafe { bindings::ferrule_h_soft_isp_remove_all() };
        qla2x00t::fcport::exit();
        local_rt::exit();
        pr_info!("ferrule {} unloaded\n", scst_core::VERSION);
    }
}

#[kunit_tests(ferrule_core)]
mod tests {
    use scst_core::types::{Lun, PortId};

    #[test]
    fn lun_encoding_in_kernel() {
        assert_eq!(Lun::from_index(5).to_index(), Some(5));
        assert_eq!(Lun::from_index(300).to_be_bytes()[0], 0x41);
        assert_eq!(Lun(0x0000_0001_0000_0000).to_index(), None);
    }

    #[test]
    fn port_id_is_24_bits() {
        assert_eq!(PortId::new(0xffff_ffff).get(), 0x00ff_ffff);
    }
}
