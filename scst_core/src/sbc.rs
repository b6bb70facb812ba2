//! SBC-3 block commands: READ/WRITE(6/10/12/16), WRITE AND VERIFY, VERIFY, SYNCHRONIZE
//! CACHE, READ CAPACITY(10/16), START STOP UNIT, UNMAP, WRITE SAME(10/16), COMPARE AND
//! WRITE, GET LBA STATUS.

use crate::backend::{Backend, Compare, DataBuffer};
use crate::cdb::{be16, be32, be64, byte, lba_range, OpInfo};
use crate::device::DeviceConfig;
use crate::exec::{data_out, DataIn, Fail, Lu, Xfer};
use crate::sense;
use crate::types::{Asc, Sense, SenseKey};

/// LBA OUT OF RANGE unless `lba` is a valid LBA and `lba + blocks` does not pass the
/// capacity (so even a zero-length command must name an existing LBA).
pub fn check_range(cfg: &DeviceConfig, lba: u64, blocks: u64) -> Result<(), Fail> {
    match lba.checked_add(blocks) {
        Some(end) if lba < cfg.blocks && end <= cfg.blocks => Ok(()),
        _ => Err(Fail::Check(Sense::lba_out_of_range())),
    }
}

fn miscompare(offset: u64) -> Fail {
    Fail::Check(Sense {
        key: SenseKey::Miscompare,
        asc: sense::MISCOMPARE_DURING_VERIFY,
        field: None,
        information: Some(offset),
    })
}

/// Decoded block range with the 6-byte "0 means 256" rule and the transfer limit applied.
fn media_range(
    cfg: &DeviceConfig,
    op: &OpInfo,
    cdb: &[u8],
    limit: bool,
) -> Result<(u64, u64), Fail> {
    let r = lba_range(cdb, op.cdb_len);
    let blocks = if op.cdb_len == 6 && r.blocks == 0 {
        256
    } else {
        u64::from(r.blocks)
    };
    if limit && cfg.max_xfer_blocks != 0 && blocks > u64::from(cfg.max_xfer_blocks) {
        return Err(Fail::Check(Sense::invalid_cdb_field(r.len_byte, None)));
    }
    check_range(cfg, r.lba, blocks)?;
    Ok((r.lba, blocks))
}

/// Bytes in `blocks` blocks (fits: blocks < 2^32, block size <= 4096).
fn bytes(cfg: &DeviceConfig, blocks: u64) -> u64 {
    blocks.saturating_mul(u64::from(cfg.block_size))
}

/// READ(6/10/12/16). A buffer shorter than the transfer gets the blocks that fit (overrun
/// residual); a longer one an underrun residual.
pub fn read<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    op: &OpInfo,
    cdb: &[u8],
    buf: &mut B::Buf,
) -> Result<Xfer, Fail> {
    let (lba, blocks) = media_range(lu.config, op, cdb, true)?;
    if blocks == 0 {
        return Ok(Xfer::NONE);
    }
    let bs = lu.config.block_size as usize;
    let fit = blocks.min((buf.len() / bs.max(1)) as u64);
    if fit > 0 {
        let n = u32::try_from(fit).map_err(|_| Fail::Check(Sense::invalid_cdb_field(0, None)))?;
        lu.backend.read(lba, n, buf, 0)?;
    }
    let moved = usize::try_from(bytes(lu.config, fit)).unwrap_or(usize::MAX);
    Ok(Xfer {
        wanted: bytes(lu.config, blocks),
        moved,
    })
}

/// WRITE(6/10/12/16) and WRITE AND VERIFY(10/16) (`verify`: written with FUA, which
/// makes the verification of freshly written data trivially succeed).
pub fn write<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    op: &OpInfo,
    cdb: &[u8],
    buf: &B::Buf,
    verify: bool,
) -> Result<Xfer, Fail> {
    let (lba, blocks) = media_range(lu.config, op, cdb, true)?;
    if blocks == 0 {
        return Ok(Xfer::NONE);
    }
    let fua_bit = op.cdb_len != 6 && byte(cdb, 1) & 0x08 != 0;
    let fua = fua_bit || verify || !lu.state.wce();
    let x = data_out(buf.len(), bytes(lu.config, blocks))?;
    let n = u32::try_from(blocks).map_err(|_| Fail::Check(Sense::invalid_cdb_field(0, None)))?;
    lu.backend.write(lba, n, buf, 0, fua)?;
    Ok(x)
}

