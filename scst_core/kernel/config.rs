// SPDX-License-Identifier: GPL-2.0
//! The configuration behind the configfs tree: devices and targets (with their ACL tables),
//! kept in kernel memory under one mutex. Every change validates first and changes nothing
//! when it fails; failures carry an errno and a short reason that `cfs` logs with the path.

use crate::parse::{self, check_ident, pad_ident, Why};
use crate::runtime::Runtime;
use core::fmt::Write;
use kernel::bindings;
use kernel::prelude::*;
use scst_core::acl::{AclError, AclTable, GroupId, MemberSpec};
use scst_core::device::DeviceConfig;
use scst_core::types::{DeviceId, Wwpn};

/// Bytes shown as text: printable ASCII as is, the rest as `\xNN` (names and paths are
/// arbitrary bytes).
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl core::fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for &b in self.0 {
            if (0x20..0x7f).contains(&b) {
                f.write_char(char::from(b))?;
            } else {
                write!(f, "\\x{:02x}", b)?;
            }
        }
        Ok(())
    }
}

impl kernel::fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// A refused change: the errno and why (logged as `ferrule: <path>: <why>`).
pub(crate) type Fail = (Error, Why);
/// Result of a configuration operation.
pub(crate) type CfgResult<T = ()> = core::result::Result<T, Fail>;

/// Most devices the tree holds.
pub(crate) const MAX_DEVICES: usize = 256;
/// Most targets (all fabrics together).
pub(crate) const MAX_TARGETS: usize = 64;
/// Longest backing path, bytes.
pub(crate) const PATH_CAP: usize = 255;

/// Backend kinds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackendKind {
    /// Discards writes, reads zeros.
    Nullio,
    /// A regular file.
    Fileio,
    /// A block device.
    Blockio,
}

impl BackendKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BackendKind::Nullio => "nullio",
            BackendKind::Fileio => "fileio",
            BackendKind::Blockio => "blockio",
        }
    }
    fn parse(buf: &[u8]) -> CfgResult<Self> {
        match parse::trim_nl(buf) {
            b"nullio" => Ok(BackendKind::Nullio),
            b"fileio" => Ok(BackendKind::Fileio),
            b"blockio" => Ok(BackendKind::Blockio),
            _ => Err((EINVAL, "backend must be nullio, fileio or blockio")),
        }
    }
}

/// An open backend: the reference the runtime holds while the device is enabled.
pub(crate) enum Backing {
    /// `filp_open`ed regular file.
    File(*mut bindings::file),
    /// `bdev_file_open_by_path` file.
    Bdev(*mut bindings::file),
}

/// Fabrics with a directory under `targets/`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fabric {
    /// Loopback SCSI host per target.
    Local,
    /// QLogic FC HBAs.
    Qla,
}

/// One `devices/<dev>/`.
pub(crate) struct Device {
    /// Never reused, so a LUN map can't name a later device with the same slot.
    pub(crate) id: DeviceId,
    name: [u8; 32],
    name_len: u8,
    pub(crate) backend: BackendKind,
    path: [u8; PATH_CAP + 1],
    path_len: usize,
    /// Bytes; 0 = unset (fileio: the file's size).
    pub(crate) size: u64,
    /// Exported attributes (`blocks` is derived from `size` at enable).
    pub(crate) cfg: DeviceConfig,
    product_set: bool,
    pub(crate) enabled: bool,
    pub(crate) backing: Option<Backing>,
    /// The configfs item, for `configfs_depend_item_unlocked` while a LUN maps it.
    pub(crate) item: *mut bindings::config_item,
    /// LUN directories naming this device.
    pub(crate) maps: u32,
}

impl Device {
    pub(crate) fn name(&self) -> &[u8] {
        self.name.get(..usize::from(self.name_len)).unwrap_or(&[])
    }
    pub(crate) fn path(&self) -> &[u8] {
        self.path.get(..self.path_len).unwrap_or(&[])
    }
    /// The path with its NUL (the buffer is one longer than the cap and zero-filled).
    pub(crate) fn path_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.path).unwrap_or(c"")
    }
    fn blocks(&self) -> u64 {
        self.size
            .checked_div(u64::from(self.cfg.block_size))
            .unwrap_or(0)
    }
}

/// A LUN directory `luns/<N>/` of some group of a target.
pub(crate) struct LunDir {
    pub(crate) group: GroupId,
    pub(crate) lun: u16,
    pub(crate) device: Option<DeviceId>,
    pub(crate) read_only: bool,
}

/// One `targets/<fabric>/<wwpn>/`.
pub(crate) struct Target {
    pub(crate) id: u32,
    pub(crate) fabric: Fabric,
    pub(crate) wwpn: Wwpn,
    pub(crate) enabled: bool,
    /// Local targets: the initiator port names it presents, one SCSI host (I_T nexus) each.
    pub(crate) initiators: Initiators,
    pub(crate) rel_port: u16,
    pub(crate) acl: VBox<AclTable>,
    pub(crate) luns: KVec<LunDir>,
}

/// Initiators a local target may present.
pub(crate) const MAX_LOCAL_INITIATORS: usize = 8;

