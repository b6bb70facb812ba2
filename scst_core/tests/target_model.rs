//! The identity invariant end to end, against a model: random fabric events (logins, logouts,
//! lost LOGOs, slot reuse, migration, link down, port logouts) and ACL changes interleaved
//! with READ/WRITE commands to RAM-disk LUs. Writes carry the issuing WWPN's data pattern.
//!
//! After every command: a command from an S_ID the model says no active login owns got BUSY
//! and touched no device; any other command touched exactly the device the model's LUN map
//! of the owning WWPN names (or none, for an unmapped LUN), and a READ returned what the
//! model says that device holds.
//!
//! `FERRULE_MODEL_CASES` sets the number of sequences (default 1000).
mod target_fixture;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scst_core::identity::{LoginError, SessionRef};
use scst_core::target::LoginRefused;
use scst_core::types::{Asc, DeviceId, LocalPort, PortId, ScsiStatus, SenseKey, Wwpn};
use target_fixture::*;

const WWPNS: [Wwpn; 4] = [
    Wwpn(0xc050_7601_0000_0000),
    Wwpn(0xc050_7601_0000_0001),
    Wwpn(0xc050_7601_0000_0002),
    Wwpn(0xc050_7601_0000_0003),
];
const PIDS: [u32; 3] = [0x01_0101, 0x01_0201, 0x01_0301];
const PORTS: [LocalPort; 2] = [P0, P1];
const LUNS: u16 = 2;
const NDEV: u32 = 4;

