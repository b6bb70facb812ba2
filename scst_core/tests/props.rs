//! Model-based property test: random sequences of media commands against the RAM disk
//! must behave like a plain byte array with a provisioning bitmap.
mod common;

use common::{rw10, rw12, rw16, rw6};
use proptest::prelude::*;
use scst_core::backend::RamDisk;
use scst_core::device::{DeviceConfig, LuState};
use scst_core::exec::{execute, CmdContext, Lu, NoHooks, Residual};
use scst_core::types::{Asc, ScsiStatus, SenseKey};

const BLOCKS: u64 = 32;

#[derive(Clone, Debug)]
enum Op {
    Write {
        lba: u64,
        n: u32,
        seed: u8,
        size: u8,
    },
    Read {
        lba: u64,
        n: u32,
        size: u8,
    },
    WriteSame {
        lba: u64,
        n: u32,
        seed: u8,
        unmap: bool,
    },
    Unmap {
        lba: u64,
        n: u32,
    },
    Caw {
        lba: u64,
        matching: bool,
        seed: u8,
    },
    Status {
        lba: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let lba = 0u64..40;
    let n = 0u32..6;
    let size = prop_oneof![Just(6u8), Just(10), Just(12), Just(16)];
    prop_oneof![
        (lba.clone(), n.clone(), any::<u8>(), size.clone())
            .prop_map(|(lba, n, seed, size)| Op::Write { lba, n, seed, size }),
        (lba.clone(), n.clone(), size).prop_map(|(lba, n, size)| Op::Read { lba, n, size }),
        (
            lba.clone(),
            n.clone(),
            prop_oneof![Just(0u8), any::<u8>()],
            any::<bool>()
        )
            .prop_map(|(lba, n, seed, unmap)| Op::WriteSame {
                lba,
                n,
                seed,
                unmap
            }),
        (lba.clone(), n).prop_map(|(lba, n)| Op::Unmap { lba, n }),
        (lba.clone(), any::<bool>(), any::<u8>()).prop_map(|(lba, matching, seed)| Op::Caw {
            lba,
            matching,
            seed
        }),
        lba.prop_map(|lba| Op::Status { lba }),
    ]
}

fn block_cdb(size: u8, op10: u8, lba: u64, n: u32) -> Vec<u8> {
    match size {
        6 => rw6(if op10 == 0x28 { 0x08 } else { 0x0a }, lba as u32, n as u8).to_vec(),
        10 => rw10(op10, lba as u32, n as u16).to_vec(),
        12 => rw12(if op10 == 0x28 { 0xa8 } else { 0xaa }, lba as u32, n).to_vec(),
        _ => rw16(if op10 == 0x28 { 0x88 } else { 0x8a }, lba, n).to_vec(),
    }
}

fn fill(len: usize, seed: u8) -> Vec<u8> {
    if seed == 0 {
        return vec![0; len];
    }
    (0..len)
        .map(|i| (i as u8).wrapping_add(seed).wrapping_mul(seed | 1))
        .collect()
}

fn in_range(lba: u64, n: u64) -> bool {
    lba < BLOCKS && lba + n <= BLOCKS
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn media_commands_match_a_model(ops in proptest::collection::vec(op(), 1..40), big in any::<bool>()) {
        let bs: usize = if big { 4096 } else { 512 };
        let mut cfg = DeviceConfig::new(BLOCKS);
        cfg.block_size = bs as u32;
        cfg.thin = true;
        let mut storage = vec![0u8; bs * BLOCKS as usize];
        let mut mapped = vec![0u8; BLOCKS as usize];
        let disk = RamDisk::new(bs, &mut storage, &mut mapped);
        let state = LuState::new(&cfg);
        let lu = Lu { config: &cfg, state: &state, backend: &disk };
        let ctx = CmdContext::simple(&[]);
        let mut model = vec![0u8; bs * BLOCKS as usize];
        let mut model_mapped = vec![false; BLOCKS as usize];
        let range = |lba: u64, n: u64| (lba as usize * bs)..((lba + n) as usize * bs);

        for op in ops {
            match op {
                Op::Write { lba, n, seed, size } => {
                    // 6-byte: 0 means 256 blocks (always out of range here).
                    let blocks = if size == 6 && n == 0 { 256 } else { u64::from(n) };
                    let mut buf = fill(blocks as usize * bs, seed);
                    let r = execute(&lu, &ctx, &block_cdb(size, 0x2a, lba, n), &mut buf[..], &mut NoHooks);
                    if in_range(lba, blocks) {
                        prop_assert_eq!(r.status, ScsiStatus::Good);
                        model[range(lba, blocks)].copy_from_slice(&buf);
                        model_mapped[lba as usize..(lba + blocks) as usize].fill(true);
                    } else {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::LBA_OUT_OF_RANGE));
                    }
                }
                Op::Read { lba, n, size } => {
                    let blocks = if size == 6 && n == 0 { 256 } else { u64::from(n) };
                    let mut buf = vec![0xa5u8; blocks as usize * bs];
                    let r = execute(&lu, &ctx, &block_cdb(size, 0x28, lba, n), &mut buf[..], &mut NoHooks);
                    if in_range(lba, blocks) {
                        prop_assert_eq!(r.status, ScsiStatus::Good);
                        prop_assert_eq!(r.residual, Residual::None);
                        prop_assert!(buf[..] == model[range(lba, blocks)]);
                    } else {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::LBA_OUT_OF_RANGE));
                    }
                }
                Op::WriteSame { lba, n, seed, unmap } => {
                    let mut c = rw16(0x93, lba, n);
                    if unmap {
                        c[1] = 0x08;
                    }
                    let mut block = fill(bs, seed);
                    let r = execute(&lu, &ctx, &c, &mut block[..], &mut NoHooks);
                    if n == 0 {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::INVALID_FIELD_IN_CDB));
                    } else if in_range(lba, n.into()) {
                        prop_assert_eq!(r.status, ScsiStatus::Good);
                        for l in lba..lba + u64::from(n) {
                            model[range(l, 1)].copy_from_slice(&block);
                            model_mapped[l as usize] = !(unmap && seed == 0);
                        }
                    } else {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::LBA_OUT_OF_RANGE));
                    }
                }
                Op::Unmap { lba, n } => {
                    let mut list = vec![0, 22, 0, 16, 0, 0, 0, 0];
                    list.extend(lba.to_be_bytes());
                    list.extend(n.to_be_bytes());
                    list.extend([0; 4]);
                    let r = execute(&lu, &ctx, &[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], &mut list[..], &mut NoHooks);
                    if in_range(lba, n.into()) {
                        prop_assert_eq!(r.status, ScsiStatus::Good);
                        model[range(lba, n.into())].fill(0);
                        model_mapped[lba as usize..(lba + u64::from(n)) as usize].fill(false);
                    } else {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::LBA_OUT_OF_RANGE));
                    }
                }
                Op::Caw { lba, matching, seed } => {
                    let mut c = [0u8; 16];
                    c[0] = 0x89;
                    c[2..10].copy_from_slice(&lba.to_be_bytes());
                    c[13] = 1;
                    let mut verify = if in_range(lba, 1) { model[range(lba, 1)].to_vec() } else { vec![0; bs] };
                    if !matching {
                        verify[bs / 3] ^= 0x80;
                    }
                    let mut buf = [verify, fill(bs, seed)].concat();
                    let r = execute(&lu, &ctx, &c, &mut buf[..], &mut NoHooks);
                    if !in_range(lba, 1) {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::LBA_OUT_OF_RANGE));
                    } else if matching {
                        prop_assert_eq!(r.status, ScsiStatus::Good);
                        model[range(lba, 1)].copy_from_slice(&buf[bs..]);
                        model_mapped[lba as usize] = true;
                    } else {
                        let s = r.sense.unwrap();
                        prop_assert_eq!((s.key, s.information), (SenseKey::Miscompare, Some((bs / 3) as u64)));
                    }
                }
                Op::Status { lba } => {
                    let mut c = [0u8; 16];
                    c[0] = 0x9e;
                    c[1] = 0x12;
                    c[2..10].copy_from_slice(&lba.to_be_bytes());
                    c[13] = 24;
                    let mut buf = [0u8; 24];
                    let r = execute(&lu, &ctx, &c, &mut buf[..], &mut NoHooks);
                    if lba < BLOCKS {
                        prop_assert_eq!(r.status, ScsiStatus::Good);
                        let first = model_mapped[lba as usize];
                        let run = model_mapped[lba as usize..].iter().take_while(|&&m| m == first).count();
                        prop_assert_eq!(u32::from_be_bytes(buf[16..20].try_into().unwrap()), run as u32);
                        prop_assert_eq!(buf[20], u8::from(!first));
                    } else {
                        prop_assert_eq!(r.sense.map(|s| s.asc), Some(Asc::LBA_OUT_OF_RANGE));
                    }
                }
            }
        }
        let mut all = vec![0u8; bs * BLOCKS as usize];
        for l in 0..BLOCKS {
            prop_assert!(disk.peek(l, &mut all[range(l, 1)]));
        }
        prop_assert!(all == model);
    }
}