/// The initiator WWPNs of a local target (1..=[`MAX_LOCAL_INITIATORS`], distinct).
#[derive(Clone, Copy)]
pub(crate) struct Initiators {
    wwpns: [Wwpn; MAX_LOCAL_INITIATORS],
    count: usize,
}

impl Initiators {
    fn one(w: Wwpn) -> Self {
        let mut wwpns = [Wwpn(0); MAX_LOCAL_INITIATORS];
        wwpns[0] = w;
        Initiators { wwpns, count: 1 }
    }

    /// Parses WWPNs separated by spaces, tabs, commas or newlines.
    fn parse(buf: &[u8]) -> CfgResult<Self> {
        let mut out = Initiators {
            wwpns: [Wwpn(0); MAX_LOCAL_INITIATORS],
            count: 0,
        };
        for word in buf
            .split(|b| matches!(b, b' ' | b'\t' | b',' | b'\n'))
            .filter(|w| !w.is_empty())
        {
            let w = scst_core::acl::parse_wwpn(word).map_err(|_| (EINVAL, "not a WWPN"))?;
            if w.0 == 0 {
                return Err((EINVAL, "WWPN 0 is not a port name"));
            }
            if out.as_slice().contains(&w) {
                return Err((EINVAL, "an initiator is listed twice"));
            }
            let slot = out
                .wwpns
                .get_mut(out.count)
                .ok_or((EINVAL, "at most 8 initiators"))?;
            *slot = w;
            out.count += 1;
        }
        if out.count == 0 {
            return Err((EINVAL, "not a WWPN"));
        }
        Ok(out)
    }

    pub(crate) fn as_slice(&self) -> &[Wwpn] {
        self.wwpns.get(..self.count).unwrap_or(&[])
    }
}

/// Copied into each new target's table: `AclTable` is ~150 KiB and must not pass the stack.
static EMPTY_ACL: AclTable = AclTable::new();

fn acl_errno(e: AclError) -> Fail {
    match e {
        AclError::BadName => (EINVAL, "bad group name"),
        AclError::DuplicateName => (EEXIST, "group exists"),
        AclError::UnknownGroup => (ENOENT, "no such group"),
        AclError::DefaultGroup => (EINVAL, "the default group has no members"),
        AclError::GroupsFull => (ENOSPC, "group table full"),
        AclError::InitiatorsFull => (ENOSPC, "initiator table full"),
        AclError::PatternsFull => (ENOSPC, "pattern table full"),
        AclError::DuplicateWwpn { .. } => (EEXIST, "initiator is in another group of this target"),
        AclError::DuplicatePattern { .. } => (EEXIST, "pattern is in another group of this target"),
        AclError::ZeroWwpn => (EINVAL, "WWPN 0 is not a port name"),
        AclError::NotMember => (ENOENT, "not a member"),
        AclError::LunOutOfRange => (EINVAL, "LUN must be 0..255"),
        AclError::LunAlreadyMapped => (EEXIST, "LUN already mapped"),
        AclError::LunNotMapped => (ENOENT, "LUN not mapped"),
    }
}

/// The whole configuration.
pub(crate) struct Tree {
    pub(crate) devices: KVec<KBox<Device>>,
    pub(crate) targets: KVec<KBox<Target>>,
    next_id: u32,
}

// SAFETY: the raw pointers inside (open files, configfs items) are only used under the tree
// mutex, from process context, and the objects they name are not tied to a thread.
unsafe impl Send for Tree {}

/// The runtime in use (the engine replaces it).
pub(crate) fn runtime() -> &'static dyn Runtime {
    &crate::local_rt::LocalRuntime
}

impl Tree {
    pub(crate) const fn new() -> Self {
        Tree {
            devices: KVec::new(),
            targets: KVec::new(),
            next_id: 1,
        }
    }

    fn next_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    pub(crate) fn device(&self, id: DeviceId) -> CfgResult<&Device> {
        self.devices
            .iter()
            .find(|d| d.id == id)
            .map(|d| &**d)
            .ok_or((ENOENT, "device is gone"))
    }

    fn device_mut(&mut self, id: DeviceId) -> CfgResult<&mut Device> {
        self.devices
            .iter_mut()
            .find(|d| d.id == id)
            .map(|d| &mut **d)
            .ok_or((ENOENT, "device is gone"))
    }

    pub(crate) fn target(&self, id: u32) -> CfgResult<&Target> {
        self.targets
            .iter()
            .find(|t| t.id == id)
            .map(|t| &**t)
            .ok_or((ENOENT, "target is gone"))
    }

    /// Tells the runtime that target `id`'s LUN maps or memberships changed.
    fn map_changed(&self, id: u32) {
        if let Ok(t) = self.target(id) {
            runtime().lun_map_changed(t, &self.devices);
        }
    }

    fn target_mut(&mut self, id: u32) -> CfgResult<&mut Target> {
        self.targets
            .iter_mut()
            .find(|t| t.id == id)
            .map(|t| &mut **t)
            .ok_or((ENOENT, "target is gone"))
    }

    // ---------------------------------------------------------------- devices

