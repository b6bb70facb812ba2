//! SPC-4 primary commands: INQUIRY (standard data and VPD pages), REQUEST SENSE, REPORT
//! LUNS, REPORT TARGET PORT GROUPS, REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK
//! MANAGEMENT FUNCTIONS.

use crate::backend::DataBuffer;
use crate::cdb::{self, be16, be32, byte, OpInfo};
use crate::device::{DeviceConfig, LuState};
use crate::exec::{supported, DataIn, Fail, Hooks, Xfer};
use crate::sense;
use crate::types::{Asc, Sense, SenseKey};

/// Version descriptors in standard INQUIRY data: SAM-5, SPC-4, SBC-3, FCP-4.
const VERSION_DESCRIPTORS: [u16; 4] = [0x00a0, 0x0460, 0x04c0, 0x0a40];
/// Length of our standard INQUIRY data.
pub const STD_INQUIRY_LEN: usize = 74;

/// REQUEST SENSE: returns the nexus's pending sense (or NOT READY when stopped, else NO
/// SENSE) as parameter data, in descriptor format when DESC is set.
pub fn request_sense<D: DataBuffer + ?Sized>(
    state: Option<&LuState>,
    ctx: &crate::exec::CmdContext<'_>,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let desc = byte(cdb, 1) & 0x01 != 0;
    let alloc = usize::from(byte(cdb, 4));
    let s = match (ctx.pending_sense, state) {
        (Some(s), _) => s,
        (None, Some(st)) if st.stopped() => {
            Sense::new(SenseKey::NotReady, Asc::LU_NOT_READY_STOPPED)
        }
        _ => sense::no_sense(),
    };
    let mut tmp = [0u8; sense::MAX_SENSE_LEN];
    let n = sense::format(&s, desc, &mut tmp);
    let mut out = DataIn::new(buf, alloc);
    out.put(tmp.get(..n).unwrap_or(&[]));
    Ok(out.done())
}

fn std_inquiry(cfg: Option<&DeviceConfig>) -> [u8; STD_INQUIRY_LEN] {
    let mut d = [0u8; STD_INQUIRY_LEN];
    d[0] = if cfg.is_some() { 0x00 } else { 0x7f }; // PQ 011b + PDT 1Fh: no LU here
    d[2] = 0x06; // SPC-4
    d[3] = 0x12; // HISUP, response data format 2
    d[4] = (STD_INQUIRY_LEN - 5) as u8;
    if cfg.is_some() {
        d[5] = 0x10; // TPGS 01b: implicit ALUA
        d[7] = 0x02; // CMDQUE
    }
    let (vendor, product, revision) = match cfg {
        Some(c) => (c.vendor, c.product, c.revision),
        None => {
            let c = DeviceConfig::new(0);
            (c.vendor, *b"                ", c.revision)
        }
    };
    d[8..16].copy_from_slice(&vendor);
    d[16..32].copy_from_slice(&product);
    d[32..36].copy_from_slice(&revision);
    for (i, v) in VERSION_DESCRIPTORS.iter().enumerate() {
        let off = 58 + 2 * i;
        d[off..off + 2].copy_from_slice(&v.to_be_bytes());
    }
    d
}

/// INQUIRY for a LUN without a logical unit: standard data with peripheral qualifier 011b.
pub fn inquiry_no_lu<D: DataBuffer + ?Sized>(cdb: &[u8], buf: &mut D) -> Result<Xfer, Fail> {
    if byte(cdb, 1) & 0x01 != 0 || byte(cdb, 2) != 0 {
        return Err(Fail::Check(Sense::new(
            SenseKey::IllegalRequest,
            Asc::LU_NOT_SUPPORTED,
        )));
    }
    let mut out = DataIn::new(buf, usize::from(be16(cdb, 3)));
    out.put(&std_inquiry(None));
    Ok(out.done())
}

/// INQUIRY: standard data or a VPD page (00h, 80h, 83h, B0h, B1h, B2h when thin).
pub fn inquiry<D: DataBuffer + ?Sized>(
    cfg: &DeviceConfig,
    ctx: &crate::exec::CmdContext<'_>,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let evpd = byte(cdb, 1) & 0x01 != 0;
    let page = byte(cdb, 2);
    let mut out = DataIn::new(buf, usize::from(be16(cdb, 3)));
    if !evpd {
        if page != 0 {
            return Err(Fail::Check(Sense::invalid_cdb_field(2, Some(7))));
        }
        out.put(&std_inquiry(Some(cfg)));
        return Ok(out.done());
    }
    match page {
        0x00 => {
            let mut p = [0u8; 10];
            let pages: &[u8] = if cfg.thin {
                &[0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]
            } else {
                &[0x00, 0x80, 0x83, 0xb0, 0xb1]
            };
            p[1] = 0x00;
            p[3] = pages.len() as u8;
            let n = 4 + pages.len();
            if let Some(dst) = p.get_mut(4..n) {
                dst.copy_from_slice(pages);
            }
            out.put(p.get(..n).unwrap_or(&p));
        }
        0x80 => {
            let serial = cfg.serial();
            out.put(&[0x00, 0x80, 0x00, serial.len() as u8]);
            out.put(serial);
        }
        0x83 => device_identification(cfg, ctx, &mut out),
        0xb0 => block_limits(cfg, &mut out),
        0xb1 => {
            let mut p = [0u8; 64];
            p[1] = 0xb1;
            p[3] = 0x3c;
            p[4..6].copy_from_slice(&cfg.rotation_rate.to_be_bytes());
            out.put(&p);
        }
        0xb2 if cfg.thin => {
            let mut flags = 0x80 | 0x40 | 0x20; // LBPU, LBPWS, LBPWS10
            if cfg.lbprz {
                flags |= 0x04;
            }
            out.put(&[0x00, 0xb2, 0x00, 0x04, 0x00, flags, 0x02, 0x00]); // provisioning type: thin
        }
        _ => return Err(Fail::Check(Sense::invalid_cdb_field(2, Some(7)))),
    }
    Ok(out.done())
}

