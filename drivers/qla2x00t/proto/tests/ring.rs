//! Ring arithmetic, signature-polled consumption with wrap and batching, and the CTIO7
//! data-segment builder.

use proptest::prelude::*;
use qla2x00t_proto::iocb::*;
use qla2x00t_proto::ring::*;
use scst_core::types::{Handle, PortId};

fn entry(ty: u8, count: u8, tag: u8) -> Entry {
    let mut e = [0u8; 64];
    e[0] = ty;
    e[1] = count;
    e[2] = tag;
    e
}

#[test]
fn index_arithmetic_wraps() {
    let r = Ring::new(8).unwrap();
    assert!(Ring::new(1).is_none());
    assert_eq!(r.advance(7, 1), 0);
    assert_eq!(r.advance(6, 5), 3);
    assert_eq!(r.used(2, 6), 4); // producer wrapped past the end
    assert_eq!(r.free(2, 6), 3);
    assert_eq!(r.used(5, 5), 0);
    assert_eq!(r.free(5, 5), 7); // one slot always empty
    assert_eq!(r.free(4, 5), 0);
}

#[test]
fn producer_refuses_overfill_and_wraps() {
    let r = Ring::new(4).unwrap();
    let mut mem = vec![0u8; 4 * 64];
    let mut p = Producer::new(r);
    for t in 0..3 {
        p.push(&mut mem, &entry(0x12, 1, t)).unwrap();
    }
    assert_eq!(p.push(&mut mem, &entry(0x12, 1, 9)), Err(RingError::Full));
    assert_eq!(p.in_idx(), 3);
    assert!(p.set_consumer(2));
    assert!(!p.set_consumer(4));
    p.push_all(&mut mem, [entry(0x12, 2, 3), entry(0x0A, 1, 4)], 2)
        .unwrap();
    assert_eq!(p.in_idx(), 1);
    assert_eq!(mem[3 * 64 + 2], 3);
    assert_eq!(mem[2], 4); // second entry wrapped to slot 0
    assert_eq!(p.push_bytes(&mut mem, &[0u8; 65]), Err(RingError::BadRing));
    let mut wrong = vec![0u8; 100];
    assert_eq!(p.push(&mut wrong, &entry(1, 1, 1)), Err(RingError::BadRing));
}

#[test]
fn signature_consumer_batches_and_wraps() {
    let r = Ring::new(4).unwrap();
    let mut mem = vec![0u8; 4 * 64];
    init_signatures(&r, &mut mem).unwrap();
    let mut c = SigConsumer::new(r);
    let mut seen = Vec::new();
    let b = c
        .process(&mut mem, 16, |e| seen.push(e.map(|s| s.len())))
        .unwrap();
    assert_eq!(b, Batch::default());
    assert!(seen.is_empty());

    // Firmware writes a 1-entry IOCB at slot 0 and a 2-entry IOCB at slots 1..2.
    mem[..64].copy_from_slice(&entry(0x0D, 1, 0));
    mem[64..128].copy_from_slice(&entry(0x06, 2, 1));
    mem[128..192].fill(0x55); // continuation bytes (signature != DEADDEAD)
                              // Batch limit 1: only the first IOCB, out-pointer reported once.
    let b = c
        .process(&mut mem, 1, |e| seen.push(e.map(|s| s.len())))
        .unwrap();
    assert_eq!(
        b,
        Batch {
            iocbs: 1,
            entries: 1,
            dropped: 0,
            new_out: Some(1)
        }
    );
    let b = c
        .process(&mut mem, 16, |e| seen.push(e.map(|s| s.len())))
        .unwrap();
    assert_eq!(
        b,
        Batch {
            iocbs: 1,
            entries: 2,
            dropped: 0,
            new_out: Some(3)
        }
    );
    assert_eq!(seen, vec![Ok(64), Ok(128)]);
    for slot in 0..3 {
        let e: &Entry = mem[slot * 64..slot * 64 + 64].try_into().unwrap();
        assert_eq!(signature(e), PROCESSED_SIGNATURE, "slot {slot} stamped");
    }

    // A 2-entry IOCB starting in the last slot wraps to slot 0.
    let mut a = entry(0x06, 2, 7);
    a[0x3C..0x40].copy_from_slice(&[1, 2, 3, 4]);
    mem[192..256].copy_from_slice(&a);
    mem[..64].fill(0x66);
    let mut parts = Vec::new();
    let b = c
        .process(&mut mem, 16, |e| {
            let s = e.unwrap();
            parts.push((s.head.len(), s.tail.len(), s.byte(2), s.byte(64)));
        })
        .unwrap();
    assert_eq!(b.new_out, Some(1));
    assert_eq!(parts, vec![(64, 64, Some(7), Some(0x66))]);
}

