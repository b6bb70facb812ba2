// SPDX-License-Identifier: GPL-2.0
//! The request, response and ATIO rings: 64-byte entries in DMA-coherent memory, indexed
//! with the proto crate's ring arithmetic. The slice-level logic (`prepare`, `drain`) takes
//! plain byte slices so KUnit can run it against ordinary memory.

use kernel::device::{Bound, Device};
use kernel::dma::Coherent;
use kernel::prelude::*;
use qla2x00t_proto::iocb::{entry_type, IOCB_SIZE};
use qla2x00t_proto::ring::{init_signatures, Batch, Ring, RingError, SigConsumer};

/// Request queue entries (the host produces; also the firmware-load bounce buffer).
pub(crate) const REQ_ENTRIES: u16 = 2048;
/// Response queue entries.
pub(crate) const RSP_ENTRIES: u16 = 1024;
/// ATIO queue entries.
pub(crate) const ATIO_ENTRIES: u16 = 4096;
/// Most IOCBs one drain pass handles before letting the thread yield.
pub(crate) const DRAIN_BUDGET: u16 = 256;

/// Who writes the ring's entries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Producer {
    /// The host (request queue): entries start zeroed.
    Host,
    /// The firmware (response, ATIO): every entry starts stamped processed so the
    /// signature-polling consumer sees an empty ring.
    Firmware,
}

/// Puts fresh ring memory into its initial state.
pub(crate) fn prepare(ring: Ring, mem: &mut [u8], producer: Producer) -> Result<(), RingError> {
    ring.check(mem)?;
    match producer {
        Producer::Host => {
            mem.fill(0);
            Ok(())
        }
        Producer::Firmware => init_signatures(&ring, mem),
    }
}

/// Per-entry-type counts of one drain, for the log and statistics.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct DrainCounts {
    /// IOCBs seen (dropped ones included).
    pub(crate) iocbs: u32,
    /// IOCBs refused for a bad entry count.
    pub(crate) dropped: u32,
    /// The entry type of the last IOCB seen.
    pub(crate) last_type: u8,
    /// Immediate Notify entries among them (ELS/logout/reset events for the port logic).
    pub(crate) notifies: u32,
}

/// Consumes what the firmware posted since the last pass: every IOCB is counted by type and
/// handed to `keep` as (bytes up to the ring end, bytes continuing from its start); ones with
/// a bad entry count are only counted. Returns the batch; its `new_out` must be written to
/// the out-pointer register.
pub(crate) fn drain(
    consumer: &mut SigConsumer,
    mem: &mut [u8],
    counts: &mut DrainCounts,
    mut keep: impl FnMut(&[u8], &[u8]),
) -> Result<Batch, RingError> {
    let batch = consumer.process(mem, DRAIN_BUDGET, |iocb| {
        counts.iocbs = counts.iocbs.saturating_add(1);
        match iocb {
            Ok(split) => {
                counts.last_type = split.head.first().copied().unwrap_or(0);
                if counts.last_type == entry_type::IMMED_NOTIFY {
                    counts.notifies = counts.notifies.saturating_add(1);
                }
                keep(split.head, split.tail);
            }
            Err(_) => counts.dropped = counts.dropped.saturating_add(1),
        }
    })?;
    Ok(batch)
}

/// One ring in coherent DMA memory.
pub(crate) struct DmaRing {
    ring: Ring,
    mem: Coherent<[u8]>,
}

impl DmaRing {
    /// Allocates and prepares a ring of `entries` entries for `dev`.
    pub(crate) fn new(dev: &Device<Bound>, entries: u16, producer: Producer) -> Result<Self> {
        let ring = Ring::new(entries).ok_or(EINVAL)?;
        let bytes = usize::from(entries).checked_mul(IOCB_SIZE).ok_or(EINVAL)?;
        let mem = Coherent::<u8>::zeroed_slice(dev, bytes, GFP_KERNEL)?;
        let this = DmaRing { ring, mem };
        this.with_mem(|m| prepare(ring, m, producer))
            .map_err(|_| EINVAL)?;
        Ok(this)
    }

