//! Stable-toolchain fuzzing of the exec entry point: no CDB, data-out or buffer size may
//! panic it or break the result contract (tests/harness).
//!
//! Bounded by iterations: `FERRULE_FUZZ_ITERS` (default 100000) structured random inputs,
//! plus proptest over raw bytes (`PROPTEST_CASES`, default 2000 here).
mod harness;

use proptest::prelude::*;
use scst_core::cdb;

/// xorshift64*: deterministic, seedable, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An input in the harness format whose CDBs mostly name table opcodes with their service
/// actions and plausible lengths, and whose data-out often looks like parameter lists.
fn structured_input(rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![rng.byte(), rng.byte(), rng.byte()];
    for _ in 0..rng.below(8) + 1 {
        let op = cdb::op_at(rng.below(cdb::OPS.len() as u64) as usize).unwrap();
        let len = match rng.below(10) {
            0 => rng.below(33) as usize,
            _ => usize::from(op.cdb_len),
        };
        v.push(len as u8);
        let mut c: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        if rng.below(8) != 0 {
            // Mostly-valid CDBs: keep only usage bits, small numbers in length fields.
            for (i, b) in c.iter_mut().enumerate() {
                *b &= op.usage.get(i).copied().unwrap_or(0);
                if rng.below(3) == 0 {
                    *b &= 0x0f;
                }
            }
        }
        if rng.below(2) == 0 {
            // Small numbers in LBA/length fields, so media commands get past range checks.
            let last = c.len().saturating_sub(1);
            for b in c.iter_mut().take(last).skip(2) {
                if rng.below(4) != 0 {
                    *b = 0;
                } else {
                    *b &= 0x3f;
                }
            }
        }
        if let Some(b) = c.get_mut(0) {
            *b = op.opcode;
        }
        if let (Some(b), Some(sa)) = (c.get_mut(1), op.service_action) {
            *b = (*b & 0xe0) | sa;
        }
        v.extend(&c);
        let buf_len = match rng.below(4) {
            0 => rng.below(64),
            1 => 512 * rng.below(4),
            _ => rng.below(13000),
        } as u16;
        v.extend(buf_len.to_be_bytes());
        // Data-out: a header-like prefix then random bytes.
        for i in 0..rng.below(96) {
            v.push(if i < 8 { rng.byte() & 0x1f } else { rng.byte() });
        }
    }
    v
}

#[test]
fn random_structured_inputs() {
    let iters: u64 = std::env::var("FERRULE_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..iters {
        let input = structured_input(&mut rng);
        harness::run_input(&input);
    }
}

#[test]
fn every_opcode_byte_with_every_buffer_edge() {
    // Exhaustive over opcode x a few buffer sizes with an all-ones and all-zeros body.
    for op in 0..=255u8 {
        for fill in [0x00u8, 0xff] {
            for buf_len in [0u16, 1, 7, 8, 511, 512, 513, 4096] {
                let mut input = vec![0x13, 9, 0xff, 16, op];
                input.extend([fill; 15]);
                input.extend(buf_len.to_be_bytes());
                input.extend([fill; 64]);
                harness::run_input(&input);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn raw_bytes_never_break_exec(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        harness::run_input(&data);
    }
}