#[test]
fn signature_consumer_drops_bad_counts() {
    let r = Ring::new(4).unwrap();
    let mut mem = vec![0u8; 4 * 64];
    init_signatures(&r, &mut mem).unwrap();
    mem[..64].copy_from_slice(&entry(0x06, 0, 0)); // count 0
    mem[64..128].copy_from_slice(&entry(0x06, 4, 0)); // count == ring length
    mem[128..192].copy_from_slice(&entry(0x0D, 1, 0));
    let mut c = SigConsumer::new(r);
    let mut got = Vec::new();
    let b = c
        .process(&mut mem, 16, |e| got.push(e.map(|s| s.len())))
        .unwrap();
    assert_eq!(
        b,
        Batch {
            iocbs: 3,
            entries: 3,
            dropped: 2,
            new_out: Some(3)
        }
    );
    assert_eq!(
        got,
        vec![
            Err(RingError::BadEntryCount(0)),
            Err(RingError::BadEntryCount(4)),
            Ok(64)
        ]
    );
}

#[test]
fn index_consumer_reads_to_producer() {
    let r = Ring::new(4).unwrap();
    let mut mem = vec![0u8; 4 * 64];
    let mut p = Producer::new(r);
    let mut c = IndexConsumer::new(r);
    assert!(c.peek(&mem, p.in_idx()).is_none());
    p.push(&mut mem, &entry(0x04, 1, 1)).unwrap();
    p.push(&mut mem, &entry(0x04, 1, 2)).unwrap();
    assert_eq!(c.available(p.in_idx()), 2);
    assert_eq!(c.peek(&mem, p.in_idx()).unwrap()[2], 1);
    assert_eq!(c.consume(5, p.in_idx()), 2);
    assert_eq!(c.out(), 2);
}

fn template() -> Ctio7 {
    Ctio7 {
        entry_count: 1,
        handle: 0x2000_0001,
        nport_handle: Handle(3),
        timeout: 10,
        dseg_count: 0,
        vp_index: 0,
        add_flags: 0,
        initiator_id: PortId::new(0x010203),
        exchange_addr: 0x1000,
        flags: ctio_flags::DATA_IN | ctio_flags::SEND_STATUS,
        residual: 0,
        ox_id: 0x42,
        scsi_status: 0,
        body: Ctio7Body::Mode0 {
            relative_offset: 0,
            transfer_length: 0,
            dsd: Dsd64::default(),
        },
    }
}

#[test]
fn data_segments_split_inline_plus_continuations() {
    let segs: Vec<(u64, u32)> = (0..8u64).map(|i| (0x10_0000 + i * 0x1000, 512)).collect();
    let ds = DataSegments::new(&template(), segs.iter().copied()).unwrap();
    assert_eq!(ds.entries(), 3); // 1 inline + 5 + 2
    let entries: Vec<Entry> = ds.collect();
    assert_eq!(entries.len(), 3);
    let c = Ctio7::decode(&entries[0]).unwrap();
    assert_eq!(c.entry_count, 3);
    assert_eq!(c.dseg_count, 8);
    assert_eq!(
        c.body,
        Ctio7Body::Mode0 {
            relative_offset: 0,
            transfer_length: 4096,
            dsd: Dsd64 {
                addr: 0x10_0000,
                len: 512
            }
        }
    );
    let c1 = ContA64::decode(&entries[1]).unwrap();
    let c2 = ContA64::decode(&entries[2]).unwrap();
    let got: Vec<(u64, u32)> = c1
        .dsds
        .iter()
        .chain(c2.dsds.iter())
        .filter(|d| d.len > 0)
        .map(|d| (d.addr, d.len))
        .collect();
    assert_eq!(got, segs[1..].to_vec());
    assert_eq!(c2.dsds[2], Dsd64::default());

    // Exactly 6 segments fill one continuation.
    assert_eq!(
        DataSegments::new(&template(), segs[..6].iter().copied())
            .unwrap()
            .count(),
        2
    );
    // No segments: a lone CTIO7.
    assert_eq!(
        DataSegments::new(&template(), std::iter::empty())
            .unwrap()
            .count(),
        1
    );
    // Limits.
    let many = std::iter::repeat_n((0u64, 1u32), MAX_DSEGS + 1);
    assert_eq!(
        DataSegments::new(&template(), many).err(),
        Some(RingError::TooManySegments)
    );
    let max = std::iter::repeat_n((0u64, 1u32), MAX_DSEGS);
    assert_eq!(DataSegments::new(&template(), max).unwrap().entries(), 255);
    let mut m1 = template();
    m1.body = Ctio7Body::Mode1 {
        sense_length: 0,
        response_len: 0,
        sense: [0; 24],
    };
    assert_eq!(
        DataSegments::new(&m1, segs.iter().copied()).err(),
        Some(RingError::NotMode0)
    );
    let huge = [(0u64, u32::MAX), (0u64, 1u32)];
    assert_eq!(
        DataSegments::new(&template(), huge.iter().copied()).err(),
        Some(RingError::TooManySegments)
    );
}

