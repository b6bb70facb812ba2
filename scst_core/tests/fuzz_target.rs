//! Stable-toolchain fuzzing of the target's command entry point: random S_IDs (live,
//! pending, unknown), LUNs (mapped, unmapped, malformed), CDBs (mostly table-shaped), data,
//! buffer sizes and task attributes against a populated target, interleaved with logins,
//! logouts, ACL changes and task management. No input may panic, and every result keeps
//! the exec contract (tests/harness).
//!
//! `FERRULE_FUZZ_TARGET_ITERS` sets the number of commands (default 20000).
mod harness;
mod target_fixture;

use std::collections::HashMap;

use scst_core::cdb;
use scst_core::exec::CmdResult;
use scst_core::target::{Command, Submitted, Task};
use scst_core::tmf::TmfFunction;
use scst_core::types::{DeviceId, LocalPort, Lun, PortId, ScsiStatus, TaskAttr, Wwpn};
use target_fixture::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

const W: [Wwpn; 3] = [
    Wwpn(0x2100_0000_0000_0001),
    Wwpn(0x2100_0000_0000_0002),
    Wwpn(0x2100_0000_0000_0003),
];
const PIDS: [u32; 4] = [0x01_0001, 0x01_0002, 0x01_0003, 0x0f_ffff];
const PORTS: [LocalPort; 2] = [P0, P1];

thread_local! {
    static STATUS: std::cell::RefCell<HashMap<u8, u64>> = Default::default();
}

fn check(cdb: &[u8], buf_len: usize, r: &CmdResult) {
    STATUS.with(|s| *s.borrow_mut().entry(r.status as u8).or_default() += 1);
    match r.status {
        ScsiStatus::Busy | ScsiStatus::TaskSetFull | ScsiStatus::TaskAborted => {
            assert!(r.sense.is_none());
            assert_eq!(r.data_len, 0);
        }
        _ => harness::check_contract(cdb, buf_len, r),
    }
}

fn random_cdb(rng: &mut Rng) -> Vec<u8> {
    if rng.below(8) == 0 {
        return (0..rng.below(20)).map(|_| rng.byte()).collect();
    }
    let op = cdb::op_at(rng.below(cdb::OPS.len() as u64) as usize).unwrap();
    let mut c: Vec<u8> = (0..16).map(|_| rng.byte()).collect();
    for (i, b) in c.iter_mut().enumerate() {
        *b &= op.usage.get(i).copied().unwrap_or(0);
        if i > 1 && rng.below(2) == 0 {
            *b &= 0x03;
        }
    }
    c[0] = op.opcode;
    if let Some(sa) = op.service_action {
        c[1] = (c[1] & 0xe0) | sa;
    }
    c
}

fn random_event(f: &mut Fx, rng: &mut Rng) {
    let port = PORTS[rng.below(2) as usize];
    let pid = PIDS[rng.below(3) as usize];
    match rng.below(6) {
        0 => {
            let n = Fx::nexus(port, W[rng.below(3) as usize], pid, rng.below(4) as u16 + 1);
            if let Ok(l) = f.t.plogi(&*f.store, n, &mut f.ev) {
                if rng.below(4) != 0 {
                    f.finish_teardowns();
                    let _ = f.t.prli(&*f.store, n, &mut f.ev);
                    let _ = f.t.activate(&*f.store, l.session);
                }
            }
        }
        1 => {
            f.t.logout(&*f.store, port, PortId::new(pid), None, &mut f.ev);
        }
        2 => f.finish_teardowns(),
        3 => {
            let w = W[rng.below(3) as usize];
            let (lun, dev) = (rng.below(4) as u16, rng.below(3) as u32);
            let unmap = rng.below(2) == 0;
            let _ = f.t.update_acl(&*f.store, |acl| {
                let g = acl.resolve(w);
                if unmap {
                    acl.unmap_lun(g, lun)
                } else {
                    acl.map_lun(g, lun, DeviceId(dev), rng.below(4) == 0)
                }
            });
        }
        4 => {
            let fns = [
                TmfFunction::AbortTask { tag: rng.below(8) },
                TmfFunction::AbortTaskSet,
                TmfFunction::ClearTaskSet,
                TmfFunction::LogicalUnitReset,
                TmfFunction::TargetReset,
                TmfFunction::ITNexusReset,
                TmfFunction::QueryTask { tag: rng.below(8) },
                TmfFunction::QueryTaskSet,
                TmfFunction::QueryAsyncEvent,
                TmfFunction::ClearAca,
            ];
            let func = fns[rng.below(fns.len() as u64) as usize];
            let lun = Lun::from_index(rng.below(5) as u16);
            f.t.task_management(&*f.store, port, PortId::new(pid), lun, func, &mut f.ev);
        }
        _ => {
            f.t.capacity_changed(&*f.store, DeviceId(rng.below(4) as u32));
        }
    }
}