#[derive(Clone, Debug)]
enum Ev {
    /// PLOGI of WWPN index `w` from N_Port ID `pid` with handle `h` on port `port`.
    Login {
        port: usize,
        w: usize,
        pid: usize,
        h: u16,
    },
    /// The driver finishes every pending teardown and accepts every login that is ready.
    Settle,
    /// LOGO from `pid` (with the WWPN when `with_wwpn`).
    Logout {
        port: usize,
        pid: usize,
        with_wwpn: Option<usize>,
    },
    /// Firmware port logout by handle.
    PortLogout { port: usize, h: u16 },
    /// Link down on a port.
    LinkDown { port: usize },
    /// Map LUN `lun` of WWPN `w`'s group to device `dev` (replacing any mapping).
    Map { w: usize, lun: u16, dev: u32 },
    /// Unmap LUN `lun` of WWPN `w`'s group.
    Unmap { w: usize, lun: u16 },
    /// READ or WRITE(10) of one block.
    Cmd {
        port: usize,
        pid: usize,
        lun: u16,
        write: bool,
        lba: u8,
    },
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        3 => (0..2usize, 0..4usize, 0..3usize, 1..4u16)
            .prop_map(|(port, w, pid, h)| Ev::Login { port, w, pid, h }),
        6 => Just(Ev::Settle),
        1 => (0..2usize, 0..3usize, proptest::option::of(0..4usize))
            .prop_map(|(port, pid, with_wwpn)| Ev::Logout { port, pid, with_wwpn }),
        1 => (0..2usize, 1..4u16).prop_map(|(port, h)| Ev::PortLogout { port, h }),
        1 => (0..2usize).prop_map(|port| Ev::LinkDown { port }),
        1 => (0..4usize, 0..LUNS, 0..NDEV).prop_map(|(w, lun, dev)| Ev::Map { w, lun, dev }),
        1 => (0..4usize, 0..LUNS).prop_map(|(w, lun)| Ev::Unmap { w, lun }),
        20 => (0..2usize, 0..3usize, 0..LUNS, any::<bool>(), 0..4u8)
            .prop_map(|(port, pid, lun, write, lba)| Ev::Cmd { port, pid, lun, write, lba }),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Login {
    port: usize,
    w: usize,
    pid: usize,
    h: u16,
}

impl Login {
    /// The identity table's conflict rule: same local port and same WWPN, N_Port ID or handle.
    fn conflicts(&self, o: &Login) -> bool {
        self.port == o.port && (self.w == o.w || self.pid == o.pid || self.h == o.h)
    }
}

/// What the fabric did, independent of the implementation.
struct Model {
    /// Logins that completed (PRLI accepted) and were not ended since.
    active: Vec<Login>,
    /// PLOGIs not yet accepted, with the implementation's session for them.
    pending: Vec<(Login, SessionRef)>,
    /// LUN maps per WWPN.
    map: [[Option<u32>; LUNS as usize]; 4],
    /// Block contents (the fill byte) per device.
    disk: [[u8; 4]; NDEV as usize],
}

static SEQUENCES: AtomicUsize = AtomicUsize::new(0);
static EVENTS: AtomicUsize = AtomicUsize::new(0);
static COMMANDS: AtomicUsize = AtomicUsize::new(0);
static BUSY: AtomicUsize = AtomicUsize::new(0);
static EXECUTED: AtomicUsize = AtomicUsize::new(0);
static TEARDOWNS: AtomicUsize = AtomicUsize::new(0);

fn run_sequence(events: &[Ev]) -> Result<(), TestCaseError> {
    let mut f = Fx::new(NDEV, |_| ());
    let groups: Vec<_> = f.t.update_acl(&*f.store, |acl| {
        WWPNS
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let g = acl.add_group(format!("vm{i}").as_bytes()).unwrap();
                acl.add_initiator(g, *w).unwrap();
                acl.map_lun(g, 0, DeviceId(i as u32), false).unwrap();
                g
            })
            .collect()
    });
    let mut m = Model {
        active: Vec::new(),
        pending: Vec::new(),
        map: [[None; LUNS as usize]; 4],
        disk: [[0; 4]; NDEV as usize],
    };
    for i in 0..4 {
        m.map[i][0] = Some(i as u32);
    }
    for d in 0..NDEV as usize {
        m.disk[d] = [0xd0 + d as u8; 4];
    }
    SEQUENCES.fetch_add(1, Ordering::Relaxed);
    for e in events {
        EVENTS.fetch_add(1, Ordering::Relaxed);
        match *e {
            Ev::Login { port, w, pid, h } => {
                let l = Login { port, w, pid, h };
                let n = Fx::nexus(PORTS[port], WWPNS[w], PIDS[pid], h);
                let r = f.t.plogi(&*f.store, n, &mut f.ev);
                m.active.retain(|a| !a.conflicts(&l));
                let merged = m.pending.iter().any(|(p, _)| *p == l);
                m.pending.retain(|(p, _)| *p == l || !p.conflicts(&l));
                let r = match r {
                    Ok(r) => r,
                    Err(LoginRefused::Identity(LoginError::TableFull)) => {
                        prop_assert!(!merged);
                        continue;
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                };
                prop_assert_eq!(!r.new_session, merged, "merge into a pending login");
                if !merged {
                    m.pending.push((l, r.session));
                }
            }
            Ev::Settle => {
                TEARDOWNS.fetch_add(f.ev.teardowns.len(), Ordering::Relaxed);
                f.finish_teardowns();
                f.ev.ready.clear();
                for (l, r) in std::mem::take(&mut m.pending) {
                    let n = Fx::nexus(PORTS[l.port], WWPNS[l.w], PIDS[l.pid], l.h);
                    let p = f.t.prli(&*f.store, n, &mut f.ev).unwrap();
                    prop_assert_eq!(p.session, r);
                    prop_assert!(f.ev.teardowns.is_empty());
                    f.t.activate(&*f.store, r).unwrap();
                    m.active.push(l);
                }
            }
            Ev::Logout {
                port,
                pid,
                with_wwpn,
            } => {
                let w = with_wwpn.map(|i| WWPNS[i]);
                f.t.logout(&*f.store, PORTS[port], PortId::new(PIDS[pid]), w, &mut f.ev);
                let gone = |l: &Login| l.port == port && (l.pid == pid || Some(l.w) == with_wwpn);
                m.active.retain(|l| !gone(l));
                m.pending.retain(|(l, _)| !gone(l));
            }
            Ev::PortLogout { port, h } => {
                f.t.logout_handle(
                    &*f.store,
                    PORTS[port],
                    scst_core::types::Handle(h),
                    &mut f.ev,
                );
                m.active.retain(|l| !(l.port == port && l.h == h));
                m.pending.retain(|(l, _)| !(l.port == port && l.h == h));
            }
            Ev::LinkDown { port } => {
                f.t.link_down(&*f.store, PORTS[port], &mut f.ev);
                m.active.retain(|l| l.port != port);
                m.pending.retain(|(l, _)| l.port != port);
            }
            Ev::Map { w, lun, dev } => {
                f.t.update_acl(&*f.store, |acl| {
                    let _ = acl.unmap_lun(groups[w], lun);
                    acl.map_lun(groups[w], lun, DeviceId(dev), false).unwrap();
                });
                m.map[w][usize::from(lun)] = Some(dev);
            }
            Ev::Unmap { w, lun } => {
                let _ =
                    f.t.update_acl(&*f.store, |acl| acl.unmap_lun(groups[w], lun));
                m.map[w][usize::from(lun)] = None;
            }
            Ev::Cmd {
                port,
                pid,
                lun,
                write,
                lba,
            } => {
                COMMANDS.fetch_add(1, Ordering::Relaxed);
                let owner = m
                    .active
                    .iter()
                    .find(|l| l.port == port && l.pid == pid)
                    .map(|l| l.w);
                let cdb = if write {
                    write10(lba.into(), 1)
                } else {
                    read10(lba.into(), 1)
                };
                let pattern = owner.map_or(0xee, |w| 0x10 + w as u8);
                let mut buf = [pattern; BS];
                let mut tries = 0;
                let r = loop {
                    f.log.borrow_mut().clear();
                    let r = f.cmd(PORTS[port], PIDS[pid], lun, &cdb, &mut buf);
                    let is_ua = r.sense.is_some_and(|s| s.key == SenseKey::UnitAttention);
                    if is_ua {
                        prop_assert!(f.log.borrow().is_empty(), "UA after touching a device");
                        tries += 1;
                        prop_assert!(tries < 10);
                        continue;
                    }
                    break r;
                };
                let touched = f.log.borrow().clone();
                match owner {
                    None => {
                        BUSY.fetch_add(1, Ordering::Relaxed);
                        prop_assert_eq!(r.status, ScsiStatus::Busy);
                        prop_assert!(touched.is_empty());
                    }
                    Some(w) => match m.map[w][usize::from(lun)] {
                        None => {
                            prop_assert_eq!(r.status, ScsiStatus::CheckCondition);
                            prop_assert_eq!(r.sense.unwrap().asc, Asc::LU_NOT_SUPPORTED);
                            prop_assert!(touched.is_empty());
                        }
                        Some(dev) => {
                            EXECUTED.fetch_add(1, Ordering::Relaxed);
                            prop_assert_eq!(r.status, ScsiStatus::Good, "{:?}", r);
                            prop_assert_eq!(touched, vec![dev]);
                            let block = &mut m.disk[dev as usize][usize::from(lba)];
                            if write {
                                *block = pattern;
                            } else {
                                prop_assert!(
                                    buf.iter().all(|&b| b == *block),
                                    "read {:#x}, model {:#x}",
                                    buf[0],
                                    *block
                                );
                            }
                        }
                    },
                }
            }
        }
    }
    Ok(())
}