proptest! {
    #[test]
    fn used_plus_free_is_capacity(len in 2u16..4096, p in 0u16..4096, c in 0u16..4096) {
        let r = Ring::new(len).unwrap();
        let (p, c) = (p % len, c % len);
        prop_assert_eq!(r.used(p, c) + r.free(p, c), len - 1);
        prop_assert_eq!(r.advance(c, r.used(p, c)), p);
    }

    #[test]
    fn producer_consumer_stream_survives_wrap(len in 2u16..16, counts in proptest::collection::vec(1u8..4, 1..40)) {
        // Random multi-entry IOCBs through a small ring: everything arrives once, in order.
        let r = Ring::new(len).unwrap();
        let mut mem = vec![0u8; usize::from(len) * 64];
        init_signatures(&r, &mut mem).unwrap();
        let mut prod = Producer::new(r);
        let mut cons = SigConsumer::new(r);
        let mut sent = Vec::new();
        let mut got = Vec::new();
        for (i, &n) in counts.iter().enumerate() {
            if u16::from(n) >= len { continue; }
            let mut bytes = vec![0u8; usize::from(n) * 64];
            bytes[0] = 0x06;
            bytes[1] = n;
            bytes[2] = i as u8;
            for k in 1..usize::from(n) { bytes[k * 64] = 0xC0; }
            if prod.push_bytes(&mut mem, &bytes).is_err() {
                // Full: drain then retry once.
                let b = cons.process(&mut mem, u16::MAX, |e| got.push(e.map(|s| (s.byte(2), s.len()))))
                    .unwrap();
                if let Some(o) = b.new_out { prod.set_consumer(o); }
                prod.push_bytes(&mut mem, &bytes).unwrap();
            }
            sent.push(Ok((Some(i as u8), usize::from(n) * 64)));
        }
        cons.process(&mut mem, u16::MAX, |e| got.push(e.map(|s| (s.byte(2), s.len())))).unwrap();
        prop_assert_eq!(got, sent);
    }

    #[test]
    fn data_segments_preserve_the_scatter_list(lens in proptest::collection::vec(1u32..100_000, 0..40)) {
        let segs: Vec<(u64, u32)> = lens.iter().enumerate().map(|(i, &l)| ((i as u64) << 20, l)).collect();
        let ds = DataSegments::new(&template(), segs.iter().copied()).unwrap();
        let entries: Vec<Entry> = ds.collect();
        let c = Ctio7::decode(&entries[0]).unwrap();
        prop_assert_eq!(usize::from(c.entry_count), entries.len());
        prop_assert_eq!(usize::from(c.dseg_count), segs.len());
        let mut got = Vec::new();
        if let Ctio7Body::Mode0 { dsd, transfer_length, .. } = c.body {
            prop_assert_eq!(u64::from(transfer_length), lens.iter().map(|&l| u64::from(l)).sum::<u64>());
            if !segs.is_empty() { got.push((dsd.addr, dsd.len)); }
        }
        for e in &entries[1..] {
            for d in ContA64::decode(e).unwrap().dsds.iter().filter(|d| d.len > 0) {
                got.push((d.addr, d.len));
            }
        }
        prop_assert_eq!(got, segs);
    }
}