/// VERIFY(10/16): BYTCHK 00b checks the range only, 01b compares the data-out with the
/// medium (MISCOMPARE with the offset in INFORMATION).
pub fn verify<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    op: &OpInfo,
    cdb: &[u8],
    buf: &B::Buf,
) -> Result<Xfer, Fail> {
    let bytchk = (byte(cdb, 1) >> 1) & 0x03;
    if bytchk > 1 {
        return Err(Fail::Check(Sense::invalid_cdb_field(1, Some(2))));
    }
    let (lba, blocks) = media_range(lu.config, op, cdb, bytchk == 1)?;
    if blocks == 0 || bytchk == 0 {
        return Ok(Xfer::NONE);
    }
    let x = data_out(buf.len(), bytes(lu.config, blocks))?;
    let n = u32::try_from(blocks).map_err(|_| Fail::Check(Sense::invalid_cdb_field(0, None)))?;
    match lu.backend.compare(lba, n, buf, 0)? {
        Compare::Match => Ok(x),
        Compare::Miscompare { offset } => Err(miscompare(offset)),
    }
}

/// SYNCHRONIZE CACHE(10/16): range-checked full flush (0 blocks = to the end).
pub fn synchronize_cache<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    op: &OpInfo,
    cdb: &[u8],
) -> Result<Xfer, Fail> {
    let r = lba_range(cdb, op.cdb_len);
    check_range(lu.config, r.lba, r.blocks.into())?;
    lu.backend.flush()?;
    Ok(Xfer::NONE)
}

/// START STOP UNIT: START=1 starts, START=0 flushes (unless NO_FLUSH) and stops; LOEJ is
/// ignored (no removable medium). Power conditions are refused by the usage mask.
pub fn start_stop_unit<B: Backend + ?Sized>(lu: &Lu<'_, B>, cdb: &[u8]) -> Result<Xfer, Fail> {
    let b4 = byte(cdb, 4);
    if b4 & 0x01 != 0 {
        lu.state.set_stopped(false);
    } else {
        if b4 & 0x04 == 0 {
            lu.backend.flush()?;
        }
        lu.state.set_stopped(true);
    }
    Ok(Xfer::NONE)
}

/// READ CAPACITY(10): last LBA (FFFFFFFFh when it does not fit) and block length.
pub fn read_capacity10<D: DataBuffer + ?Sized>(
    cfg: &DeviceConfig,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    if byte(cdb, 8) & 0x01 == 0 && be32(cdb, 2) != 0 {
        return Err(Fail::Check(Sense::invalid_cdb_field(2, None)));
    }
    let last = u32::try_from(cfg.last_lba()).unwrap_or(u32::MAX);
    let mut d = [0u8; 8];
    d[0..4].copy_from_slice(&last.to_be_bytes());
    d[4..8].copy_from_slice(&cfg.block_size.to_be_bytes());
    let mut out = DataIn::new(buf, 8);
    out.put(&d);
    Ok(out.done())
}

/// READ CAPACITY(16): last LBA, block length, physical block exponent, LBPME/LBPRZ.
pub fn read_capacity16<D: DataBuffer + ?Sized>(
    cfg: &DeviceConfig,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    if byte(cdb, 14) & 0x01 == 0 && be64(cdb, 2) != 0 {
        return Err(Fail::Check(Sense::invalid_cdb_field(2, None)));
    }
    let mut d = [0u8; 32];
    d[0..8].copy_from_slice(&cfg.last_lba().to_be_bytes());
    d[8..12].copy_from_slice(&cfg.block_size.to_be_bytes());
    d[13] = cfg.physical_block_exp & 0x0f;
    if cfg.thin {
        d[14] = 0x80; // LBPME
        if cfg.lbprz {
            d[14] |= 0x40; // LBPRZ
        }
    }
    let mut out = DataIn::new(buf, usize::try_from(be32(cdb, 10)).unwrap_or(usize::MAX));
    out.put(&d);
    Ok(out.done())
}

/// GET LBA STATUS: provisioning descriptors from the starting LBA until the allocation
/// length is used up or the capacity ends (at least one descriptor is always counted).
pub fn get_lba_status<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    cdb: &[u8],
    buf: &mut B::Buf,
) -> Result<Xfer, Fail> {
    let cfg = lu.config;
    let start = be64(cdb, 2);
    if start >= cfg.blocks {
        return Err(Fail::Check(Sense::lba_out_of_range()));
    }
    let mut out = DataIn::new(buf, usize::try_from(be32(cdb, 10)).unwrap_or(usize::MAX));
    out.put(&[0; 8]); // header, length patched below
    let mut lba = start;
    let mut first = true;
    while lba < cfg.blocks && (first || !out.full()) {
        first = false;
        let (mapped, extent) = lu.backend.lba_status(lba)?;
        let extent = extent.min(cfg.blocks - lba).min(u64::from(u32::MAX));
        if extent == 0 {
            break;
        }
        let mut d = [0u8; 16];
        d[0..8].copy_from_slice(&lba.to_be_bytes());
        d[8..12].copy_from_slice(&(extent as u32).to_be_bytes());
        d[12] = if mapped { 0 } else { 1 }; // mapped / deallocated
        out.put(&d);
        lba = lba.saturating_add(extent);
    }
    let param_len = u32::try_from(out.pos().saturating_sub(4)).unwrap_or(u32::MAX);
    out.put_at(0, &param_len.to_be_bytes());
    Ok(out.done())
}

