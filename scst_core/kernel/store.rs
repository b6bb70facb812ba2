// SPDX-License-Identifier: GPL-2.0
//! The logical units of one live target, as `scst_core::lu::LuStore` wants them: per LU the
//! lock-free part (configuration, mode atomics, backend) and the locked part (reservations,
//! unit attentions, task set) behind a spinlock that is never held across backend I/O.

use crate::aptpl::Dir;
use crate::blockio::BlockIo;
use crate::fileio::FileIo;
use crate::nullio::NullIo;
use crate::ramdisk::RamDisk;
use crate::rwsem::RwSem;
use crate::sg_buffer::SgBuffer;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::SpinLock;
use scst_core::backend::{Backend, Compare, IoError};
use scst_core::device::DeviceConfig;
use scst_core::lu::{LuLocked, LuShared, LuStore};
use scst_core::types::DeviceId;

/// The storage of one LU.
pub(crate) enum Io {
    Null(NullIo),
    File(FileIo),
    Block(BlockIo),
    /// The `local_demo=1` RAM LU.
    Ram(Pin<KBox<RamDisk>>),
}

/// A backend plus the lock that makes COMPARE AND WRITE atomic against every other write:
/// writes take it shared, COMPARE AND WRITE exclusively (reads do not take it).
pub(crate) struct LuBackend {
    io: Io,
    writes: Pin<KBox<RwSem<()>>>,
}

impl LuBackend {
    pub(crate) fn new(io: Io) -> Result<Self> {
        Ok(LuBackend {
            io,
            writes: KBox::pin_init(
                RwSem::new((), c"ferrule_lu_writes", kernel::static_lock_class!()),
                GFP_KERNEL,
            )?,
        })
    }
}

/// Forwards to the backend in `$io` as `$b`.
macro_rules! dispatch {
    ($io:expr, $b:ident => $e:expr) => {
        match $io {
            Io::Null($b) => $e,
            Io::File($b) => $e,
            Io::Block($b) => $e,
            Io::Ram(r) => {
                let $b: &RamDisk = r;
                $e
            }
        }
    };
}

impl Backend for LuBackend {
    type Buf = SgBuffer;

    fn read(&self, lba: u64, blocks: u32, buf: &mut SgBuffer, off: usize) -> Result<(), IoError> {
        dispatch!(&self.io, b => b.read(lba, blocks, buf, off))
    }

    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
        fua: bool,
    ) -> Result<(), IoError> {
        let _shared = self.writes.read();
        dispatch!(&self.io, b => b.write(lba, blocks, buf, off, fua))
    }

    fn flush(&self) -> Result<(), IoError> {
        dispatch!(&self.io, b => b.flush())
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        let _shared = self.writes.read();
        dispatch!(&self.io, b => b.unmap(lba, blocks))
    }

    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&SgBuffer>,
        unmap: bool,
    ) -> Result<(), IoError> {
        let _shared = self.writes.read();
        dispatch!(&self.io, b => b.write_same(lba, blocks, block, unmap))
    }

    fn compare(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
    ) -> Result<Compare, IoError> {
        dispatch!(&self.io, b => b.compare(lba, blocks, buf, off))
    }

    fn compare_and_write(&self, lba: u64, blocks: u32, buf: &SgBuffer) -> Result<Compare, IoError> {
        // No other write to the LU runs between the compare and the write.
        let _exclusive = self.writes.write();
        dispatch!(&self.io, b => b.compare_and_write(lba, blocks, buf))
    }

    fn lba_status(&self, lba: u64) -> Result<(bool, u64), IoError> {
        dispatch!(&self.io, b => b.lba_status(lba))
    }
}

/// One logical unit.
#[pin_data]
pub(crate) struct StoreLu {
    id: DeviceId,
    shared: LuShared<LuBackend>,
    #[pin]
    locked: SpinLock<KBox<LuLocked>>,
}

/// The LUs of a live target, sorted by device id.
pub(crate) struct Store {
    lus: KVec<Pin<KBox<StoreLu>>>,
}

impl Store {
    pub(crate) const fn new() -> Self {
        Store { lus: KVec::new() }
    }

    /// Whether `id` has an LU here.
    pub(crate) fn contains(&self, id: DeviceId) -> bool {
        self.index(id).is_ok()
    }

    fn index(&self, id: DeviceId) -> Result<usize, usize> {
        self.lus.binary_search_by_key(&id, |l| l.id)
    }

    fn get(&self, id: DeviceId) -> Option<&StoreLu> {
        let i = self.index(id).ok()?;
        self.lus.get(i).map(|l| &**l)
    }

    /// Adds an LU for device `id` (fresh reservation, unit attention and task state).
    /// Reservation state stored with APTPL for this device is restored from `aptpl`.
    pub(crate) fn add(
        &mut self,
        id: DeviceId,
        config: DeviceConfig,
        backend: LuBackend,
        aptpl: Option<&Dir>,
    ) -> Result {
        let Err(at) = self.index(id) else {
            return Err(EEXIST);
        };
        let mut locked = KBox::<LuLocked>::new_uninit(GFP_KERNEL)?;
        LuLocked::init(&mut locked);
        // SAFETY: `LuLocked::init` initialised the box's contents.
        let mut locked = unsafe { locked.assume_init() };
        if let Some(d) = aptpl {
            d.load(config.serial(), &mut locked);
        }
        let lu = KBox::pin_init(
            pin_init!(StoreLu {
                id,
                shared: LuShared::new(config, backend),
                locked <- new_spinlock!(locked, "ferrule_lu"),
            }),
            GFP_KERNEL,
        )?;
        self.lus.reserve(1, GFP_KERNEL)?;
        self.lus.insert_within_capacity(at, lu).map_err(|_| ENOMEM)
    }

    /// Sets the capacity of `id` (the caller holds the target exclusively, so no command
    /// reads the configuration meanwhile). False if there is no such LU or it is invalid.
    pub(crate) fn set_blocks(&mut self, id: DeviceId, blocks: u64) -> bool {
        let Ok(i) = self.index(id) else {
            return false;
        };
        let Some(lu) = self.lus.get_mut(i) else {
            return false;
        };
        let mut cfg = lu.shared.config;
        cfg.blocks = blocks;
        if cfg.validate().is_err() {
            return false;
        }
        // SAFETY: only a plain field of the pinned value changes; nothing is moved out.
        unsafe { lu.as_mut().get_unchecked_mut() }.shared.config = cfg;
        true
    }
}

impl LuStore for Store {
    type Backend = LuBackend;

    fn shared(&self, dev: DeviceId) -> Option<&LuShared<LuBackend>> {
        self.get(dev).map(|l| &l.shared)
    }

    fn with_locked<R>(
        &self,
        dev: DeviceId,
        f: impl FnOnce(&LuShared<LuBackend>, &mut LuLocked) -> R,
    ) -> Option<R> {
        let lu = self.get(dev)?;
        let mut guard = lu.locked.lock();
        Some(f(&lu.shared, &mut guard))
    }

    fn for_each_device(&self, mut f: impl FnMut(DeviceId)) {
        for lu in self.lus.iter() {
            f(lu.id);
        }
    }
}
