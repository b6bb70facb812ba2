//! Decode + dispatch cost of READ(10)/WRITE(10) against the null backend (ns/command), and
//! the whole target path: S_ID -> session, identity-checked LUN lookup, task-set admission,
//! enabled-state checks, dispatch and completion, with 256 sessions and 64 LUNs.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use scst_core::acl::WwpnPattern;
use scst_core::backend::NullBackend;
use scst_core::cdb;
use scst_core::device::{DeviceConfig, LuState};
use scst_core::exec::{execute, CmdContext, Lu, NoHooks};
use scst_core::identity::{Nexus, SessionRef, Teardown};
use scst_core::lu::{LocalStore, TaskEvents};
use scst_core::target::{Command, PortConfig, Submitted, Target, TargetEvents};
use scst_core::task_set::{AbortOutcome, TaskKey};
use scst_core::tmf::AbortNotice;
use scst_core::types::{DeviceId, Handle, LocalPort, Lun, PortId, ScsiStatus, TaskAttr, Wwpn};

fn rw10(op: u8, lba: u32, len: u16) -> [u8; 16] {
    let l = lba.to_be_bytes();
    let n = len.to_be_bytes();
    // FCP carries 16 CDB bytes whatever the command's length.
    [
        op, 0, l[0], l[1], l[2], l[3], 0, n[0], n[1], 0, 0, 0, 0, 0, 0, 0,
    ]
}

fn bench(c: &mut Criterion) {
    let cfg = DeviceConfig::new(1 << 24);
    let state = LuState::new(&cfg);
    let lu = Lu {
        config: &cfg,
        state: &state,
        backend: &NullBackend,
    };
    let luns = [Lun::from_index(0)];
    let ctx = CmdContext::simple(&luns);
    let mut buf = vec![0u8; 4096];
    let read = rw10(0x28, 1234, 8);
    let write = rw10(0x2a, 1234, 8);

    let mut g = c.benchmark_group("exec");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_read10", |b| {
        b.iter(|| {
            let op = cdb::lookup(black_box(&read)).unwrap();
            cdb::validate(op, black_box(&read)).unwrap();
            op.handler
        })
    });
    g.bench_function("read10_4k_null", |b| {
        b.iter(|| {
            let r = execute(&lu, &ctx, black_box(&read), &mut buf[..], &mut NoHooks);
            debug_assert_eq!(r.status, ScsiStatus::Good);
            r
        })
    });
    g.bench_function("write10_4k_null", |b| {
        b.iter(|| {
            let r = execute(&lu, &ctx, black_box(&write), &mut buf[..], &mut NoHooks);
            debug_assert_eq!(r.status, ScsiStatus::Good);
            r
        })
    });
    g.finish();
    bench_target(c);
}

struct NoEvents;
impl TaskEvents for NoEvents {
    fn task_aborted(&mut self, _: TaskKey, _: AbortOutcome, _: AbortNotice) {}
    fn task_unblocked(&mut self, _: TaskKey) {}
}
impl TargetEvents for NoEvents {
    fn session_teardown(&mut self, _: Teardown) {}
    fn login_ready(&mut self, _: SessionRef) {}
}

const SESSIONS: usize = 256;
const LUNS: u32 = 64;

fn bench_target(c: &mut Criterion) {
    let port = LocalPort {
        target: 0,
        vp_index: 0,
    };
    let mut t: Box<Target<SESSIONS>> = Box::new(Target::new());
    t.add_port(PortConfig {
        port,
        wwpn: Wwpn(0x5000_0000_0000_0001),
        rel_port: 1,
        tpg: 0,
    })
    .unwrap();
    let mut store: Box<LocalStore<NullBackend, { LUNS as usize }>> = Box::new(LocalStore::new());
    for d in 0..LUNS {
        store
            .add(DeviceId(d), DeviceConfig::new(1 << 24), NullBackend)
            .unwrap();
    }
    let mut ev = NoEvents;
    t.update_acl(&*store, |acl| {
        let g = acl.add_group(b"all").unwrap();
        acl.add_pattern(
            g,
            WwpnPattern::new(0x2100_0000_0000_0000, 0xffff_0000_0000_0000).unwrap(),
        )
        .unwrap();
        for d in 0..LUNS {
            acl.map_lun(g, d as u16, DeviceId(d), false).unwrap();
        }
    });
    let pid = |i: u32| PortId::new(0x01_0000 + i);
    for i in 0..SESSIONS as u32 {
        let n = Nexus {
            port,
            wwpn: Wwpn(0x2100_0000_0000_0000 + u64::from(i)),
            port_id: pid(i),
            handle: Handle(i as u16),
        };
        let l = t.plogi(&*store, n, &mut ev).unwrap();
        t.activate(&*store, l.session).unwrap();
    }
    let read = rw10(0x28, 1234, 8);
    let tur = [0u8; 16];
    let mut buf = vec![0u8; 4096];
    let cmd = |lun: u16, cdb| Command {
        port,
        s_id: pid(137),
        lun: Lun::from_index(lun),
        cdb,
        attr: TaskAttr::Simple,
        tag: 7,
        session: None,
    };
    // Consume the POWER ON unit attention of the LU the benchmark uses.
    for _ in 0..2 {
        t.execute(&*store, &cmd(37, &tur), &mut buf[..0], &mut ev);
    }
    let c37 = cmd(37, &read);
    let first = t.execute(&*store, &c37, &mut buf[..], &mut ev);
    assert!(
        matches!(first, Submitted::Done(r) if r.status == ScsiStatus::Good && r.data_len == 4096),
        "{first:?}"
    );
    let mut g = c.benchmark_group("target");
    g.throughput(Throughput::Elements(1));
    g.bench_function("read10_4k_null_256_sessions_64_luns", |b| {
        b.iter(|| {
            let r = t.execute(&*store, black_box(&c37), &mut buf[..], &mut ev);
            debug_assert!(matches!(r, Submitted::Done(r) if r.status == ScsiStatus::Good));
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