/// VPD 83h designator header: code set, PIV/association/type, length.
fn designator<D: DataBuffer + ?Sized>(out: &mut DataIn<'_, D>, b0: u8, b1: u8, body: &[u8]) {
    out.put(&[b0, b1, 0, body.len() as u8]);
    out.put(body);
}

fn device_identification<D: DataBuffer + ?Sized>(
    cfg: &DeviceConfig,
    ctx: &crate::exec::CmdContext<'_>,
    out: &mut DataIn<'_, D>,
) {
    let serial = cfg.serial();
    let t10_len = 8 + if serial.is_empty() {
        cfg.product.len()
    } else {
        serial.len()
    };
    let total = (4 + 16) + (4 + t10_len) + (4 + 4) + (4 + 8) + (4 + 4);
    out.put(&[0x00, 0x83]);
    out.put(&(total as u16).to_be_bytes());
    // Logical unit: NAA IEEE Registered Extended (binary, association LU, type 3).
    designator(out, 0x01, 0x03, &cfg.naa);
    // Logical unit: T10 vendor ID (ASCII, type 1): vendor + serial (or product).
    out.put(&[0x02, 0x01, 0, t10_len as u8]);
    out.put(&cfg.vendor);
    out.put(if serial.is_empty() {
        &cfg.product
    } else {
        serial
    });
    // Target port designators: protocol FCP (0), PIV set, association 01b.
    let [r0, r1] = ctx.rel_port_id.to_be_bytes();
    designator(out, 0x01, 0x94, &[0, 0, r0, r1]); // relative target port
    designator(out, 0x01, 0x93, &ctx.target_wwpn.to_be_bytes()); // FC target port NAA
    let [g0, g1] = ctx.tpg_id.to_be_bytes();
    designator(out, 0x01, 0x95, &[0, 0, g0, g1]); // target port group
}

fn block_limits<D: DataBuffer + ?Sized>(cfg: &DeviceConfig, out: &mut DataIn<'_, D>) {
    let mut p = [0u8; 64];
    p[1] = 0xb0;
    p[3] = 0x3c;
    p[4] = 0x01; // WSNZ: WRITE SAME with zero blocks is refused
    p[5] = cfg.max_caw_blocks;
    let gran: u16 = 1u16
        .checked_shl(u32::from(cfg.physical_block_exp))
        .unwrap_or(1);
    p[6..8].copy_from_slice(&gran.to_be_bytes());
    p[8..12].copy_from_slice(&cfg.max_xfer_blocks.to_be_bytes());
    p[12..16].copy_from_slice(&cfg.opt_xfer_blocks.to_be_bytes());
    if cfg.thin {
        p[20..24].copy_from_slice(&cfg.max_unmap_blocks.to_be_bytes());
        p[24..28].copy_from_slice(&cfg.max_unmap_descriptors.to_be_bytes());
        p[28..32].copy_from_slice(&cfg.unmap_granularity.to_be_bytes());
    }
    p[36..44].copy_from_slice(&cfg.max_write_same_blocks.to_be_bytes());
    out.put(&p);
}

/// REPORT LUNS with SELECT REPORT 00h/02h (the nexus's LUNs) or 01h (well-known LUs: none).
pub fn report_luns<D: DataBuffer + ?Sized>(
    ctx: &crate::exec::CmdContext<'_>,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let alloc = be32(cdb, 6);
    if alloc < 16 {
        return Err(Fail::Check(Sense::invalid_cdb_field(6, None)));
    }
    let luns = match byte(cdb, 2) {
        0x00 | 0x02 => ctx.luns,
        0x01 => &[],
        _ => return Err(Fail::Check(Sense::invalid_cdb_field(2, None))),
    };
    let list_len = u32::try_from(luns.len())
        .ok()
        .and_then(|n| n.checked_mul(8))
        .unwrap_or(!7);
    let mut out = DataIn::new(buf, usize::try_from(alloc).unwrap_or(usize::MAX));
    out.put(&list_len.to_be_bytes());
    out.put(&[0; 4]);
    for lun in luns {
        if out.full() {
            break;
        }
        out.put(&lun.to_be_bytes());
    }
    out.seek(8usize.saturating_add(usize::try_from(list_len).unwrap_or(usize::MAX)));
    Ok(out.done())
}

