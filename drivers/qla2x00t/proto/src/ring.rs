//! Ring index arithmetic, signature-polled consumers, and the CTIO7 data-segment builder.
//!
//! Rings are arrays of 64-byte entries in coherent DMA memory. One slot always stays empty,
//! so `in == out` means empty and a ring of `len` entries holds at most `len - 1`.

use crate::iocb::{
    ctio7_entries, ContA64, Ctio7, Ctio7Body, Dsd64, Entry, Split, DSDS_PER_CONT, IOCB_SIZE,
};

/// Signature the consumer stamps at offset 0x3C of every processed response/ATIO entry.
pub const PROCESSED_SIGNATURE: u32 = 0xDEAD_DEAD;
/// Offset of the signature dword inside an entry.
pub const SIGNATURE_OFFSET: usize = 0x3C;
/// Most data segments one CTIO7 (+ continuations, entry_count <= 255) carries.
pub const MAX_DSEGS: usize = 1270;

/// Errors of ring operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RingError {
    /// Not enough free slots.
    Full,
    /// The ring length is below 2 or the byte slice does not hold `len` entries.
    BadRing,
    /// An index is outside the ring.
    BadIndex(u16),
    /// An entry's `entry_count` is zero or larger than the ring allows (entry dropped).
    BadEntryCount(u8),
    /// More data segments than a CTIO7 can describe.
    TooManySegments,
    /// The CTIO7 template is not a status-mode-0 CTIO.
    NotMode0,
}

/// Geometry of a ring: `len` entries of 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ring {
    len: u16,
}

impl Ring {
    /// A ring of `len` entries; `None` for fewer than 2 entries.
    pub const fn new(len: u16) -> Option<Ring> {
        if len < 2 {
            None
        } else {
            Some(Ring { len })
        }
    }
    /// Number of entries.
    pub const fn len(&self) -> u16 {
        self.len
    }
    /// Always false (a ring has at least 2 entries); present for API symmetry.
    pub const fn is_empty(&self) -> bool {
        false
    }
    /// `v` modulo the ring length. `len >= 2` always holds (see `new`); `checked_rem` keeps
    /// the division-by-zero panic path out of the object code, where objtool (7.3) would
    /// not recognise it as noreturn.
    const fn wrap(&self, v: u32) -> u32 {
        match v.checked_rem(self.len as u32) {
            Some(r) => r,
            None => 0,
        }
    }
    /// `idx + n` modulo the ring length.
    pub const fn advance(&self, idx: u16, n: u16) -> u16 {
        self.wrap(idx as u32 + n as u32) as u16
    }
    /// Entries produced but not consumed.
    pub const fn used(&self, producer: u16, consumer: u16) -> u16 {
        let p = self.wrap(producer as u32);
        let c = self.wrap(consumer as u32);
        self.wrap(p + self.len as u32 - c) as u16
    }
    /// Slots the producer may still fill.
    pub const fn free(&self, producer: u16, consumer: u16) -> u16 {
        self.len - 1 - self.used(producer, consumer)
    }
    /// Whether `idx` is a valid slot.
    pub const fn contains(&self, idx: u16) -> bool {
        idx < self.len
    }
    /// Checks that `mem` holds exactly this ring.
    pub fn check(&self, mem: &[u8]) -> Result<(), RingError> {
        if mem.len() == usize::from(self.len) * IOCB_SIZE {
            Ok(())
        } else {
            Err(RingError::BadRing)
        }
    }
    /// The bytes of slot `idx`.
    pub fn slot<'a>(&self, mem: &'a [u8], idx: u16) -> Result<&'a Entry, RingError> {
        let start = usize::from(idx) * IOCB_SIZE;
        mem.get(start..start + IOCB_SIZE)
            .and_then(|s| s.try_into().ok())
            .ok_or(RingError::BadIndex(idx))
    }
    /// The bytes of slot `idx`, writable.
    pub fn slot_mut<'a>(&self, mem: &'a mut [u8], idx: u16) -> Result<&'a mut Entry, RingError> {
        let start = usize::from(idx) * IOCB_SIZE;
        mem.get_mut(start..start + IOCB_SIZE)
            .and_then(|s| s.try_into().ok())
            .ok_or(RingError::BadIndex(idx))
    }
    /// `count` entries starting at `idx` as one logical byte run (wrapping the end).
    pub fn run<'a>(&self, mem: &'a [u8], idx: u16, count: u16) -> Result<Split<'a>, RingError> {
        if !self.contains(idx) || count == 0 || count >= self.len {
            return Err(RingError::BadIndex(idx));
        }
        let start = usize::from(idx) * IOCB_SIZE;
        let end = usize::from(idx) + usize::from(count);
        let len = usize::from(self.len);
        let (head_end, tail_entries) = if end > len {
            (len, end - len)
        } else {
            (end, 0)
        };
        let head = mem
            .get(start..head_end * IOCB_SIZE)
            .ok_or(RingError::BadRing)?;
        let tail = mem
            .get(..tail_entries * IOCB_SIZE)
            .ok_or(RingError::BadRing)?;
        Ok(Split { head, tail })
    }
}