/// WRITE SAME(10/16) with UNMAP and (16 only) NDOB. WSNZ: zero blocks are refused.
pub fn write_same<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    op: &OpInfo,
    cdb: &[u8],
    buf: &B::Buf,
) -> Result<Xfer, Fail> {
    let cfg = lu.config;
    let r = lba_range(cdb, op.cdb_len);
    let b1 = byte(cdb, 1);
    let unmap = b1 & 0x08 != 0;
    let ndob = op.cdb_len == 16 && b1 & 0x01 != 0;
    let blocks = u64::from(r.blocks);
    if blocks == 0 || (cfg.max_write_same_blocks != 0 && blocks > cfg.max_write_same_blocks) {
        return Err(Fail::Check(Sense::invalid_cdb_field(r.len_byte, None)));
    }
    if unmap && !cfg.thin {
        return Err(Fail::Check(Sense::invalid_cdb_field(1, Some(3))));
    }
    check_range(cfg, r.lba, blocks)?;
    if ndob {
        lu.backend.write_same(r.lba, blocks, None, unmap)?;
        return Ok(Xfer::NONE);
    }
    let x = data_out(buf.len(), u64::from(cfg.block_size))?;
    lu.backend.write_same(r.lba, blocks, Some(buf), unmap)?;
    Ok(x)
}

fn list_length_error() -> Fail {
    Fail::Check(Sense::new(
        SenseKey::IllegalRequest,
        Asc::PARAMETER_LIST_LENGTH_ERROR,
    ))
}

/// UNMAP: validates every block descriptor (count, per-descriptor length, range) before
/// deallocating anything.
pub fn unmap<B: Backend + ?Sized>(lu: &Lu<'_, B>, cdb: &[u8], buf: &B::Buf) -> Result<Xfer, Fail> {
    let cfg = lu.config;
    let plen = usize::from(be16(cdb, 7));
    if plen == 0 {
        return Ok(Xfer::NONE);
    }
    let x = data_out(buf.len(), plen as u64)?;
    let mut hdr = [0u8; 8];
    if plen < 8 || buf.read_at(0, &mut hdr) != 8 {
        return Err(list_length_error());
    }
    let data_len = usize::from(be16(&hdr, 0));
    let bd_len = usize::from(be16(&hdr, 2));
    if data_len > plen - 2 || bd_len > plen - 8 {
        return Err(list_length_error());
    }
    let count = bd_len / 16;
    if count > cfg.max_unmap_descriptors as usize {
        return Err(Fail::Check(Sense::invalid_param_field(2, None)));
    }
    let desc = |i: usize| -> (u64, u64, usize) {
        let off = 8 + 16 * i;
        let mut d = [0u8; 16];
        buf.read_at(off, &mut d);
        (be64(&d, 0), u64::from(be32(&d, 8)), off)
    };
    for i in 0..count {
        let (lba, n, off) = desc(i);
        if n > u64::from(cfg.max_unmap_blocks) {
            return Err(Fail::Check(Sense::invalid_param_field(
                (off + 8) as u16,
                None,
            )));
        }
        check_range(cfg, lba, n)?;
    }
    for i in 0..count {
        let (lba, n, _) = desc(i);
        if n > 0 {
            lu.backend.unmap(lba, n)?;
        }
    }
    Ok(x)
}

/// COMPARE AND WRITE: data-out holds the verify data then the write data (2 x blocks).
pub fn compare_and_write<B: Backend + ?Sized>(
    lu: &Lu<'_, B>,
    cdb: &[u8],
    buf: &B::Buf,
) -> Result<Xfer, Fail> {
    let cfg = lu.config;
    let lba = be64(cdb, 2);
    let n = byte(cdb, 13);
    if n > cfg.max_caw_blocks {
        return Err(Fail::Check(Sense::invalid_cdb_field(13, None)));
    }
    check_range(cfg, lba, n.into())?;
    if n == 0 {
        return Ok(Xfer::NONE);
    }
    let x = data_out(buf.len(), bytes(cfg, 2 * u64::from(n)))?;
    match lu.backend.compare_and_write(lba, n.into(), buf)? {
        Compare::Match => Ok(x),
        Compare::Miscompare { offset } => Err(miscompare(offset)),
    }
}
