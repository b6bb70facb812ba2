//! MODE SENSE(6/10) and MODE SELECT(6/10) with the read-write error recovery (01h),
//! caching (08h) and control (0Ah) pages. Changeable: caching WCE, control D_SENSE and SWP.
//! Saved values are not implemented (SAVING PARAMETERS NOT SUPPORTED).

use crate::backend::DataBuffer;
use crate::cdb::{be16, byte, OpInfo};
use crate::device::{DeviceConfig, LuState};
use crate::exec::{data_out, CmdContext, DataIn, Fail, Hooks, Xfer};
use crate::types::{Asc, Sense, SenseKey};

/// Read-write error recovery mode page.
pub const PAGE_RW_ERROR_RECOVERY: u8 = 0x01;
/// Caching mode page.
pub const PAGE_CACHING: u8 = 0x08;
/// Control mode page.
pub const PAGE_CONTROL: u8 = 0x0a;
/// "Return all pages".
pub const PAGE_ALL: u8 = 0x3f;

const PAGES: [u8; 3] = [PAGE_RW_ERROR_RECOVERY, PAGE_CACHING, PAGE_CONTROL];
const MAX_PAGE: usize = 20;

/// Page control field of MODE SENSE.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pc {
    Current,
    Changeable,
    Default,
}

/// Mode values a page is built from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Values {
    wce: bool,
    d_sense: bool,
    swp: bool,
}

impl Values {
    fn current(st: &LuState) -> Self {
        Values {
            wce: st.wce(),
            d_sense: st.d_sense(),
            swp: st.swp(),
        }
    }
}

/// Page length (after the 2-byte header) of a supported page.
fn page_len(page: u8) -> Option<usize> {
    match page {
        PAGE_RW_ERROR_RECOVERY | PAGE_CONTROL => Some(10),
        PAGE_CACHING => Some(18),
        _ => None,
    }
}

/// Builds `page` (header included); returns its total length.
fn build_page(
    page: u8,
    pc: Pc,
    cfg: &DeviceConfig,
    cur: Values,
    out: &mut [u8; MAX_PAGE],
) -> usize {
    *out = [0; MAX_PAGE];
    let Some(len) = page_len(page) else { return 0 };
    out[0] = page;
    out[1] = len as u8;
    let v = match pc {
        Pc::Current => cur,
        Pc::Default => Values {
            wce: cfg.write_cache,
            d_sense: false,
            swp: false,
        },
        Pc::Changeable => Values {
            wce: true,
            d_sense: true,
            swp: true,
        },
    };
    match page {
        PAGE_CACHING if v.wce => out[2] |= 0x04,
        PAGE_CONTROL => {
            if v.d_sense {
                out[2] |= 0x04;
            }
            if pc != Pc::Changeable {
                out[3] = 0x10; // queue algorithm modifier 1: unrestricted reordering
            }
            if v.swp {
                out[4] |= 0x08;
            }
            if cfg.tas && pc != Pc::Changeable {
                out[5] |= 0x40; // TAS (not changeable)
            }
        }
        _ => {}
    }
    len + 2
}