/// Reads the signature dword of an entry.
pub fn signature(e: &Entry) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = e.get(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

/// Stamps the processed signature into an entry.
pub fn stamp_processed(e: &mut Entry) {
    if let Some(s) = e.get_mut(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 4) {
        s.copy_from_slice(&PROCESSED_SIGNATURE.to_le_bytes());
    }
}

/// Stamps every entry of a ring as processed (done once at ring setup).
pub fn init_signatures(ring: &Ring, mem: &mut [u8]) -> Result<(), RingError> {
    ring.check(mem)?;
    for e in mem.chunks_exact_mut(IOCB_SIZE) {
        if let Ok(e) = <&mut Entry>::try_from(e) {
            stamp_processed(e);
        }
    }
    Ok(())
}

/// Result of one consumer batch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Batch {
    /// IOCBs handed to the callback (good or bad).
    pub iocbs: u16,
    /// Ring entries consumed.
    pub entries: u16,
    /// IOCBs dropped for a bad entry count.
    pub dropped: u16,
    /// The out-pointer to write to the register once, if anything was consumed.
    pub new_out: Option<u16>,
}

/// Consumer of a firmware-produced ring (ATIO or response queue) that detects new entries
/// by their signature, as the driver must for the ATIO queue (it never reads `atio_q_in`).
///
/// Known quirk shared with qla2xxx: in a one-entry ATIO the signature word *is* FCP_DL, so
/// a command with FCP_DL == 0xDEADDEAD looks already processed and is not seen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SigConsumer {
    ring: Ring,
    out: u16,
}

impl SigConsumer {
    /// A consumer starting at slot 0.
    pub const fn new(ring: Ring) -> Self {
        SigConsumer { ring, out: 0 }
    }
    /// The next slot to read.
    pub const fn out(&self) -> u16 {
        self.out
    }

    /// Processes up to `max` IOCBs. The callback gets each new IOCB's entry run (which may
    /// wrap), or the error for one that is dropped. Consumed entries are stamped processed;
    /// the caller writes `Batch::new_out` to the out-pointer register once.
    pub fn process<F>(&mut self, mem: &mut [u8], max: u16, mut f: F) -> Result<Batch, RingError>
    where
        F: FnMut(Result<Split<'_>, RingError>),
    {
        self.ring.check(mem)?;
        let mut batch = Batch::default();
        while batch.iocbs < max {
            let first = self.ring.slot(mem, self.out)?;
            if signature(first) == PROCESSED_SIGNATURE {
                break;
            }
            let count = first[1];
            let n = if count == 0 || u16::from(count) >= self.ring.len() {
                batch.dropped = batch.dropped.saturating_add(1);
                f(Err(RingError::BadEntryCount(count)));
                1
            } else {
                f(Ok(self.ring.run(mem, self.out, u16::from(count))?));
                u16::from(count)
            };
            for _ in 0..n {
                stamp_processed(self.ring.slot_mut(mem, self.out)?);
                self.out = self.ring.advance(self.out, 1);
            }
            batch.iocbs = batch.iocbs.saturating_add(1);
            batch.entries = batch.entries.saturating_add(n);
        }
        if batch.entries > 0 {
            batch.new_out = Some(self.out);
        }
        Ok(batch)
    }
}

/// Producer side of a ring (the driver's request queue, or the firmware model's
/// response/ATIO queues). `consumer` is the last out-pointer seen from the other side.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Producer {
    ring: Ring,
    in_idx: u16,
    consumer: u16,
}