#[test]
fn identity_invariant_under_random_fabric_events() {
    let cases = std::env::var("FERRULE_MODEL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // Start from a populated fabric so that most commands find a session.
    let start = vec![
        Ev::Login {
            port: 0,
            w: 0,
            pid: 0,
            h: 1,
        },
        Ev::Login {
            port: 1,
            w: 1,
            pid: 0,
            h: 1,
        },
        Ev::Login {
            port: 0,
            w: 2,
            pid: 1,
            h: 2,
        },
        Ev::Login {
            port: 1,
            w: 3,
            pid: 2,
            h: 3,
        },
        Ev::Settle,
    ];
    let strategy = proptest::collection::vec(ev(), 1..80).prop_map(move |tail| {
        let mut v = start.clone();
        v.extend(tail);
        v
    });
    let result = runner.run(&strategy, |events| run_sequence(&events));
    if let Err(e) = result {
        panic!("{e}");
    }
    let counts: HashMap<&str, usize> = [
        ("sequences", SEQUENCES.load(Ordering::Relaxed)),
        ("events", EVENTS.load(Ordering::Relaxed)),
        ("commands", COMMANDS.load(Ordering::Relaxed)),
        ("busy", BUSY.load(Ordering::Relaxed)),
        ("executed on a device", EXECUTED.load(Ordering::Relaxed)),
        ("teardowns", TEARDOWNS.load(Ordering::Relaxed)),
    ]
    .into_iter()
    .collect();
    println!("target model: {counts:?}");
    assert!(EXECUTED.load(Ordering::Relaxed) > 0 && BUSY.load(Ordering::Relaxed) > 0);
}
