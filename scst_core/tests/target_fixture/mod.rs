//! A populated target for integration tests: RAM-disk logical units behind a probe that
//! logs which device each backend call touched, an event recorder, and login helpers.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use scst_core::backend::{Backend, Compare, IoError, RamDisk};
use scst_core::device::DeviceConfig;
use scst_core::exec::CmdResult;
use scst_core::identity::{Nexus, SessionRef, Teardown};
use scst_core::lu::{LocalStore, TaskEvents};
use scst_core::target::{Command, PortConfig, Submitted, Target, TargetEvents};
use scst_core::task_set::{AbortOutcome, TaskKey};
use scst_core::tmf::AbortNotice;
use scst_core::types::{DeviceId, Handle, LocalPort, Lun, PortId, TaskAttr, Wwpn};

pub const BS: usize = 512;
pub const BLOCKS: u64 = 16;
pub const SESSIONS: usize = 16;
pub const DEVICES: usize = 8;

/// A RAM disk that logs its device id on every backend call.
pub struct Probe {
    pub id: u32,
    pub disk: RamDisk<'static>,
    pub log: Rc<RefCell<Vec<u32>>>,
}

impl Probe {
    fn hit(&self) {
        self.log.borrow_mut().push(self.id);
    }
}

impl Backend for Probe {
    type Buf = [u8];
    fn read(&self, lba: u64, blocks: u32, buf: &mut [u8], off: usize) -> Result<(), IoError> {
        self.hit();
        self.disk.read(lba, blocks, buf, off)
    }
    fn write(&self, lba: u64, n: u32, buf: &[u8], off: usize, fua: bool) -> Result<(), IoError> {
        self.hit();
        self.disk.write(lba, n, buf, off, fua)
    }
    fn flush(&self) -> Result<(), IoError> {
        self.hit();
        self.disk.flush()
    }
    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        self.hit();
        self.disk.unmap(lba, blocks)
    }
    fn write_same(&self, lba: u64, n: u64, b: Option<&[u8]>, u: bool) -> Result<(), IoError> {
        self.hit();
        self.disk.write_same(lba, n, b, u)
    }
    fn compare(&self, lba: u64, n: u32, buf: &[u8], off: usize) -> Result<Compare, IoError> {
        self.hit();
        self.disk.compare(lba, n, buf, off)
    }
    fn compare_and_write(&self, lba: u64, n: u32, buf: &[u8]) -> Result<Compare, IoError> {
        self.hit();
        self.disk.compare_and_write(lba, n, buf)
    }
    fn lba_status(&self, lba: u64) -> Result<(bool, u64), IoError> {
        self.hit();
        self.disk.lba_status(lba)
    }
}

/// Everything the target reported.
#[derive(Default, Debug)]
pub struct Rec {
    pub aborted: Vec<(TaskKey, AbortOutcome, AbortNotice)>,
    pub unblocked: Vec<TaskKey>,
    pub teardowns: Vec<Teardown>,
    pub ready: Vec<SessionRef>,
}

impl TaskEvents for Rec {
    fn task_aborted(&mut self, key: TaskKey, outcome: AbortOutcome, notice: AbortNotice) {
        self.aborted.push((key, outcome, notice));
    }
    fn task_unblocked(&mut self, key: TaskKey) {
        self.unblocked.push(key);
    }
}

impl TargetEvents for Rec {
    fn session_teardown(&mut self, t: Teardown) {
        self.teardowns.push(t);
    }
    fn login_ready(&mut self, r: SessionRef) {
        self.ready.push(r);
    }
}

pub const P0: LocalPort = LocalPort {
    target: 0,
    vp_index: 0,
};
pub const P1: LocalPort = LocalPort {
    target: 0,
    vp_index: 1,
};

pub struct Fx {
    pub t: Box<Target<SESSIONS>>,
    pub store: Box<LocalStore<Probe, DEVICES>>,
    pub ev: Rec,
    pub log: Rc<RefCell<Vec<u32>>>,
}