impl Producer {
    /// A producer starting at slot 0 with an empty ring.
    pub const fn new(ring: Ring) -> Self {
        Producer {
            ring,
            in_idx: 0,
            consumer: 0,
        }
    }
    /// The ring.
    pub const fn ring(&self) -> Ring {
        self.ring
    }
    /// The next slot to fill (the value for the in-pointer register).
    pub const fn in_idx(&self) -> u16 {
        self.in_idx
    }
    /// Records the consumer's out-pointer; an out-of-range value is ignored.
    pub fn set_consumer(&mut self, out: u16) -> bool {
        if self.ring.contains(out) {
            self.consumer = out;
            true
        } else {
            false
        }
    }
    /// Free slots.
    pub const fn free(&self) -> u16 {
        self.ring.free(self.in_idx, self.consumer)
    }
    /// Writes a run of entries (all or nothing) and advances the in-pointer.
    pub fn push_all<I>(&mut self, mem: &mut [u8], entries: I, count: u16) -> Result<(), RingError>
    where
        I: IntoIterator<Item = Entry>,
    {
        self.ring.check(mem)?;
        if count > self.free() {
            return Err(RingError::Full);
        }
        let mut idx = self.in_idx;
        for e in entries.into_iter().take(usize::from(count)) {
            *self.ring.slot_mut(mem, idx)? = e;
            idx = self.ring.advance(idx, 1);
        }
        self.in_idx = idx;
        Ok(())
    }
    /// Advances the in-pointer by `n` entries written by other means (e.g. through DMA).
    pub fn advance_in(&mut self, n: u16) -> Result<(), RingError> {
        if n > self.free() {
            return Err(RingError::Full);
        }
        self.in_idx = self.ring.advance(self.in_idx, n);
        Ok(())
    }
    /// Writes one entry.
    pub fn push(&mut self, mem: &mut [u8], e: &Entry) -> Result<(), RingError> {
        self.push_all(mem, [*e], 1)
    }
    /// Writes raw bytes of a multi-entry IOCB (`bytes.len()` a multiple of 64).
    pub fn push_bytes(&mut self, mem: &mut [u8], bytes: &[u8]) -> Result<(), RingError> {
        let count = u16::try_from(bytes.len() / IOCB_SIZE).map_err(|_| RingError::Full)?;
        if bytes.len() % IOCB_SIZE != 0 || count == 0 {
            return Err(RingError::BadRing);
        }
        let it = bytes
            .chunks_exact(IOCB_SIZE)
            .filter_map(|c| <Entry>::try_from(c).ok());
        self.push_all(mem, it, count)
    }
}

/// Consumer of the request ring on the firmware side: reads entries between its out-pointer
/// and the host's in-pointer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IndexConsumer {
    ring: Ring,
    out: u16,
}