    /// The ring geometry.
    pub(crate) fn ring(&self) -> Ring {
        self.ring
    }

    /// Bus address for the init control block / LOAD RISC RAM.
    pub(crate) fn dma_addr(&self) -> u64 {
        self.mem.dma_address()
    }

    /// Runs `f` over the ring's bytes. Callers serialise (the queue lock or probe context).
    pub(crate) fn with_mem<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // Sharing with the device: it writes only entries it owns under the ring protocol
        // (response/ATIO slots between our out-pointer and its in-pointer, never the slots
        // we read before it stamps them as posted); this is the C driver's rule too, and the
        // signature check orders our reads after its writes.
        // SAFETY: the allocation lives as long as `self`; every caller holds the ring's lock
        // (or runs before the IRQ is requested), so no other CPU-side reference exists.
        let mem = unsafe { self.mem.as_mut() };
        f(mem)
    }
}

#[kunit_tests(ferrule_qla2x00t_rings)]
mod tests {
    use super::*;
    use qla2x00t_proto::ring::{signature, PROCESSED_SIGNATURE};

    const LEN: u16 = 8;

    fn ring() -> Ring {
        Ring::new(LEN).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn firmware_rings_start_all_processed_host_rings_zeroed() {
        let mut mem = [0x5Au8; LEN as usize * IOCB_SIZE];
        assert_eq!(prepare(ring(), &mut mem, Producer::Firmware), Ok(()));
        for e in mem.chunks_exact(IOCB_SIZE) {
            let e: &[u8; IOCB_SIZE] = e.try_into().unwrap_or(&[0; IOCB_SIZE]);
            assert_eq!(signature(e), PROCESSED_SIGNATURE);
            assert_eq!(e[0], 0x5A);
        }
        assert_eq!(prepare(ring(), &mut mem, Producer::Host), Ok(()));
        assert!(mem.iter().all(|&b| b == 0));
        // Wrong size: refused, memory untouched.
        let mut short = [0x11u8; 3 * IOCB_SIZE];
        assert!(prepare(ring(), &mut short, Producer::Firmware).is_err());
        assert!(short.iter().all(|&b| b == 0x11));
    }

    #[test]
    fn drain_counts_posted_iocbs_and_moves_out_pointer() {
        let mut mem = [0u8; LEN as usize * IOCB_SIZE];
        assert_eq!(prepare(ring(), &mut mem, Producer::Firmware), Ok(()));
        // Firmware posts an ATIO7 (type 0x06, one entry) in slot 0 and a bad one
        // (entry_count 0) in slot 1.
        mem[0] = 0x06;
        mem[1] = 1;
        mem[0x3C..0x40].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        mem[64] = 0x06;
        mem[65] = 0;
        mem[64 + 0x3C..64 + 0x40].copy_from_slice(&0u32.to_le_bytes());
        let mut consumer = SigConsumer::new(ring());
        let mut counts = DrainCounts::default();
        let batch = drain(&mut consumer, &mut mem, &mut counts, |_, _| {});
        assert_eq!(
            batch.map(|b| (b.iocbs, b.entries, b.dropped, b.new_out)),
            Ok((2, 2, 1, Some(2)))
        );
        assert_eq!(
            counts,
            DrainCounts {
                iocbs: 2,
                dropped: 1,
                last_type: 0x06,
                notifies: 0,
            }
        );
        // Both slots handed back to the firmware.
        assert_eq!(&mem[0x3C..0x40], &PROCESSED_SIGNATURE.to_le_bytes());
        // Nothing new: an empty pass.
        let batch = drain(&mut consumer, &mut mem, &mut counts, |_, _| {});
        assert_eq!(batch.map(|b| b.new_out), Ok(None));
    }
}