impl Fx {
    /// A target with ports P0 (rel port 1) and P1 (rel port 2) and `devices` RAM disks of
    /// BLOCKS blocks; device i is filled with byte `0xd0 + i`.
    pub fn new(devices: u32, cfg: impl Fn(&mut DeviceConfig)) -> Fx {
        let mut t = Box::new(Target::<SESSIONS>::new());
        t.add_port(PortConfig {
            port: P0,
            wwpn: Wwpn(0x5000_0000_0000_0001),
            rel_port: 1,
            tpg: 0,
        })
        .unwrap();
        t.add_port(PortConfig {
            port: P1,
            wwpn: Wwpn(0x5000_0000_0000_0002),
            rel_port: 2,
            tpg: 0,
        })
        .unwrap();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut store = Box::new(LocalStore::<Probe, DEVICES>::new());
        for i in 0..devices {
            let data = vec![0xd0 + i as u8; BS * BLOCKS as usize].leak();
            let mapped = vec![1u8; BLOCKS as usize].leak();
            let mut c = DeviceConfig::new(BLOCKS);
            c.set_serial(format!("DEV{i}").as_bytes());
            cfg(&mut c);
            let probe = Probe {
                id: i,
                disk: RamDisk::new(BS, data, mapped),
                log: log.clone(),
            };
            store.add(DeviceId(i), c, probe).unwrap();
        }
        Fx {
            t,
            store,
            ev: Rec::default(),
            log,
        }
    }

    pub fn nexus(port: LocalPort, w: Wwpn, pid: u32, h: u16) -> Nexus {
        Nexus {
            port,
            wwpn: w,
            port_id: PortId::new(pid),
            handle: Handle(h),
        }
    }

    /// PLOGI; finishes any teardown it caused; PRLI; activate.
    pub fn login(&mut self, port: LocalPort, w: Wwpn, pid: u32, h: u16) -> SessionRef {
        let n = Self::nexus(port, w, pid, h);
        let l = self.t.plogi(&*self.store, n, &mut self.ev).unwrap();
        self.finish_teardowns();
        let p = self.t.prli(&*self.store, n, &mut self.ev).unwrap();
        assert_eq!(p.session, l.session);
        self.t.activate(&*self.store, l.session).unwrap();
        l.session
    }

    pub fn finish_teardowns(&mut self) {
        for td in std::mem::take(&mut self.ev.teardowns) {
            self.t.teardown_done(td.session, &mut self.ev).unwrap();
        }
    }

    /// Submits, runs and completes one SIMPLE command (a blocked one panics).
    pub fn cmd(
        &mut self,
        port: LocalPort,
        pid: u32,
        lun: u16,
        cdb: &[u8],
        buf: &mut [u8],
    ) -> CmdResult {
        let c = Command {
            port,
            s_id: PortId::new(pid),
            lun: Lun::from_index(lun),
            cdb,
            attr: TaskAttr::Simple,
            tag: 1,
            session: None,
        };
        match self.t.execute(&*self.store, &c, buf, &mut self.ev) {
            Submitted::Done(r) => r,
            other => panic!("not finished: {other:?}"),
        }
    }

    /// Sends TEST UNIT READY until it stops reporting unit attentions; returns the ASCs seen.
    pub fn drain_ua(&mut self, port: LocalPort, pid: u32, lun: u16) -> Vec<(u8, u8)> {
        let mut seen = Vec::new();
        for _ in 0..16 {
            let r = self.cmd(port, pid, lun, &TUR, &mut []);
            match r.sense {
                Some(s) if s.key == scst_core::types::SenseKey::UnitAttention => {
                    seen.push((s.asc.0, s.asc.1))
                }
                _ => return seen,
            }
        }
        panic!("unit attentions never end")
    }
}

pub const TUR: [u8; 6] = [0; 6];

pub fn read10(lba: u32, blocks: u16) -> [u8; 16] {
    let l = lba.to_be_bytes();
    let n = blocks.to_be_bytes();
    [
        0x28, 0, l[0], l[1], l[2], l[3], 0, n[0], n[1], 0, 0, 0, 0, 0, 0, 0,
    ]
}

pub fn write10(lba: u32, blocks: u16) -> [u8; 16] {
    let mut c = read10(lba, blocks);
    c[0] = 0x2a;
    c
}