impl IndexConsumer {
    /// A consumer starting at slot 0.
    pub const fn new(ring: Ring) -> Self {
        IndexConsumer { ring, out: 0 }
    }
    /// The out-pointer.
    pub const fn out(&self) -> u16 {
        self.out
    }
    /// Entries available given the producer's in-pointer.
    pub const fn available(&self, producer_in: u16) -> u16 {
        self.ring.used(producer_in, self.out)
    }
    /// The next entry, if any, without consuming it.
    pub fn peek<'a>(&self, mem: &'a [u8], producer_in: u16) -> Option<&'a Entry> {
        if self.available(producer_in) == 0 {
            return None;
        }
        self.ring.slot(mem, self.out).ok()
    }
    /// Consumes `n` entries (at most what is available).
    pub fn consume(&mut self, n: u16, producer_in: u16) -> u16 {
        let n = n.min(self.available(producer_in));
        self.out = self.ring.advance(self.out, n);
        n
    }
}

/// Builds a mode-0 CTIO7 plus the Continuation Type 1 entries for a scatter list: the
/// first segment goes inline, the rest five per continuation. Iterate it to get the entries
/// in ring order.
#[derive(Clone, Debug)]
pub struct DataSegments<I> {
    ctio: Ctio7,
    segs: I,
    entries: u16,
    emitted: u16,
}

/// Summary of a scatter list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SegmentPlan {
    /// Number of segments.
    pub dseg_count: u16,
    /// Ring entries needed (CTIO7 + continuations).
    pub entries: u16,
    /// Sum of segment lengths.
    pub total_len: u64,
}

/// Counts a scatter list; fails past [`MAX_DSEGS`].
pub fn plan_segments<I: Iterator<Item = (u64, u32)>>(segs: I) -> Result<SegmentPlan, RingError> {
    let mut n = 0usize;
    let mut total = 0u64;
    for (_, len) in segs {
        n = n.saturating_add(1);
        if n > MAX_DSEGS {
            return Err(RingError::TooManySegments);
        }
        total = total.saturating_add(u64::from(len));
    }
    Ok(SegmentPlan {
        dseg_count: n as u16,
        entries: ctio7_entries(n) as u16,
        total_len: total,
    })
}

impl<I: Iterator<Item = (u64, u32)> + Clone> DataSegments<I> {
    /// Prepares the entries. `template` must be a mode-0 CTIO7 (relative offset, flags set);
    /// its `dseg_count`, `entry_count`, inline segment and transfer length are filled here
    /// (transfer length = sum of segments, which must fit 32 bits).
    pub fn new(template: &Ctio7, segs: I) -> Result<Self, RingError> {
        let plan = plan_segments(segs.clone())?;
        let Ctio7Body::Mode0 {
            relative_offset, ..
        } = template.body
        else {
            return Err(RingError::NotMode0);
        };
        let transfer_length =
            u32::try_from(plan.total_len).map_err(|_| RingError::TooManySegments)?;
        let mut segs = segs;
        let dsd = segs
            .next()
            .map(|(addr, len)| Dsd64 { addr, len })
            .unwrap_or_default();
        let mut ctio = *template;
        ctio.entry_count = plan.entries as u8;
        ctio.dseg_count = plan.dseg_count;
        ctio.body = Ctio7Body::Mode0 {
            relative_offset,
            transfer_length,
            dsd,
        };
        Ok(DataSegments {
            ctio,
            segs,
            entries: plan.entries,
            emitted: 0,
        })
    }

    /// Total ring entries (CTIO7 + continuations).
    pub const fn entries(&self) -> u16 {
        self.entries
    }

    /// The CTIO7 as it will be written.
    pub const fn ctio(&self) -> &Ctio7 {
        &self.ctio
    }
}

impl<I: Iterator<Item = (u64, u32)>> Iterator for DataSegments<I> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.emitted >= self.entries {
            return None;
        }
        self.emitted = self.emitted.saturating_add(1);
        if self.emitted == 1 {
            return Some(self.ctio.encode());
        }
        let mut cont = ContA64::default();
        for d in cont.dsds.iter_mut().take(DSDS_PER_CONT) {
            match self.segs.next() {
                Some((addr, len)) => *d = Dsd64 { addr, len },
                None => break,
            }
        }
        Some(cont.encode())
    }
}