    /// `mkdir devices/<name>`.
    pub(crate) fn add_device(&mut self, name: &[u8]) -> CfgResult<DeviceId> {
        parse::check_name(name).map_err(|w| (EINVAL, w))?;
        if self.devices.len() >= MAX_DEVICES {
            return Err((ENOSPC, "device table full"));
        }
        let id = DeviceId(self.next_id());
        let mut cfg = DeviceConfig::new(0);
        cfg.set_serial(name);
        cfg.naa = parse::naa_from_serial(name);
        cfg.product = pad_ident(b"nullio");
        let mut dev = Device {
            id,
            name: [0; 32],
            name_len: name.len() as u8,
            backend: BackendKind::Nullio,
            path: [0; PATH_CAP + 1],
            path_len: 0,
            size: 0,
            cfg,
            product_set: false,
            enabled: false,
            backing: None,
            item: core::ptr::null_mut(),
            maps: 0,
        };
        for (d, s) in dev.name.iter_mut().zip(name) {
            *d = *s;
        }
        let dev = KBox::new(dev, GFP_KERNEL).map_err(|_| (ENOMEM, "out of memory"))?;
        self.devices
            .push(dev, GFP_KERNEL)
            .map_err(|_| (ENOMEM, "out of memory"))?;
        Ok(id)
    }

    /// Records the configfs item of a device (after configfs initialised it).
    pub(crate) fn set_device_item(&mut self, id: DeviceId, item: *mut bindings::config_item) {
        if let Ok(d) = self.device_mut(id) {
            d.item = item;
        }
    }

    /// `rmdir devices/<name>` (configfs refused it while a LUN depends on it).
    pub(crate) fn remove_device(&mut self, id: DeviceId) {
        if let Some(pos) = self.devices.iter().position(|d| d.id == id) {
            let mut dev = self.devices.remove(pos);
            if let Ok(ref mut dev) = dev {
                if dev.enabled {
                    runtime().device_disable(dev);
                    dev.enabled = false;
                }
            }
        }
    }

    /// Whether an enabled target maps the device.
    fn live_mapped(&self, id: DeviceId) -> bool {
        self.targets
            .iter()
            .any(|t| t.enabled && t.luns.iter().any(|l| l.device == Some(id)))
    }

    /// Shows device attribute `attr`.
    pub(crate) fn show_device(&self, id: DeviceId, attr: DevAttr, w: &mut dyn Write) -> CfgResult {
        let d = self.device(id)?;
        let c = &d.cfg;
        let r = match attr {
            DevAttr::Backend => writeln!(w, "{}", d.backend.name()),
            DevAttr::Path => writeln!(w, "{}", Bytes(d.path())),
            DevAttr::Size => writeln!(w, "{}", d.size),
            DevAttr::BlockSize => writeln!(w, "{}", c.block_size),
            DevAttr::ReadOnly => writeln!(w, "{}", u8::from(c.read_only)),
            DevAttr::WriteCache => writeln!(w, "{}", u8::from(c.write_cache)),
            DevAttr::Thin => writeln!(w, "{}", u8::from(c.thin)),
            DevAttr::Serial => writeln!(w, "{}", Bytes(c.serial())),
            DevAttr::Vendor => writeln!(w, "{}", Bytes(parse::unpad(&c.vendor))),
            DevAttr::Product => writeln!(w, "{}", Bytes(parse::unpad(&c.product))),
            DevAttr::Revision => writeln!(w, "{}", Bytes(parse::unpad(&c.revision))),
            DevAttr::Naa => {
                let mut buf = [0u8; 64];
                writeln!(w, "{}", Bytes(parse::hex(&c.naa, &mut buf)))
            }
            DevAttr::Enable => writeln!(w, "{}", u8::from(d.enabled)),
            DevAttr::Info => writeln!(
                w,
                "backend={} path={} size={} blocks={} state={} open={} luns={}",
                d.backend.name(),
                if d.path().is_empty() {
                    Bytes(b"-")
                } else {
                    Bytes(d.path())
                },
                d.size,
                d.blocks(),
                if d.enabled { "enabled" } else { "disabled" },
                u8::from(d.backing.is_some()),
                d.maps
            ),
        };
        r.map_err(|_| (EINVAL, "value does not fit a page"))
    }