/// REPORT TARGET PORT GROUPS: one group, active/optimized, holding the context's ports.
pub fn report_target_port_groups<D: DataBuffer + ?Sized>(
    ctx: &crate::exec::CmdContext<'_>,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let extended = byte(cdb, 1) & 0xe0 == 0x20;
    let own = [ctx.rel_port_id];
    let ports = if ctx.tpg_ports.is_empty() {
        &own[..]
    } else {
        ctx.tpg_ports
    };
    let ports = ports.get(..ports.len().min(255)).unwrap_or(&[]);
    let header = if extended { 8 } else { 4 };
    let total = header + 8 + 4 * ports.len();
    let mut out = DataIn::new(buf, usize::try_from(be32(cdb, 6)).unwrap_or(usize::MAX));
    out.put(&((total - 4) as u32).to_be_bytes());
    if extended {
        out.put(&[0x10, 0, 0, 0]); // format type 1, implicit transition time 0
    }
    let [g0, g1] = ctx.tpg_id.to_be_bytes();
    // Active/optimized, only that state supported, status code 0.
    out.put(&[0x00, 0x01, g0, g1, 0, 0, 0, ports.len() as u8]);
    for p in ports {
        let [p0, p1] = p.to_be_bytes();
        out.put(&[0, 0, p0, p1]);
    }
    Ok(out.done())
}

/// Command timeouts descriptor (nominal and recommended timeouts not specified).
const TIMEOUTS: [u8; 12] = [0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// REPORT SUPPORTED OPERATION CODES, reporting options 000b-011b, with RCTD.
pub fn report_supported_opcodes<D: DataBuffer + ?Sized, H: Hooks>(
    cfg: &DeviceConfig,
    hooks: &H,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let rctd = byte(cdb, 2) & 0x80 != 0;
    let req_op = byte(cdb, 3);
    let req_sa = be16(cdb, 4);
    let mut out = DataIn::new(buf, usize::try_from(be32(cdb, 6)).unwrap_or(usize::MAX));
    let is_supported = |op: &OpInfo| supported(op, cfg, hooks);
    let sa8 = u8::try_from(req_sa).ok().filter(|s| *s < 0x20);
    let one = match byte(cdb, 2) & 0x07 {
        0 => {
            let desc_len = if rctd { 20 } else { 8 };
            let count = cdb::all_ops().filter(|op| is_supported(op)).count();
            out.put(&((count * desc_len) as u32).to_be_bytes());
            for op in cdb::all_ops().filter(|op| is_supported(op)) {
                let sa = op.service_action.unwrap_or(0);
                let servactv = u8::from(op.service_action.is_some());
                let ctdp = if rctd { 0x02 } else { 0 };
                out.put(&[op.opcode, 0, 0, sa, 0, ctdp | servactv, 0, op.cdb_len]);
                if rctd {
                    out.put(&TIMEOUTS);
                }
            }
            return Ok(out.done());
        }
        1 => {
            if cdb::has_service_actions(req_op) {
                return Err(Fail::Check(Sense::invalid_cdb_field(3, None)));
            }
            cdb::find(req_op, 0)
        }
        2 => {
            if cdb::find(req_op, 0).is_some() && !cdb::has_service_actions(req_op) {
                return Err(Fail::Check(Sense::invalid_cdb_field(3, None)));
            }
            sa8.and_then(|sa| cdb::find(req_op, sa))
        }
        3 => {
            if cdb::has_service_actions(req_op) {
                sa8.and_then(|sa| cdb::find(req_op, sa))
            } else {
                cdb::find(req_op, 0)
            }
        }
        _ => return Err(Fail::Check(Sense::invalid_cdb_field(2, Some(2)))),
    };
    match one.filter(|op| is_supported(op)) {
        Some(op) => {
            let ctdp = if rctd { 0x80 } else { 0 };
            out.put(&[0, ctdp | 0x03, 0, op.cdb_len]);
            out.put(op.usage());
            if rctd {
                out.put(&TIMEOUTS);
            }
        }
        None => out.put(&[0, 0x01, 0, 0]),
    }
    Ok(out.done())
}

/// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (with REPD: extended 16-byte format).
pub fn report_supported_tmfs<D: DataBuffer + ?Sized, H: Hooks>(
    hooks: &H,
    cdb: &[u8],
    buf: &mut D,
) -> Result<Xfer, Fail> {
    let repd = byte(cdb, 2) & 0x80 != 0;
    let [b0, b1] = hooks.supported_tmfs();
    let mut out = DataIn::new(buf, usize::try_from(be32(cdb, 6)).unwrap_or(usize::MAX));
    if repd {
        let mut d = [0u8; 16];
        d[0] = b0;
        d[1] = b1;
        d[3] = 0x0c;
        out.put(&d);
    } else {
        out.put(&[b0, b1, 0, 0]);
    }
    Ok(out.done())
}
