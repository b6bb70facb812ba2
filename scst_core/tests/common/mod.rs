//! Test fixture: a RAM-disk logical unit, a backend wrapper that records FUA, and hooks that
//! record what exec asked of the engine.
#![allow(dead_code)]

use std::cell::Cell;

use scst_core::backend::{Backend, Compare, IoError, RamDisk};
use scst_core::cdb::OpInfo;
use scst_core::device::{DeviceConfig, LuState};
use scst_core::exec::{execute, CmdContext, CmdResult, DataIn, Fail, Hooks, Lu};
use scst_core::types::{Asc, FieldPointer, Lun, ScsiStatus, Sense, SenseKey};

/// A RamDisk that remembers the FUA flag of the last write.
pub struct Recorder {
    pub disk: RamDisk<'static>,
    pub last_fua: Cell<Option<bool>>,
    pub flushes: Cell<u32>,
}

impl Backend for Recorder {
    type Buf = [u8];
    fn read(&self, lba: u64, blocks: u32, buf: &mut [u8], off: usize) -> Result<(), IoError> {
        self.disk.read(lba, blocks, buf, off)
    }
    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &[u8],
        off: usize,
        fua: bool,
    ) -> Result<(), IoError> {
        self.last_fua.set(Some(fua));
        self.disk.write(lba, blocks, buf, off, fua)
    }
    fn flush(&self) -> Result<(), IoError> {
        self.flushes.set(self.flushes.get() + 1);
        self.disk.flush()
    }
    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        self.disk.unmap(lba, blocks)
    }
    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&[u8]>,
        unmap: bool,
    ) -> Result<(), IoError> {
        self.disk.write_same(lba, blocks, block, unmap)
    }
    fn compare(&self, lba: u64, blocks: u32, buf: &[u8], off: usize) -> Result<Compare, IoError> {
        self.disk.compare(lba, blocks, buf, off)
    }
    fn compare_and_write(&self, lba: u64, blocks: u32, buf: &[u8]) -> Result<Compare, IoError> {
        self.disk.compare_and_write(lba, blocks, buf)
    }
    fn lba_status(&self, lba: u64) -> Result<(bool, u64), IoError> {
        self.disk.lba_status(lba)
    }
}

/// Hooks that record calls and return configured answers.
#[derive(Default)]
pub struct TestHooks {
    pub ua: Option<Sense>,
    pub ua_calls: u32,
    pub conflict: bool,
    pub wired: bool,
    pub mode_changed: u32,
    pub pr_in_calls: u32,
    pub pr_out_param: Vec<u8>,
    pub reserve_calls: u32,
}

impl Hooks for TestHooks {
    fn unit_attention(&mut self, _: &CmdContext<'_>, _: Option<&'static OpInfo>) -> Option<Sense> {
        self.ua_calls += 1;
        self.ua.take()
    }
    fn reservation_conflict(&mut self, _: &CmdContext<'_>, _: &'static OpInfo, _: &[u8]) -> bool {
        self.conflict
    }
    fn reservations_wired(&self) -> bool {
        self.wired
    }
    fn persistent_reserve_in<D: scst_core::backend::DataBuffer + ?Sized>(
        &mut self,
        _: &CmdContext<'_>,
        _: &[u8],
        out: &mut DataIn<'_, D>,
    ) -> Result<(), Fail> {
        self.pr_in_calls += 1;
        out.put(&[0, 0, 0, 1, 0, 0, 0, 0]);
        Ok(())
    }
    fn persistent_reserve_out<D: scst_core::backend::DataBuffer + ?Sized>(
        &mut self,
        _: &CmdContext<'_>,
        cdb: &[u8],
        param: &D,
    ) -> Result<(), Fail> {
        let n = u32::from_be_bytes([cdb[5], cdb[6], cdb[7], cdb[8]]) as usize;
        let mut v = vec![0; n];
        param.read_at(0, &mut v);
        self.pr_out_param = v;
        Ok(())
    }
    fn reserve_release(
        &mut self,
        _: &CmdContext<'_>,
        _: &'static OpInfo,
        _: &[u8],
    ) -> Result<(), Fail> {
        self.reserve_calls += 1;
        Ok(())
    }
    fn mode_parameters_changed(&mut self, _: &CmdContext<'_>) {
        self.mode_changed += 1;
    }
}