    /// Stores device attribute `attr`.
    pub(crate) fn store_device(&mut self, id: DeviceId, attr: DevAttr, buf: &[u8]) -> CfgResult {
        let live_mapped = self.live_mapped(id);
        let d = self.device_mut(id)?;
        let busy = |d: &Device| {
            if d.enabled {
                Err((EBUSY, "only while enable=0"))
            } else {
                Ok(())
            }
        };
        match attr {
            DevAttr::Backend => {
                let b = BackendKind::parse(buf)?;
                busy(d)?;
                d.backend = b;
                if !d.product_set {
                    d.cfg.product = pad_ident(b.name().as_bytes());
                }
            }
            DevAttr::Path => {
                let p = parse::trim_nl(buf);
                if p.is_empty() || p.len() > PATH_CAP || p.contains(&0) {
                    return Err((EINVAL, "path must be 1..255 bytes"));
                }
                if p.first() != Some(&b'/') {
                    return Err((EINVAL, "path must be absolute"));
                }
                busy(d)?;
                d.path = [0; PATH_CAP + 1];
                for (dst, s) in d.path.iter_mut().zip(p) {
                    *dst = *s;
                }
                d.path_len = p.len();
            }
            DevAttr::Size => {
                let v = parse::parse_u64(buf).map_err(|w| (EINVAL, w))?;
                if d.backend == BackendKind::Blockio {
                    return Err((EINVAL, "blockio size is the device's size"));
                }
                if v.checked_rem(u64::from(d.cfg.block_size)) != Some(0) {
                    return Err((EINVAL, "size must be a multiple of block_size"));
                }
                if d.enabled {
                    if v == 0 {
                        return Err((EINVAL, "a live device cannot have size 0"));
                    }
                    runtime().device_resize(d, v)?;
                    d.cfg.blocks = d.blocks();
                } else {
                    d.size = v;
                }
            }
            DevAttr::BlockSize => {
                let v = parse::parse_u64(buf).map_err(|w| (EINVAL, w))?;
                if v != 512 && v != 4096 {
                    return Err((EINVAL, "block_size must be 512 or 4096"));
                }
                busy(d)?;
                if d.size.checked_rem(v) != Some(0) {
                    return Err((EINVAL, "size is not a multiple of that block_size"));
                }
                d.cfg.block_size = v as u32;
            }
            DevAttr::ReadOnly => {
                d.cfg.read_only = parse::parse_bool(buf).map_err(|w| (EINVAL, w))?
            }
            DevAttr::WriteCache => {
                d.cfg.write_cache = parse::parse_bool(buf).map_err(|w| (EINVAL, w))?
            }
            DevAttr::Thin => d.cfg.thin = parse::parse_bool(buf).map_err(|w| (EINVAL, w))?,
            DevAttr::Serial => {
                let s = check_ident(buf, scst_core::device::SERIAL_CAP).map_err(|w| (EINVAL, w))?;
                if s.contains(&b' ') {
                    return Err((EINVAL, "serial may not contain spaces"));
                }
                d.cfg.set_serial(s);
                d.cfg.naa = parse::naa_from_serial(s);
            }
            DevAttr::Vendor => {
                d.cfg.vendor = pad_ident(check_ident(buf, 8).map_err(|w| (EINVAL, w))?)
            }
            DevAttr::Product => {
                d.cfg.product = pad_ident(check_ident(buf, 16).map_err(|w| (EINVAL, w))?);
                d.product_set = true;
            }
            DevAttr::Revision => {
                d.cfg.revision = pad_ident(check_ident(buf, 4).map_err(|w| (EINVAL, w))?)
            }
            DevAttr::Enable => {
                let on = parse::parse_bool(buf).map_err(|w| (EINVAL, w))?;
                if on == d.enabled {
                    return Ok(());
                }
                if on {
                    if d.backend != BackendKind::Nullio && d.path_len == 0 {
                        return Err((EINVAL, "path is not set"));
                    }
                    let saved = d.size;
                    if let Err(e) = runtime().device_enable(d) {
                        d.size = saved;
                        return Err(e);
                    }
                    d.cfg.blocks = d.blocks();
                    if let Err(e) = d.cfg.validate() {
                        runtime().device_disable(d);
                        d.size = saved;
                        let why = match e {
                            scst_core::device::ConfigError::BlockSize => "bad block_size",
                            scst_core::device::ConfigError::Capacity => "bad size",
                            scst_core::device::ConfigError::Serial => "bad serial",
                            scst_core::device::ConfigError::Identification => {
                                "bad vendor/product/revision"
                            }
                        };
                        return Err((EINVAL, why));
                    }
                    d.enabled = true;
                } else {
                    if live_mapped {
                        return Err((EBUSY, "a LUN of an enabled target maps this device"));
                    }
                    runtime().device_disable(d);
                    d.enabled = false;
                }
            }
            DevAttr::Naa | DevAttr::Info => return Err((EACCES, "read-only attribute")),
        }
        Ok(())
    }

    // ---------------------------------------------------------------- targets

    /// `mkdir targets/<fabric>/<wwpn>`.
    pub(crate) fn add_target(&mut self, fabric: Fabric, name: &[u8]) -> CfgResult<u32> {
        let wwpn = scst_core::acl::parse_wwpn(name).map_err(|_| (EINVAL, "not a WWPN"))?;
        if wwpn.0 == 0 {
            return Err((EINVAL, "WWPN 0 is not a port name"));
        }
        if fabric == Fabric::Qla && !runtime().fc_port_exists(wwpn) {
            return Err((ENOENT, "no FC port has this WWPN"));
        }
        if self.targets.iter().any(|t| t.wwpn == wwpn) {
            return Err((EEXIST, "a target with this WWPN exists"));
        }
        if self.targets.len() >= MAX_TARGETS {
            return Err((ENOSPC, "target table full"));
        }
        let acl =
            VBox::<AclTable>::new_uninit(GFP_KERNEL).map_err(|_| (ENOMEM, "out of memory"))?;
        // SAFETY: copies the empty table from its static into the fresh allocation (no
        // 150 KiB value on the stack); `AclTable` is plain data without drop glue or pointers.
        let acl = unsafe {
            let mut acl = acl;
            core::ptr::copy_nonoverlapping(&raw const EMPTY_ACL, acl.as_mut_ptr(), 1);
            acl.assume_init()
        };
        let id = self.next_id();
        let t = Target {
            id,
            fabric,
            wwpn,
            enabled: false,
            initiators: Initiators::one(default_initiator(wwpn)),
            rel_port: 1,
            acl,
            luns: KVec::new(),
        };
        let t = KBox::new(t, GFP_KERNEL).map_err(|_| (ENOMEM, "out of memory"))?;
        self.targets
            .push(t, GFP_KERNEL)
            .map_err(|_| (ENOMEM, "out of memory"))?;
        Ok(id)
    }

