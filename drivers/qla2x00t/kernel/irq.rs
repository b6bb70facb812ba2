// SPDX-License-Identifier: GPL-2.0
//! Interrupt lines by IRQ number. The kernel crate's `irq::Registration` needs an
//! `IrqRequest` that only a bound PCI/platform device can mint, and keeping it next to the
//! vector allocation it borrows would make the driver data self-referential; the simulator's
//! soft ISP will also hand over a bare IRQ number (irq_sim). So both backends request their
//! lines here, with the same handlers: `request_threaded_irq` / `free_irq`.

use crate::qla2x00t::bus::IspBus;
use crate::qla2x00t::chip::VectorRole;
use crate::qla2x00t::hba::Hba;
use core::ffi::{c_int, c_void};
use kernel::bindings;
use kernel::prelude::*;

/// What the C side passes back to the handlers: the HBA and the vector's role.
struct Cookie<B: IspBus> {
    hba: *const Hba<B>,
    role: VectorRole,
}

/// A requested interrupt line; `free_irq` on drop (which waits for running handlers).
pub(crate) struct IrqLine<B: IspBus> {
    irq: u32,
    cookie: KBox<Cookie<B>>,
}

// SAFETY: the cookie only holds a pointer to a `Sync` HBA (IspBus: Sync) that outlives the
// line; the line itself is only dropped, never used concurrently.
unsafe impl<B: IspBus> Send for IrqLine<B> {}
// SAFETY: as above; `&IrqLine` exposes nothing.
unsafe impl<B: IspBus> Sync for IrqLine<B> {}

unsafe extern "C" fn hard_handler<B: IspBus>(
    _irq: c_int,
    data: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: `data` is the cookie registered with this handler; it and the HBA it points to
    // live until `free_irq` has returned (see `IrqLine`).
    let cookie = unsafe { &*data.cast::<Cookie<B>>() };
    // SAFETY: as above.
    let hba = unsafe { &*cookie.hba };
    match hba.hard_irq(cookie.role) {
        (false, _) => bindings::irqreturn::IRQ_NONE,
        (true, false) => bindings::irqreturn::IRQ_HANDLED,
        (true, true) => bindings::irqreturn::IRQ_WAKE_THREAD,
    }
}

unsafe extern "C" fn thread_handler<B: IspBus>(
    _irq: c_int,
    data: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: as in `hard_handler`.
    let cookie = unsafe { &*data.cast::<Cookie<B>>() };
    // SAFETY: as in `hard_handler`.
    unsafe { &*cookie.hba }.thread_irq();
    bindings::irqreturn::IRQ_HANDLED
}

impl<B: IspBus> IrqLine<B> {
    /// Requests `irq` for `hba` in `role`. `shared` for INTx lines.
    ///
    /// # Safety
    ///
    /// `hba` must stay valid (pinned, not dropped) until the returned line is dropped.
    pub(crate) unsafe fn request(
        irq: u32,
        hba: &Hba<B>,
        role: VectorRole,
        shared: bool,
        name: &'static CStr,
    ) -> Result<Self> {
        let cookie = KBox::new(
            Cookie {
                hba: core::ptr::from_ref(hba),
                role,
            },
            GFP_KERNEL,
        )?;
        let flags = if shared { bindings::IRQF_SHARED } else { 0 };
        let data = core::ptr::from_ref::<Cookie<B>>(&cookie)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the handlers match the C prototype; `data` (boxed, so its address is
        // stable) outlives the registration because `Drop` frees the IRQ before the box.
        let ret = unsafe {
            bindings::request_threaded_irq(
                irq,
                Some(hard_handler::<B>),
                Some(thread_handler::<B>),
                flags as kernel::ffi::c_ulong,
                name.as_char_ptr(),
                data,
            )
        };
        kernel::error::to_result(ret)?;
        Ok(IrqLine { irq, cookie })
    }
}

impl<B: IspBus> Drop for IrqLine<B> {
    fn drop(&mut self) {
        let data = core::ptr::from_ref::<Cookie<B>>(&self.cookie)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the line was requested with this cookie; `free_irq` waits for running hard
        // and threaded handlers, after which nothing uses the cookie or the HBA through it.
        unsafe { bindings::free_irq(self.irq, data) };
    }
}