#[test]
fn random_commands_against_a_populated_target() {
    let iters: u64 = std::env::var("FERRULE_FUZZ_TARGET_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(0x5eed_f00d_1234_5678);
    let mut done = 0u64;
    while done < iters {
        let mut f = Fx::new(3, |c| c.tas = true);
        f.t.update_acl(&*f.store, |acl| {
            for (i, w) in W.iter().enumerate() {
                let g = acl.add_group(format!("g{i}").as_bytes()).unwrap();
                acl.add_initiator(g, *w).unwrap();
                acl.map_lun(g, 0, DeviceId(i as u32), false).unwrap();
                acl.map_lun(g, 1, DeviceId(2), false).unwrap();
            }
        });
        for (i, w) in W.iter().enumerate() {
            f.login(PORTS[i % 2], *w, PIDS[i], i as u16 + 1);
        }
        // Tasks the engine holds: blocked ones (by key) and running ones.
        let mut blocked: HashMap<_, (Task, Vec<u8>, Vec<u8>)> = HashMap::new();
        let mut running = Vec::new();
        for _ in 0..200 {
            done += 1;
            if rng.below(40) == 0 {
                random_event(&mut f, &mut rng);
            }
            let cdb = random_cdb(&mut rng);
            let buf_len = match rng.below(4) {
                0 => rng.below(64),
                1 => 512 * rng.below(3),
                _ => rng.below(3000),
            } as usize;
            let mut buf: Vec<u8> = (0..buf_len).map(|_| rng.byte()).collect();
            let lun = match rng.below(8) {
                0 => Lun(rng.next()),
                _ => Lun::from_index(rng.below(4) as u16),
            };
            let attr = [
                TaskAttr::Simple,
                TaskAttr::Ordered,
                TaskAttr::HeadOfQueue,
                TaskAttr::Aca,
            ][rng.below(4) as usize];
            // Mostly the S_IDs of the initial logins (pid i on port i % 2).
            let pid = rng.below(4) as usize;
            let port = if rng.below(4) == 0 {
                rng.below(2) as usize
            } else {
                pid % 2
            };
            let c = Command {
                port: PORTS[port],
                s_id: PortId::new(PIDS[pid]),
                lun,
                cdb: &cdb,
                attr,
                tag: rng.below(16),
                session: None,
            };
            match f.t.submit(&*f.store, &c, &mut buf, &mut f.ev) {
                Submitted::Done(r) => check(&cdb, buf_len, &r),
                Submitted::Blocked(t) => {
                    blocked.insert(t.key(), (t, cdb.clone(), buf));
                }
                Submitted::Run(r) => {
                    if rng.below(3) == 0 {
                        running.push((r, cdb.clone(), buf));
                    } else {
                        let s = f.t.finish_running(&*f.store, &r, &cdb, &mut buf, &mut f.ev);
                        let Submitted::Done(res) = s else { panic!() };
                        check(&cdb, buf_len, &res);
                    }
                }
            }
            // Finish some held tasks; resume whatever got unblocked.
            if rng.below(2) == 0 && !running.is_empty() {
                let i = rng.below(running.len() as u64) as usize;
                let (r, cdb, mut buf) = running.swap_remove(i);
                let s = f.t.finish_running(&*f.store, &r, &cdb, &mut buf, &mut f.ev);
                let Submitted::Done(res) = s else { panic!() };
                check(&cdb, buf.len(), &res);
            }
            for (k, _, _) in std::mem::take(&mut f.ev.aborted) {
                if let Some((t, ..)) = blocked.remove(&k) {
                    // A blocked task removed by an abort never runs.
                    let r = f.t.resume(&*f.store, &t, &[], &mut [], &mut f.ev);
                    assert!(
                        matches!(r, Submitted::Done(r) if r.status == ScsiStatus::TaskAborted),
                        "{r:?}"
                    );
                }
            }
            for k in std::mem::take(&mut f.ev.unblocked) {
                if let Some((t, cdb, mut buf)) = blocked.remove(&k) {
                    match f.t.resume(&*f.store, &t, &cdb, &mut buf, &mut f.ev) {
                        Submitted::Done(r) => check(&cdb, buf.len(), &r),
                        Submitted::Run(r) => running.push((r, cdb, buf)),
                        Submitted::Blocked(_) => panic!("resumed task blocked again"),
                    }
                }
            }
        }
    }
    let by_status = STATUS.with(|s| s.borrow().clone());
    println!("target fuzz: {done} commands, results by status: {by_status:?}");
    let good = by_status.get(&0).copied().unwrap_or(0);
    assert!(
        good > done / 40,
        "too few commands got through: {by_status:?}"
    );
}
