//! Fuzz harness shared by the stable random-input test (tests/fuzz_exec.rs) and the
//! cargo-fuzz target (fuzz/fuzz_targets/exec.rs, which includes this file by path).
//!
//! Input format: 3 config bytes, then commands, each `len, cdb[len], buf_hi, buf_lo`
//! followed by data-out bytes taken from the rest of the input. The invariants checked
//! after every command are the contract exec gives the fabric.
#![allow(dead_code)]

use scst_core::backend::{DataBuffer, RamDisk};
use scst_core::cdb::OpInfo;
use scst_core::device::{DeviceConfig, LuState};
use scst_core::exec::{execute, CmdContext, CmdResult, DataIn, Fail, Hooks, Lu, Residual};
use scst_core::sense::MAX_SENSE_LEN;
use scst_core::types::{Asc, Lun, ScsiStatus, Sense};

/// Hooks whose answers come from the input.
pub struct FuzzHooks {
    pub wired: bool,
    pub ua: Option<Sense>,
    pub conflict_every: u8,
    pub n: u8,
}

impl Hooks for FuzzHooks {
    fn unit_attention(&mut self, _: &CmdContext<'_>, _: Option<&'static OpInfo>) -> Option<Sense> {
        self.ua.take()
    }
    fn reservation_conflict(&mut self, _: &CmdContext<'_>, _: &'static OpInfo, _: &[u8]) -> bool {
        self.n = self.n.wrapping_add(1);
        self.conflict_every != 0 && self.n % self.conflict_every == 0
    }
    fn reservations_wired(&self) -> bool {
        self.wired
    }
    fn persistent_reserve_in<D: DataBuffer + ?Sized>(
        &mut self,
        _: &CmdContext<'_>,
        _: &[u8],
        out: &mut DataIn<'_, D>,
    ) -> Result<(), Fail> {
        out.put(&[0, 0, 0, 0, 0, 0, 0, 0]);
        Ok(())
    }
    fn persistent_reserve_out<D: DataBuffer + ?Sized>(
        &mut self,
        _: &CmdContext<'_>,
        _: &[u8],
        param: &D,
    ) -> Result<(), Fail> {
        let mut b = [0u8; 24];
        param.read_at(0, &mut b);
        Ok(())
    }
    fn reserve_release(
        &mut self,
        _: &CmdContext<'_>,
        _: &'static OpInfo,
        _: &[u8],
    ) -> Result<(), Fail> {
        Ok(())
    }
}

/// Runs one fuzz input; panics (via assert) only when exec breaks its contract.
pub fn run_input(data: &[u8]) {
    let [c0, c1, c2, rest @ ..] = data else {
        return;
    };
    let (c0, c1, c2) = (*c0, *c1, *c2);
    let mut cfg = DeviceConfig::new(u64::from(c1 % 64) + 1);
    cfg.block_size = if c0 & 0x01 != 0 { 4096 } else { 512 };
    cfg.thin = c0 & 0x02 != 0;
    cfg.read_only = c0 & 0x04 != 0;
    cfg.write_cache = c0 & 0x08 != 0;
    cfg.lbprz = c0 & 0x40 != 0;
    cfg.max_caw_blocks = c2 % 4;
    cfg.max_xfer_blocks = u32::from(c2 >> 2) * 4;
    cfg.max_unmap_descriptors = u32::from(c2 >> 4);
    cfg.max_unmap_blocks = u32::from(c1);
    cfg.max_write_same_blocks = u64::from(c2 >> 1);
    cfg.set_serial(b"FUZZ");
    let bs = cfg.block_size as usize;
    let blocks = cfg.blocks as usize;
    let mut storage = vec![0u8; bs * blocks];
    let mut mapped = vec![0u8; blocks];
    let disk = RamDisk::new(bs, &mut storage, &mut mapped);
    let state = LuState::new(&cfg);
    let lu = Lu {
        config: &cfg,
        state: &state,
        backend: &disk,
    };
    let luns = [Lun::from_index(0), Lun::from_index(7)];
    let ctx = CmdContext::simple(&luns);
    let mut hooks = FuzzHooks {
        wired: c0 & 0x10 != 0,
        ua: (c0 & 0x20 != 0).then_some(Sense::unit_attention(Asc::POWER_ON_RESET)),
        conflict_every: c2 >> 5,
        n: 0,
    };
    let mut input = rest;
    for _ in 0..8 {
        let [len, tail @ ..] = input else { return };
        let len = usize::from(*len % 33);
        let Some((cdb, tail)) = tail.split_at_checked(len.min(tail.len())) else {
            return;
        };
        let [hi, lo, tail @ ..] = tail else { return };
        let buf_len = usize::from(u16::from_be_bytes([*hi, *lo])) % (3 * bs + 64);
        let mut buf = vec![0u8; buf_len];
        let n = buf_len.min(tail.len());
        buf[..n].copy_from_slice(&tail[..n]);
        input = &tail[n..];
        let r = execute(&lu, &ctx, cdb, &mut buf[..], &mut hooks);
        check_contract(cdb, buf_len, &r);
    }
}

/// What every result must satisfy.
pub fn check_contract(cdb: &[u8], buf_len: usize, r: &CmdResult) {
    assert!(
        r.data_len <= buf_len,
        "moved {} of a {} byte buffer",
        r.data_len,
        buf_len
    );
    match r.status {
        ScsiStatus::Good => assert!(r.sense.is_none()),
        ScsiStatus::CheckCondition => {
            let s = r.sense.expect("CHECK CONDITION without sense");
            if let Some(f) = s.field {
                if f.in_cdb {
                    assert!(
                        usize::from(f.byte) <= cdb.len(),
                        "field pointer past the CDB: {s:?}"
                    );
                }
                assert!(f.bit.is_none_or(|b| b < 8));
            }
            assert_eq!(r.data_len, 0);
        }
        ScsiStatus::ReservationConflict => assert!(r.sense.is_none()),
        other => panic!("unexpected status {other:?}"),
    }
    match r.residual {
        Residual::None => assert_eq!(r.data_len, buf_len),
        Residual::Underrun(n) => assert_eq!(n, buf_len - r.data_len),
        Residual::Overrun(n) => assert!(n > 0 && r.data_len <= buf_len),
    }
    let mut out = [0u8; 64];
    let fixed = r.write_sense(false, &mut out);
    let desc = r.write_sense(true, &mut out);
    assert!(fixed <= 18 && desc <= MAX_SENSE_LEN);
    assert_eq!(fixed == 0, r.sense.is_none());
    let mut tiny = [0u8; 5];
    assert!(r.write_sense(true, &mut tiny) <= 5);
}