/// Adjusts the per-command context of a fixture.
pub type CtxPatch = Box<dyn Fn(&mut CmdContext<'_>)>;

pub struct Fx {
    pub cfg: &'static DeviceConfig,
    pub state: &'static LuState,
    pub be: &'static Recorder,
    pub hooks: TestHooks,
    pub luns: Vec<Lun>,
    pub ctx_patch: Option<CtxPatch>,
}

pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

impl Fx {
    pub fn new(cfg: DeviceConfig) -> Fx {
        cfg.validate().expect("valid config");
        let blocks = cfg.blocks as usize;
        let data: &'static mut [u8] =
            Box::leak(vec![0u8; blocks * cfg.block_size as usize].into_boxed_slice());
        let mapped: &'static mut [u8] = Box::leak(vec![0u8; blocks].into_boxed_slice());
        let be = leak(Recorder {
            disk: RamDisk::new(cfg.block_size as usize, data, mapped),
            last_fua: Cell::new(None),
            flushes: Cell::new(0),
        });
        let cfg = leak(cfg);
        let state = leak(LuState::new(cfg));
        Fx {
            cfg,
            state,
            be,
            hooks: TestHooks::default(),
            luns: vec![Lun::from_index(0)],
            ctx_patch: None,
        }
    }

    /// A 512-byte-block disk of `blocks` blocks with serial and NAA set.
    pub fn disk(blocks: u64) -> Fx {
        Fx::new(std_cfg(blocks))
    }

    pub fn thin(blocks: u64) -> Fx {
        let mut c = std_cfg(blocks);
        c.thin = true;
        Fx::new(c)
    }

    pub fn run(&mut self, cdb: &[u8], buf: &mut [u8]) -> CmdResult {
        let lu = Lu {
            config: self.cfg,
            state: self.state,
            backend: self.be,
        };
        let mut ctx = CmdContext::simple(&self.luns);
        if let Some(p) = &self.ctx_patch {
            p(&mut ctx);
        }
        execute(&lu, &ctx, cdb, buf, &mut self.hooks)
    }

    /// Runs a data-in command with a buffer of `len` and returns (result, data actually moved).
    pub fn data_in(&mut self, cdb: &[u8], len: usize) -> (CmdResult, Vec<u8>) {
        let mut buf = vec![0xeeu8; len];
        let r = self.run(cdb, &mut buf);
        buf.truncate(r.data_len);
        (r, buf)
    }

    pub fn block(&self, lba: u64) -> Vec<u8> {
        let mut b = vec![0u8; self.cfg.block_size as usize];
        assert!(self.be.disk.peek(lba, &mut b));
        b
    }
}

pub fn std_cfg(blocks: u64) -> DeviceConfig {
    let mut c = DeviceConfig::new(blocks);
    c.set_serial(b"FRL0001");
    c.naa = scst_core::device::naa_registered_extended(0x001405, 0x1_2345_6789, 0xabcd);
    c.max_xfer_blocks = 1024;
    c
}

pub fn good(r: &CmdResult) {
    assert_eq!(r.status, ScsiStatus::Good, "expected GOOD, got {:?}", r);
    assert_eq!(r.sense, None);
}

pub fn check(r: &CmdResult) -> Sense {
    assert_eq!(
        r.status,
        ScsiStatus::CheckCondition,
        "expected CHECK CONDITION, got {:?}",
        r
    );
    r.sense.expect("sense")
}

pub fn assert_sense(r: &CmdResult, key: SenseKey, asc: Asc) {
    let s = check(r);
    assert_eq!((s.key, s.asc), (key, asc), "{:?}", s);
}

pub fn assert_invalid_cdb(r: &CmdResult, byte: u16, bit: Option<u8>) {
    let s = check(r);
    assert_eq!(s.asc, Asc::INVALID_FIELD_IN_CDB, "{:?}", s);
    assert_eq!(
        s.field,
        Some(FieldPointer {
            in_cdb: true,
            byte,
            bit
        }),
        "{:?}",
        s
    );
}

pub fn assert_invalid_param(r: &CmdResult, byte: u16, bit: Option<u8>) {
    let s = check(r);
    assert_eq!(s.asc, Asc::INVALID_FIELD_IN_PARAMETER_LIST, "{:?}", s);
    assert_eq!(
        s.field,
        Some(FieldPointer {
            in_cdb: false,
            byte,
            bit
        }),
        "{:?}",
        s
    );
}

pub fn assert_oor(r: &CmdResult) {
    assert_sense(r, SenseKey::IllegalRequest, Asc::LBA_OUT_OF_RANGE);
}

pub fn rw10(op: u8, lba: u32, len: u16) -> [u8; 10] {
    let l = lba.to_be_bytes();
    let n = len.to_be_bytes();
    [op, 0, l[0], l[1], l[2], l[3], 0, n[0], n[1], 0]
}

pub fn rw16(op: u8, lba: u64, len: u32) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = op;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&len.to_be_bytes());
    c
}

pub fn rw12(op: u8, lba: u32, len: u32) -> [u8; 12] {
    let mut c = [0u8; 12];
    c[0] = op;
    c[2..6].copy_from_slice(&lba.to_be_bytes());
    c[6..10].copy_from_slice(&len.to_be_bytes());
    c
}

pub fn rw6(op: u8, lba: u32, len: u8) -> [u8; 6] {
    let l = lba.to_be_bytes();
    [op, l[1] & 0x1f, l[2], l[3], len, 0]
}

/// A 12-byte MAINTENANCE IN CDB.
pub fn maint_in(sa: u8, b2: u8, b3: u8, sa_req: u16, alloc: u32) -> [u8; 12] {
    let mut c = [0u8; 12];
    c[0] = 0xa3;
    c[1] = sa;
    c[2] = b2;
    c[3] = b3;
    c[4..6].copy_from_slice(&sa_req.to_be_bytes());
    c[6..10].copy_from_slice(&alloc.to_be_bytes());
    c
}

pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}
