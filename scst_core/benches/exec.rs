//! Decode + dispatch cost of READ(10)/WRITE(10) against the null backend (ns/command).
//! The lead adds LUN lookup and the session check here once they are integrated.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use scst_core::backend::NullBackend;
use scst_core::cdb;
use scst_core::device::{DeviceConfig, LuState};
use scst_core::exec::{execute, CmdContext, Lu, NoHooks};
use scst_core::types::{Lun, ScsiStatus};

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