    /// `rmdir` of a target (its groups and LUNs were removed first by configfs).
    pub(crate) fn remove_target(&mut self, id: u32) {
        if let Some(pos) = self.targets.iter().position(|t| t.id == id) {
            if let Ok(t) = self.targets.remove(pos) {
                if t.enabled {
                    runtime().target_disable(&t);
                }
            }
        }
    }

    pub(crate) fn show_target(&self, id: u32, attr: TgtAttr, w: &mut dyn Write) -> CfgResult {
        let t = self.target(id)?;
        let r = match attr {
            TgtAttr::Enable => writeln!(w, "{}", u8::from(t.enabled)),
            TgtAttr::Initiator => {
                let mut r = Ok(());
                for (i, x) in t.initiators.as_slice().iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    r = r.and_then(|()| write!(w, "{sep}{}", scst_core::acl::WwpnText(*x)));
                }
                r.and_then(|()| writeln!(w))
            }
            TgtAttr::RelPort => writeln!(w, "{}", t.rel_port),
            TgtAttr::Sessions => writeln!(w, "initiator port_id handle group luns commands")
                .and_then(|()| runtime().sessions(t, w)),
        };
        r.map_err(|_| (EINVAL, "value does not fit a page"))
    }

    pub(crate) fn store_target(&mut self, id: u32, attr: TgtAttr, buf: &[u8]) -> CfgResult {
        let t = self.target(id)?;
        match attr {
            TgtAttr::Enable => {
                let on = parse::parse_bool(buf).map_err(|w| (EINVAL, w))?;
                if on == t.enabled {
                    return Ok(());
                }
                if on {
                    for l in t.luns.iter() {
                        let Some(dev) = l.device else { continue };
                        if !self.device(dev).map(|d| d.enabled).unwrap_or(false) {
                            return Err((EBUSY, "a mapped device is not enabled"));
                        }
                    }
                    runtime().target_enable(t, &self.devices)?;
                } else {
                    runtime().target_disable(t);
                }
                self.target_mut(id)?.enabled = on;
            }
            TgtAttr::Initiator => {
                if t.fabric != Fabric::Local {
                    return Err((EINVAL, "only local targets have an initiator"));
                }
                let w = Initiators::parse(buf)?;
                if t.enabled {
                    return Err((EBUSY, "only while enable=0"));
                }
                self.target_mut(id)?.initiators = w;
            }
            TgtAttr::RelPort => {
                let p = parse::parse_rel_port(buf).map_err(|w| (EINVAL, w))?;
                if t.enabled {
                    return Err((EBUSY, "only while enable=0"));
                }
                self.target_mut(id)?.rel_port = p;
            }
            TgtAttr::Sessions => return Err((EACCES, "read-only attribute")),
        }
        Ok(())
    }

    // ---------------------------------------------------------------- groups, members, LUNs

    pub(crate) fn add_group(&mut self, target: u32, name: &[u8]) -> CfgResult<GroupId> {
        parse::check_name(name).map_err(|w| (EINVAL, w))?;
        self.target_mut(target)?
            .acl
            .add_group(name)
            .map_err(acl_errno)
    }

    pub(crate) fn remove_group(&mut self, target: u32, g: GroupId) {
        if let Ok(t) = self.target_mut(target) {
            let _ = t.acl.remove_group(g);
            self.map_changed(target);
        }
    }

    pub(crate) fn add_member(
        &mut self,
        target: u32,
        g: GroupId,
        name: &[u8],
    ) -> CfgResult<MemberSpec> {
        if g.is_default() {
            return Err((EINVAL, "the default group has no members"));
        }
        let spec =
            scst_core::acl::parse_member(name).map_err(|_| (EINVAL, "not a WWPN or pattern"))?;
        let t = self.target_mut(target)?;
        t.acl.add_member(g, spec).map_err(acl_errno)?;
        self.map_changed(target);
        Ok(spec)
    }

    pub(crate) fn remove_member(&mut self, target: u32, g: GroupId, spec: MemberSpec) {
        if let Ok(t) = self.target_mut(target) {
            let _ = match spec {
                MemberSpec::Exact(w) => t.acl.remove_initiator(g, w),
                MemberSpec::Pattern(p) => t.acl.remove_pattern(g, p),
            };
            self.map_changed(target);
        }
    }

    pub(crate) fn add_lun(&mut self, target: u32, g: GroupId, name: &[u8]) -> CfgResult<u16> {
        let lun = parse::parse_lun(name).map_err(|w| (EINVAL, w))?;
        let t = self.target_mut(target)?;
        if t.luns.iter().any(|l| l.group == g && l.lun == lun) {
            return Err((EEXIST, "LUN exists"));
        }
        t.luns
            .push(
                LunDir {
                    group: g,
                    lun,
                    device: None,
                    read_only: false,
                },
                GFP_KERNEL,
            )
            .map_err(|_| (ENOMEM, "out of memory"))?;
        Ok(lun)
    }

    /// Removes a LUN directory; returns the device it named (the caller drops the configfs
    /// dependency on it).
    pub(crate) fn remove_lun(&mut self, target: u32, g: GroupId, lun: u16) -> Option<DeviceId> {
        let t = self.target_mut(target).ok()?;
        let pos = t.luns.iter().position(|l| l.group == g && l.lun == lun)?;
        let l = t.luns.remove(pos).ok()?;
        let dev = l.device?;
        let _ = t.acl.unmap_lun(g, lun);
        self.map_changed(target);
        if let Ok(d) = self.device_mut(dev) {
            d.maps = d.maps.saturating_sub(1);
        }
        Some(dev)
    }

    fn lun(&self, target: u32, g: GroupId, lun: u16) -> CfgResult<(&Target, &LunDir)> {
        let t = self.target(target)?;
        let l = t
            .luns
            .iter()
            .find(|l| l.group == g && l.lun == lun)
            .ok_or((ENOENT, "LUN is gone"))?;
        Ok((t, l))
    }

    pub(crate) fn show_lun(
        &self,
        target: u32,
        g: GroupId,
        lun: u16,
        attr: LunAttr,
        w: &mut dyn Write,
    ) -> CfgResult {
        let (_, l) = self.lun(target, g, lun)?;
        let r = match attr {
            LunAttr::Device => match l.device.and_then(|d| self.device(d).ok()) {
                Some(d) => writeln!(w, "{}", Bytes(d.name())),
                None => writeln!(w),
            },
            LunAttr::ReadOnly => writeln!(w, "{}", u8::from(l.read_only)),
        };
        r.map_err(|_| (EINVAL, "value does not fit a page"))
    }

    /// Checks a write of a LUN's `device`; returns the new device and its configfs item
    /// (the caller pins it with `configfs_depend_item_unlocked` before [`Tree::commit_lun_device`]).
    pub(crate) fn check_lun_device(
        &self,
        target: u32,
        g: GroupId,
        lun: u16,
        buf: &[u8],
    ) -> CfgResult<(DeviceId, *mut bindings::config_item, Option<DeviceId>)> {
        let name = parse::trim_nl(buf);
        parse::check_name(name).map_err(|w| (EINVAL, w))?;
        let (t, l) = self.lun(target, g, lun)?;
        let d = self
            .devices
            .iter()
            .find(|d| d.name() == name)
            .ok_or((ENOENT, "no such device"))?;
        if l.device == Some(d.id) {
            return Ok((d.id, d.item, l.device));
        }
        if t.enabled && l.device.is_some() {
            return Err((EBUSY, "LUN is live: rmdir and mkdir it instead"));
        }
        if t.enabled && !d.enabled {
            return Err((EBUSY, "device is not enabled and the target is"));
        }
        Ok((d.id, d.item, l.device))
    }

    /// Maps the LUN to `dev` (checked by [`Tree::check_lun_device`] under the same lock hold).
    pub(crate) fn commit_lun_device(
        &mut self,
        target: u32,
        g: GroupId,
        lun: u16,
        dev: DeviceId,
    ) -> CfgResult<Option<DeviceId>> {
        let t = self.target_mut(target)?;
        let l = t
            .luns
            .iter_mut()
            .find(|l| l.group == g && l.lun == lun)
            .ok_or((ENOENT, "LUN is gone"))?;
        let old = l.device;
        let ro = l.read_only;
        if old.is_some() {
            t.acl.unmap_lun(g, lun).map_err(acl_errno)?;
        }
        if let Err(e) = t.acl.map_lun(g, lun, dev, ro) {
            if let Some(o) = old {
                let _ = t.acl.map_lun(g, lun, o, ro);
            }
            return Err(acl_errno(e));
        }
        if let Some(l) = t.luns.iter_mut().find(|l| l.group == g && l.lun == lun) {
            l.device = Some(dev);
        }
        self.map_changed(target);
        if let Some(o) = old {
            if let Ok(d) = self.device_mut(o) {
                d.maps = d.maps.saturating_sub(1);
            }
        }
        if let Ok(d) = self.device_mut(dev) {
            d.maps = d.maps.saturating_add(1);
        }
        Ok(old)
    }

    pub(crate) fn store_lun_read_only(
        &mut self,
        target: u32,
        g: GroupId,
        lun: u16,
        buf: &[u8],
    ) -> CfgResult {
        let ro = parse::parse_bool(buf).map_err(|w| (EINVAL, w))?;
        let t = self.target_mut(target)?;
        let l = t
            .luns
            .iter_mut()
            .find(|l| l.group == g && l.lun == lun)
            .ok_or((ENOENT, "LUN is gone"))?;
        if l.read_only == ro {
            return Ok(());
        }
        l.read_only = ro;
        if l.device.is_some() {
            t.acl.set_read_only(g, lun, ro).map_err(acl_errno)?;
            self.map_changed(target);
        }
        Ok(())
    }
}