/// MODE SENSE(6) / MODE SENSE(10).
pub fn mode_sense<D: DataBuffer + ?Sized>(
    cfg: &DeviceConfig,
    st: &LuState,
    op: &OpInfo,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let ten = op.cdb_len == 10;
    let dbd = byte(cdb, 1) & 0x08 != 0;
    let long_lba = ten && byte(cdb, 1) & 0x10 != 0;
    let pc = match byte(cdb, 2) >> 6 {
        0 => Pc::Current,
        1 => Pc::Changeable,
        2 => Pc::Default,
        _ => {
            return Err(Fail::Check(Sense {
                field: Some(crate::types::FieldPointer {
                    in_cdb: true,
                    byte: 2,
                    bit: Some(7),
                }),
                ..Sense::new(
                    SenseKey::IllegalRequest,
                    Asc::SAVING_PARAMETERS_NOT_SUPPORTED,
                )
            }))
        }
    };
    let page = byte(cdb, 2) & 0x3f;
    let sub = byte(cdb, 3);
    if sub != 0x00 && sub != 0xff {
        return Err(Fail::Check(Sense::invalid_cdb_field(3, Some(7))));
    }
    let wanted: &[u8] = match page {
        PAGE_ALL => &PAGES,
        PAGE_RW_ERROR_RECOVERY => &PAGES[0..1],
        PAGE_CACHING => &PAGES[1..2],
        PAGE_CONTROL => &PAGES[2..3],
        _ => return Err(Fail::Check(Sense::invalid_cdb_field(2, Some(5)))),
    };
    let alloc = if ten {
        usize::from(be16(cdb, 7))
    } else {
        usize::from(byte(cdb, 4))
    };

    let mut data = [0u8; 8 + 16 + 12 + 20 + 12];
    let hdr = if ten { 8 } else { 4 };
    let mut len = hdr;
    let bd_len = match (dbd, long_lba) {
        (true, _) => 0,
        (false, false) => 8,
        (false, true) => 16,
    };
    if let Some(bd) = data.get_mut(len..len + bd_len) {
        if bd_len == 16 {
            bd[0..8].copy_from_slice(&cfg.blocks.to_be_bytes());
            bd[12..16].copy_from_slice(&cfg.block_size.to_be_bytes());
        } else if bd_len == 8 {
            let blocks = u32::try_from(cfg.blocks).unwrap_or(u32::MAX);
            bd[0..4].copy_from_slice(&blocks.to_be_bytes());
            bd[4..8].copy_from_slice(&cfg.block_size.to_be_bytes());
            bd[4] = 0; // density code
        }
    }
    len += bd_len;
    let cur = Values::current(st);
    let mut page_buf = [0u8; MAX_PAGE];
    for &p in wanted {
        let n = build_page(p, pc, cfg, cur, &mut page_buf);
        if let (Some(dst), Some(src)) = (data.get_mut(len..len + n), page_buf.get(..n)) {
            dst.copy_from_slice(src);
        }
        len += n;
    }
    let mut dev_specific = 0x10; // DPOFUA
    if cfg.read_only || cur.swp {
        dev_specific |= 0x80; // WP
    }
    if ten {
        data[0..2].copy_from_slice(&((len - 2) as u16).to_be_bytes());
        data[3] = dev_specific;
        data[4] = u8::from(bd_len == 16); // LONGLBA
        data[6..8].copy_from_slice(&(bd_len as u16).to_be_bytes());
    } else {
        data[0] = (len - 1) as u8;
        data[2] = dev_specific;
        data[3] = bd_len as u8;
    }
    let mut out = DataIn::new(buf, alloc);
    out.put(data.get(..len).unwrap_or(&data));
    Ok(out.done())
}

fn list_length_error() -> Fail {
    Fail::Check(Sense::new(
        SenseKey::IllegalRequest,
        Asc::PARAMETER_LIST_LENGTH_ERROR,
    ))
}

fn param_field(byte: usize, bit: Option<u8>) -> Fail {
    Fail::Check(Sense::invalid_param_field(
        u16::try_from(byte).unwrap_or(u16::MAX),
        bit,
    ))
}

