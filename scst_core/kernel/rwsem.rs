// SPDX-License-Identifier: GPL-2.0
//! A read-write semaphore owning its data (the kernel crate of 7.3 has none).
//!
//! The engine keeps each live target behind one: commands are readers (they may sleep in
//! backend I/O, so a spinlock or RCU read section will not do), session and configuration
//! events are the rare writers.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::LockClassKey;
use kernel::types::Opaque;

/// `T` behind a `struct rw_semaphore`.
#[pin_data]
pub(crate) struct RwSem<T> {
    #[pin]
    sem: Opaque<bindings::rw_semaphore>,
    data: UnsafeCell<T>,
}

// SAFETY: the semaphore hands out `&T` to several threads at once only under the read side
// (needs `T: Sync`) and `&mut T` to one thread under the write side (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for RwSem<T> {}
// SAFETY: moving the owner moves `T`; the semaphore itself is pinned and never moved.
unsafe impl<T: Send> Send for RwSem<T> {}

impl<T> RwSem<T> {
    /// An unlocked semaphore guarding `data`, in lock class `key` named `name` for lockdep
    /// (one class per use site, e.g. `static_lock_class!()`, so nesting two different
    /// semaphores — a target's, then an LU's — is not mistaken for recursion).
    pub(crate) fn new(
        data: T,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        pin_init!(RwSem {
            // SAFETY: `__init_rwsem` initialises the pinned, uninitialised semaphore in place;
            // `name` and `key` are static, as lockdep requires.
            sem <- Opaque::ffi_init(|p: *mut bindings::rw_semaphore| unsafe {
                bindings::__init_rwsem(p, name.as_char_ptr(), key.as_ptr())
            }),
            data: UnsafeCell::new(data),
        })
    }

    /// Shared access; sleeps while a writer holds the semaphore. Process context only.
    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        // SAFETY: the semaphore was initialised by `new` and is pinned.
        unsafe { bindings::down_read(self.sem.get()) };
        ReadGuard(self)
    }

    /// Exclusive access; sleeps until every reader and writer is gone. Process context only.
    pub(crate) fn write(&self) -> WriteGuard<'_, T> {
        // SAFETY: as in `read`.
        unsafe { bindings::down_write(self.sem.get()) };
        WriteGuard(self)
    }
}

/// The read side, released on drop.
pub(crate) struct ReadGuard<'a, T>(&'a RwSem<T>);

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the read side: no `&mut T` exists until it is released.
        unsafe { &*self.0.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard took the read side once in `read`.
        unsafe { bindings::up_read(self.0.sem.get()) };
    }
}

/// The write side, released on drop.
pub(crate) struct WriteGuard<'a, T>(&'a RwSem<T>);

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the write side: no other reference to `T` exists.
        unsafe { &*self.0.data.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the write side exclusively, and `&mut self` makes this the only
        // borrow through the guard.
        unsafe { &mut *self.0.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard took the write side once in `write`.
        unsafe { bindings::up_write(self.0.sem.get()) };
    }
}