/// The local initiator's default WWPN: the target's with the NAA nibble set to 2 (IEEE
/// extended), or flipped in its lowest bit when that is the target's own.
fn default_initiator(target: Wwpn) -> Wwpn {
    let w = (target.0 & 0x0fff_ffff_ffff_ffff) | 0x2000_0000_0000_0000;
    if w == target.0 {
        Wwpn(w ^ 1)
    } else {
        Wwpn(w)
    }
}

/// Device attributes, in table order.
#[derive(Clone, Copy)]
pub(crate) enum DevAttr {
    Backend,
    Path,
    Size,
    BlockSize,
    ReadOnly,
    WriteCache,
    Thin,
    Serial,
    Vendor,
    Product,
    Revision,
    Naa,
    Enable,
    Info,
}

impl DevAttr {
    pub(crate) const ALL: [DevAttr; 14] = [
        DevAttr::Backend,
        DevAttr::Path,
        DevAttr::Size,
        DevAttr::BlockSize,
        DevAttr::ReadOnly,
        DevAttr::WriteCache,
        DevAttr::Thin,
        DevAttr::Serial,
        DevAttr::Vendor,
        DevAttr::Product,
        DevAttr::Revision,
        DevAttr::Naa,
        DevAttr::Enable,
        DevAttr::Info,
    ];
}