/// MODE SELECT(6) / MODE SELECT(10). Validates the whole parameter list before changing
/// anything; reports changes through [`Hooks::mode_parameters_changed`].
pub fn mode_select<D: DataBuffer + ?Sized, H: Hooks>(
    cfg: &DeviceConfig,
    st: &LuState,
    ctx: &CmdContext<'_>,
    op: &OpInfo,
    cdb: &[u8],
    buf: &D,
    hooks: &mut H,
) -> Result<Xfer, Fail> {
    let ten = op.cdb_len == 10;
    if byte(cdb, 1) & 0x01 != 0 {
        return Err(Fail::Check(Sense::invalid_cdb_field(1, Some(0)))); // SP: no saved pages
    }
    let plen = if ten {
        usize::from(be16(cdb, 7))
    } else {
        usize::from(byte(cdb, 4))
    };
    if plen == 0 {
        return Ok(Xfer::NONE);
    }
    let x = data_out(buf.len(), plen as u64)?;
    let hdr_len = if ten { 8 } else { 4 };
    let mut hdr = [0u8; 8];
    if plen < hdr_len || buf.read_at(0, &mut hdr[..hdr_len]) != hdr_len {
        return Err(list_length_error());
    }
    let (bd_len, long_lba) = if ten {
        (usize::from(be16(&hdr, 6)), hdr[4] & 0x01 != 0)
    } else {
        (usize::from(hdr[3]), false)
    };
    let bd_size = if long_lba { 16 } else { 8 };
    let pages_at = hdr_len + bd_len;
    if pages_at > plen {
        return Err(list_length_error());
    }
    if bd_len % bd_size != 0 {
        return Err(param_field(if ten { 6 } else { 3 }, None));
    }
    let mut off = hdr_len;
    while off < pages_at {
        let mut bd = [0u8; 16];
        buf.read_at(off, &mut bd[..bd_size]);
        let (blocks, blen_off) = if long_lba {
            (crate::cdb::be64(&bd, 0), 12)
        } else {
            (u64::from(crate::cdb::be32(&bd, 0)), 5)
        };
        let our_blocks = if long_lba {
            cfg.blocks
        } else {
            cfg.blocks.min(u64::from(u32::MAX))
        };
        if blocks != 0 && blocks != our_blocks {
            return Err(param_field(off, None));
        }
        let blen = if long_lba {
            crate::cdb::be32(&bd, 12)
        } else {
            crate::cdb::be24(&bd, 5)
        };
        if blen != cfg.block_size {
            return Err(param_field(off + blen_off, None));
        }
        off += bd_size;
    }
    let cur = Values::current(st);
    let mut new = cur;
    let mut cur_page = [0u8; MAX_PAGE];
    let mut mask = [0u8; MAX_PAGE];
    while off < plen {
        let mut ph = [0u8; 2];
        if plen - off < 2 || buf.read_at(off, &mut ph) != 2 {
            return Err(list_length_error());
        }
        if ph[0] & 0x40 != 0 {
            return Err(param_field(off, Some(6))); // no subpages
        }
        let page = ph[0] & 0x3f;
        let Some(len) = page_len(page) else {
            return Err(param_field(off, Some(5)));
        };
        if usize::from(ph[1]) != len {
            return Err(param_field(off + 1, Some(7)));
        }
        if plen - off < len + 2 {
            return Err(list_length_error());
        }
        let mut p = [0u8; MAX_PAGE];
        buf.read_at(off, &mut p[..len + 2]);
        build_page(page, Pc::Current, cfg, cur, &mut cur_page);
        build_page(page, Pc::Changeable, cfg, cur, &mut mask);
        let bytes = p
            .iter()
            .zip(&cur_page)
            .zip(&mask)
            .enumerate()
            .take(len + 2)
            .skip(2);
        for (i, ((new_b, cur_b), m)) in bytes {
            let bad = (new_b ^ cur_b) & !m;
            if bad != 0 {
                let bit = 7u32.saturating_sub(bad.leading_zeros()) as u8;
                return Err(param_field(off + i, Some(bit)));
            }
        }
        match page {
            PAGE_CACHING => new.wce = p[2] & 0x04 != 0,
            PAGE_CONTROL => {
                new.d_sense = p[2] & 0x04 != 0;
                new.swp = p[4] & 0x08 != 0;
            }
            _ => {}
        }
        off += len + 2;
    }
    if new != cur {
        st.set_wce(new.wce);
        st.set_d_sense(new.d_sense);
        st.set_swp(new.swp);
        hooks.mode_parameters_changed(ctx);
    }
    Ok(x)
}