/// Target attributes, in table order (`initiator` only exists on local targets).
#[derive(Clone, Copy)]
pub(crate) enum TgtAttr {
    Enable,
    RelPort,
    Sessions,
    Initiator,
}

impl TgtAttr {
    pub(crate) const ALL: [TgtAttr; 4] = [
        TgtAttr::Enable,
        TgtAttr::RelPort,
        TgtAttr::Sessions,
        TgtAttr::Initiator,
    ];
}

/// LUN attributes, in table order.
#[derive(Clone, Copy)]
pub(crate) enum LunAttr {
    Device,
    ReadOnly,
}

impl LunAttr {
    pub(crate) const ALL: [LunAttr; 2] = [LunAttr::Device, LunAttr::ReadOnly];
}

#[kernel::prelude::kunit_tests(ferrule_cfs_config)]
mod tests {
    use super::*;

    /// A small show buffer.
    struct Buf {
        b: [u8; 256],
        n: usize,
    }

    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.n.checked_add(s.len()).ok_or(core::fmt::Error)?;
            let dst = self.b.get_mut(self.n..end).ok_or(core::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.n = end;
            Ok(())
        }
    }

    fn show(t: &Tree, id: DeviceId, a: DevAttr) -> ([u8; 256], usize) {
        let mut b = Buf { b: [0; 256], n: 0 };
        assert!(t.show_device(id, a, &mut b).is_ok());
        (b.b, b.n)
    }

    fn shows(t: &Tree, id: DeviceId, a: DevAttr, want: &[u8]) -> bool {
        let (b, n) = show(t, id, a);
        b.get(..n) == Some(want)
    }

    fn errno<T>(r: CfgResult<T>) -> Option<Error> {
        r.err().map(|e| e.0)
    }

    #[test]
    fn device_rules() {
        let mut t = Tree::new();
        assert_eq!(errno(t.add_device(b"a b")), Some(EINVAL));
        let d = t.add_device(b"d1").unwrap();
        assert!(shows(&t, d, DevAttr::Serial, b"d1\n"));
        assert!(shows(&t, d, DevAttr::Product, b"nullio\n"));
        assert_eq!(
            errno(t.store_device(d, DevAttr::Enable, b"1")),
            Some(EINVAL)
        );
        assert_eq!(
            errno(t.store_device(d, DevAttr::Size, b"1000")),
            Some(EINVAL)
        );
        assert!(shows(&t, d, DevAttr::Size, b"0\n"));
        assert!(t.store_device(d, DevAttr::Size, b"8192\n").is_ok());
        assert!(t.store_device(d, DevAttr::BlockSize, b"4096").is_ok());
        assert_eq!(
            errno(t.store_device(d, DevAttr::BlockSize, b"1024")),
            Some(EINVAL)
        );
        assert!(t.store_device(d, DevAttr::Backend, b"fileio").is_ok());
        assert!(shows(&t, d, DevAttr::Product, b"fileio\n"));
        assert!(t.store_device(d, DevAttr::Backend, b"nullio").is_ok());
        assert!(t.store_device(d, DevAttr::Enable, b"1").is_ok());
        assert_eq!(t.device(d).unwrap().cfg.blocks, 2);
        assert_eq!(
            errno(t.store_device(d, DevAttr::Backend, b"fileio")),
            Some(EBUSY)
        );
        assert_eq!(
            errno(t.store_device(d, DevAttr::BlockSize, b"512")),
            Some(EBUSY)
        );
        assert!(t.store_device(d, DevAttr::Size, b"16384").is_ok());
        assert_eq!(t.device(d).unwrap().cfg.blocks, 4);
        assert!(t.store_device(d, DevAttr::Enable, b"0").is_ok());
        let before = t.device(d).unwrap().cfg.naa;
        assert!(t.store_device(d, DevAttr::Serial, b"other").is_ok());
        assert_ne!(t.device(d).unwrap().cfg.naa, before);
        assert!(t.store_device(d, DevAttr::Serial, b"d1").is_ok());
        assert_eq!(t.device(d).unwrap().cfg.naa, before);
        t.remove_device(d);
        assert!(t.device(d).is_err());
    }

    #[test]
    fn device_table_full() {
        let mut t = Tree::new();
        let mut name = [b'd', b'0', b'0', b'0'];
        for i in 0..MAX_DEVICES {
            name[1] = b'0' + (i / 100) as u8;
            name[2] = b'0' + (i / 10 % 10) as u8;
            name[3] = b'0' + (i % 10) as u8;
            assert!(t.add_device(&name).is_ok());
        }
        assert_eq!(errno(t.add_device(b"more")), Some(ENOSPC));
    }

    #[test]
    fn targets_groups_luns() {
        let mut t = Tree::new();
        let d = t.add_device(b"d1").unwrap();
        assert_eq!(errno(t.add_target(Fabric::Local, b"nope")), Some(EINVAL));
        assert_eq!(
            errno(t.add_target(Fabric::Qla, b"21:00:00:24:ff:00:00:01")),
            Some(ENOENT)
        );
        let tg = t
            .add_target(Fabric::Local, b"21:00:00:00:00:00:00:01")
            .unwrap();
        assert_eq!(
            errno(t.add_target(Fabric::Local, b"0x2100000000000001")),
            Some(EEXIST)
        );
        assert_eq!(
            errno(t.store_target(tg, TgtAttr::RelPort, b"0")),
            Some(EINVAL)
        );
        assert!(t.store_target(tg, TgtAttr::RelPort, b"9").is_ok());
        assert_eq!(t.target(tg).unwrap().rel_port, 9);
        // A local target with no LUNs goes live (an empty SCSI host) and down again.
        assert!(t.store_target(tg, TgtAttr::Enable, b"1").is_ok());
        assert!(t.target(tg).unwrap().enabled);
        let gl = t.add_group(tg, b"gl").unwrap();
        // Live membership changes are applied to the running engine.
        assert!(t.add_member(tg, gl, b"21:00:00:24:ff:31:4c:5f").is_ok());
        assert!(t.store_target(tg, TgtAttr::Enable, b"0").is_ok());
        assert!(!t.target(tg).unwrap().enabled);

        let g1 = t.add_group(tg, b"g1").unwrap();
        let g2 = t.add_group(tg, b"g2").unwrap();
        assert_eq!(errno(t.add_group(tg, b"g1")), Some(EEXIST));
        let spec = t.add_member(tg, g1, b"21:00:00:24:ff:31:4c:5a").unwrap();
        assert_eq!(
            errno(t.add_member(tg, g2, b"21000024ff314c5a")),
            Some(EEXIST)
        );
        assert_eq!(
            errno(t.add_member(tg, GroupId::DEFAULT, b"21000024ff314c5b")),
            Some(EINVAL)
        );
        assert_eq!(errno(t.add_member(tg, g2, b"xyz")), Some(EINVAL));

        assert_eq!(errno(t.add_lun(tg, g1, b"256")), Some(EINVAL));
        let lun = t.add_lun(tg, g1, b"3").unwrap();
        assert_eq!(errno(t.add_lun(tg, g1, b"3")), Some(EEXIST));
        assert_eq!(
            errno(t.check_lun_device(tg, g1, lun, b"nosuch")),
            Some(ENOENT)
        );
        let (dev, _, old) = t.check_lun_device(tg, g1, lun, b"d1\n").unwrap();
        assert_eq!((dev, old), (d, None));
        assert_eq!(t.commit_lun_device(tg, g1, lun, d).unwrap(), None);
        assert_eq!(t.device(d).unwrap().maps, 1);
        assert!(t.store_lun_read_only(tg, g1, lun, b"1").is_ok());
        let mapped = t.target(tg).unwrap().acl.luns_of(g1).next();
        assert_eq!(
            mapped.map(|(n, m)| (n, m.device, m.read_only)),
            Some((3, d, true))
        );
        // A target with a mapped but disabled device cannot be enabled.
        assert_eq!(
            errno(t.store_target(tg, TgtAttr::Enable, b"1")),
            Some(EBUSY)
        );

        assert_eq!(t.remove_lun(tg, g1, lun), Some(d));
        assert_eq!(t.device(d).unwrap().maps, 0);
        assert_eq!(t.target(tg).unwrap().acl.luns_of(g1).count(), 0);
        t.remove_member(tg, g1, spec);
        assert!(t.add_member(tg, g2, b"21000024ff314c5a").is_ok());
        t.remove_target(tg);
        assert!(t.target(tg).is_err());
    }
}
