// SPDX-License-Identifier: GPL-2.0
//! Ferrule's configfs tree over the raw C API (see Documentation/configfs.md).
//!
//! Why not `kernel::configfs`: it has no default groups, one child type per group type, and
//! leaves `ca_owner` NULL. Here every directory is a [`Node`]: a `config_group` at offset 0
//! followed by a [`Ctx`] saying what the directory is. Directories made by `mkdir` live in a
//! `KBox` (the node plus its embedded default groups, as LIO does) that configfs frees through
//! the item's kref (`release`). The data behind the tree lives in [`config::Tree`] under one
//! mutex; nodes only hold ids into it. Item types and attribute tables are statics whose
//! owner is this module, so every child directory and every open attribute pins the module.

use crate::config::{self, Bytes, CfgResult, DevAttr, Fabric, LunAttr, TgtAttr, Tree};
use core::ffi::CStr;
use core::fmt::{self, Write};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings as b;
use kernel::ffi::c_char;
use kernel::new_mutex;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::types::Opaque;
use scst_core::acl::{parse_wwpn, GroupId, MemberSpec};
use scst_core::types::{DeviceId, Wwpn};

/// Statics that hold raw pointers for C. configfs only reads them.
#[repr(transparent)]
struct Static<T>(T);
// SAFETY: the wrapped C tables are never written after compile time; C reads them from any
// thread.
unsafe impl<T> Sync for Static<T> {}

/// `THIS_MODULE`: configfs takes a reference on it for every child directory and open file.
const OWNER: *mut b::module = kernel::module::this_module::<crate::LocalModule>().as_ptr();

/// What a directory is; the ids name objects in [`Tree`].
#[derive(Clone, Copy)]
pub(crate) enum Ctx {
    /// `targets/` (no mkdir).
    Plain,
    /// `devices/`.
    Devices,
    /// `targets/local/`, `targets/qla2x00t/`.
    Fabric(Fabric),
    /// `devices/<dev>/`.
    Device(DeviceId),
    /// `targets/<fabric>/<wwpn>/`.
    Target(u32),
    /// `<target>/groups/`.
    Groups(u32),
    /// A group directory (named or `default`).
    Group(u32, GroupId),
    /// `<group>/initiators/`.
    Initiators(u32, GroupId),
    /// `<group>/luns/`.
    Luns(u32, GroupId),
    /// `initiators/<wwpn or pattern>/`.
    Member(u32, GroupId, MemberSpec),
    /// `luns/<N>/`.
    Lun(u32, GroupId, u16),
}

/// One configfs directory.
#[repr(C)]
pub(crate) struct Node {
    group: Opaque<b::config_group>,
    ctx: Ctx,
}

impl Node {
    fn new(ctx: Ctx) -> Self {
        Node {
            group: Opaque::zeroed(),
            ctx,
        }
    }

    fn grp(&self) -> *mut b::config_group {
        self.group.get()
    }

    /// Initialises the group (name copied by configfs) with `ty`.
    ///
    /// # Safety
    /// `self` must not move afterwards and must stay alive until configfs drops its last
    /// reference (heap- or module-owned nodes).
    unsafe fn init(&self, name: &CStr, ty: &'static Static<b::config_item_type>) {
        // SAFETY: the group is zeroed memory owned by `self`; `name` is NUL-terminated; `ty`
        // is a static item type.
        unsafe { b::config_group_init_type_name(self.grp(), name.as_ptr().cast(), &ty.0) };
    }

    /// Initialises `child` as a default group of `self`.
    ///
    /// # Safety
    /// As [`Node::init`], for both; `self` is initialised and `child` lives inside the same
    /// allocation (freed together).
    unsafe fn add_default(
        &self,
        child: &Node,
        name: &CStr,
        ty: &'static Static<b::config_item_type>,
    ) {
        // SAFETY: per this function's contract.
        unsafe {
            child.init(name, ty);
            crate::bindings::ferrule_h_configfs_add_default_group(child.grp(), self.grp());
        }
    }
}

/// The node of an item of one of our item types.
///
/// # Safety
/// `item` must be the `cg_item` of a [`Node`] (every type with attributes or group ops below
/// is only given to `Node`s) that is alive for `'a`.
unsafe fn node<'a>(item: *mut b::config_item) -> &'a Node {
    // SAFETY: `cg_item` is at offset 0 of `config_group`, which is at offset 0 of the
    // `repr(C)` `Node`; liveness per the contract.
    unsafe { &*item.cast::<Node>() }
}

// ------------------------------------------------------------------------- the tree lock

static TREE: AtomicPtr<Mutex<Tree>> = AtomicPtr::new(null_mut());

/// The configuration tree.
fn tree() -> Result<&'static Mutex<Tree>> {
    let p = TREE.load(Ordering::Acquire);
    // SAFETY: `TREE` is set before the subsystem is registered and cleared after it is
    // unregistered (no callback can run outside that window), pointing at the module's
    // pinned mutex.
    NonNull::new(p)
        .map(|p| unsafe { &*p.as_ptr() })
        .ok_or(ENODEV)
}

// ------------------------------------------------------------------------- paths, logging

/// `<path relative to ferrule/>[/<extra>]` of an item, for log lines.
struct ItemPath<'a>(*mut b::config_item, &'a str, Option<&'a [u8]>);

impl fmt::Display for ItemPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = ROOT_ITEM.load(Ordering::Relaxed);
        let mut chain = [null_mut::<b::config_item>(); 10];
        let mut n = 0usize;
        let mut it = self.0;
        while !it.is_null() && it != root {
            let Some(slot) = chain.get_mut(n) else { break };
            *slot = it;
            n = n.saturating_add(1);
            // SAFETY: configfs keeps every ancestor of a live item alive (ci_parent links
            // hold references); callers pass live items.
            it = unsafe { (*it).ci_parent };
        }
        let mut first = true;
        for &it in chain.iter().take(n).rev() {
            // SAFETY: as above; `ci_name` is a NUL-terminated string owned by the item.
            let name = unsafe { CStr::from_ptr((*it).ci_name.cast()) };
            if !first {
                f.write_str("/")?;
            }
            first = false;
            write!(f, "{}", Bytes(name.to_bytes()))?;
        }
        for extra in Iterator::chain([self.1.as_bytes()].into_iter(), self.2) {
            if !extra.is_empty() {
                if !first {
                    f.write_str("/")?;
                }
                first = false;
                write!(f, "{}", Bytes(extra))?;
            }
        }
        Ok(())
    }
}

impl kernel::fmt::Display for ItemPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

static ROOT_ITEM: AtomicPtr<b::config_item> = AtomicPtr::new(null_mut());

/// Logs the one line of a refused change and returns its errno.
fn refuse(
    item: *mut b::config_item,
    what: &'static str,
    name: Option<&[u8]>,
    e: config::Fail,
) -> Error {
    pr_warn!("{}: {}\n", ItemPath(item, what, name), e.1);
    e.0
}

// ------------------------------------------------------------------------- attributes

/// A configfs show buffer.
struct Page<'a> {
    buf: &'a mut [u8; PAGE_SIZE],
    len: usize,
}

impl Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

type ShowFn = unsafe extern "C" fn(*mut b::config_item, *mut c_char) -> isize;
type StoreFn = unsafe extern "C" fn(*mut b::config_item, *const c_char, usize) -> isize;

const fn attr(name: &'static CStr, show: ShowFn, store: Option<StoreFn>) -> b::configfs_attribute {
    b::configfs_attribute {
        ca_name: name.as_ptr().cast(),
        ca_owner: OWNER,
        ca_mode: if store.is_some() { 0o644 } else { 0o444 },
        show: Some(show),
        store,
    }
}

/// Show trampoline for attribute `I` of the node's kind.
///
/// # Safety
/// Called by configfs with a live item of one of our node types and a PAGE_SIZE buffer.
unsafe extern "C" fn show_tr<const I: usize>(
    item: *mut b::config_item,
    page: *mut c_char,
) -> isize {
    // SAFETY: per the function contract (attribute tables are only attached to Node types).
    let n = unsafe { node(item) };
    // SAFETY: configfs hands us a zeroed page of PAGE_SIZE bytes, ours during the call.
    let buf = unsafe { &mut *page.cast::<[u8; PAGE_SIZE]>() };
    let mut page = Page { buf, len: 0 };
    let res = tree().and_then(|t| {
        let t = t.lock();
        let r = match n.ctx {
            Ctx::Device(d) => DevAttr::ALL.get(I).map(|&a| t.show_device(d, a, &mut page)),
            Ctx::Target(id) => TgtAttr::ALL
                .get(I)
                .map(|&a| t.show_target(id, a, &mut page)),
            Ctx::Lun(id, g, l) => LunAttr::ALL
                .get(I)
                .map(|&a| t.show_lun(id, g, l, a, &mut page)),
            _ => None,
        };
        r.unwrap_or(Err((EINVAL, ""))).map_err(|e| e.0)
    });
    match res {
        Ok(()) => page.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Store trampoline for attribute `I` of the node's kind.
///
/// # Safety
/// Called by configfs with a live item of one of our node types and `count` readable bytes.
unsafe extern "C" fn store_tr<const I: usize>(
    item: *mut b::config_item,
    page: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: per the function contract.
    let n = unsafe { node(item) };
    // SAFETY: configfs passes the written bytes, `count` of them, valid during the call.
    let buf = unsafe { core::slice::from_raw_parts(page.cast::<u8>(), count) };
    let (name, res) = match n.ctx {
        Ctx::Device(d) => match DevAttr::ALL.get(I) {
            Some(&a) => (
                DEV_ATTR_NAMES.get(I).copied().unwrap_or(""),
                with_tree(|t| t.store_device(d, a, buf)),
            ),
            None => ("", Err((EINVAL, "no such attribute"))),
        },
        Ctx::Target(id) => match TgtAttr::ALL.get(I) {
            Some(&a) => (
                TGT_ATTR_NAMES.get(I).copied().unwrap_or(""),
                with_tree(|t| t.store_target(id, a, buf)),
            ),
            None => ("", Err((EINVAL, "no such attribute"))),
        },
        Ctx::Lun(id, g, l) => match LunAttr::ALL.get(I) {
            Some(LunAttr::Device) => ("device", store_lun_device(id, g, l, buf)),
            Some(LunAttr::ReadOnly) => (
                "read_only",
                with_tree(|t| t.store_lun_read_only(id, g, l, buf)),
            ),
            None => ("", Err((EINVAL, "no such attribute"))),
        },
        _ => ("", Err((EINVAL, "no such attribute"))),
    };
    match res {
        Ok(()) => count as isize,
        Err(e) => refuse(item, name, None, e).to_errno() as isize,
    }
}

fn with_tree<T>(f: impl FnOnce(&mut Tree) -> CfgResult<T>) -> CfgResult<T> {
    let t = tree().map_err(|e| (e, "module is unloading"))?;
    let mut g = t.lock();
    f(&mut g)
}

/// `luns/<N>/device`: pins the named device's directory (rmdir → EBUSY) and maps it.
///
/// The pin (`configfs_depend_item_unlocked`) is taken outside the tree mutex (rmdir holds
/// directory inode locks and then takes the mutex in drop_item); the LUN is re-checked under
/// the mutex before it commits.
fn store_lun_device(target: u32, g: GroupId, lun: u16, buf: &[u8]) -> CfgResult {
    let picked = with_tree(|t| {
        let (dev, item, old) = t.check_lun_device(target, g, lun, buf)?;
        if old == Some(dev) {
            return Ok(None);
        }
        if item.is_null() {
            return Err((ENOENT, "no such device"));
        }
        // SAFETY: `item` is the live item of `dev`: its drop_item needs the mutex we hold.
        // The reference keeps the memory valid once we unlock.
        unsafe { b::config_item_get(item) };
        Ok(Some((dev, item)))
    })?;
    let Some((dev, item)) = picked else {
        return Ok(());
    };
    // The _unlocked variant: configfs_depend_item takes the configfs root inode lock, which
    // inverts against rmdir (inode lock, then the attribute's frag_sem; lockdep caught that
    // on the debug kernel). It fails (ENOENT) if the device is being removed.
    // SAFETY: `item` is referenced (above), belongs to our own subsystem, and we are in one
    // of that subsystem's callbacks (an attribute write), as the function requires.
    let rc = unsafe { b::configfs_depend_item_unlocked(subsys(), item) };
    let res = if rc != 0 {
        Err((Error::from_errno(rc), "device is being removed"))
    } else {
        let res = with_tree(|t| {
            let (dev2, item2, old) = t.check_lun_device(target, g, lun, buf)?;
            if dev2 != dev || item2 != item {
                return Err((EAGAIN, "the device changed meanwhile, retry"));
            }
            if old == Some(dev) {
                // A concurrent write mapped the same device and holds its own pin.
                return Err((EALREADY, ""));
            }
            let old = t.commit_lun_device(target, g, lun, dev)?;
            if let Some(old_item) = old.and_then(|o| t.device(o).ok()).map(|d| d.item) {
                // SAFETY: the old device was pinned by this LUN, so its item is live.
                unsafe { b::configfs_undepend_item(old_item) };
            }
            Ok(())
        });
        if res.is_err() {
            // SAFETY: undoes the dependency taken above; `item` is still referenced.
            unsafe { b::configfs_undepend_item(item) };
        }
        match res {
            Err((e, _)) if e == EALREADY => Ok(()),
            r => r,
        }
    };
    // SAFETY: drops the reference taken under the mutex.
    unsafe { b::config_item_put(item) };
    res
}

const DEV_ATTR_NAMES: [&str; 14] = [
    "backend",
    "path",
    "size",
    "block_size",
    "read_only",
    "write_cache",
    "thin",
    "serial",
    "vendor",
    "product",
    "revision",
    "naa",
    "enable",
    "info",
];
const TGT_ATTR_NAMES: [&str; 4] = ["enable", "rel_port", "sessions", "initiator"];

static DEV_ATTRS: Static<[b::configfs_attribute; 14]> = Static([
    attr(c"backend", show_tr::<0>, Some(store_tr::<0>)),
    attr(c"path", show_tr::<1>, Some(store_tr::<1>)),
    attr(c"size", show_tr::<2>, Some(store_tr::<2>)),
    attr(c"block_size", show_tr::<3>, Some(store_tr::<3>)),
    attr(c"read_only", show_tr::<4>, Some(store_tr::<4>)),
    attr(c"write_cache", show_tr::<5>, Some(store_tr::<5>)),
    attr(c"thin", show_tr::<6>, Some(store_tr::<6>)),
    attr(c"serial", show_tr::<7>, Some(store_tr::<7>)),
    attr(c"vendor", show_tr::<8>, Some(store_tr::<8>)),
    attr(c"product", show_tr::<9>, Some(store_tr::<9>)),
    attr(c"revision", show_tr::<10>, Some(store_tr::<10>)),
    attr(c"naa", show_tr::<11>, None),
    attr(c"enable", show_tr::<12>, Some(store_tr::<12>)),
    attr(c"info", show_tr::<13>, None),
]);
static DEV_ATTR_TAB: Static<[*mut b::configfs_attribute; 15]> = Static([
    (&raw const DEV_ATTRS.0[0]).cast_mut(),
    (&raw const DEV_ATTRS.0[1]).cast_mut(),
    (&raw const DEV_ATTRS.0[2]).cast_mut(),
    (&raw const DEV_ATTRS.0[3]).cast_mut(),
    (&raw const DEV_ATTRS.0[4]).cast_mut(),
    (&raw const DEV_ATTRS.0[5]).cast_mut(),
    (&raw const DEV_ATTRS.0[6]).cast_mut(),
    (&raw const DEV_ATTRS.0[7]).cast_mut(),
    (&raw const DEV_ATTRS.0[8]).cast_mut(),
    (&raw const DEV_ATTRS.0[9]).cast_mut(),
    (&raw const DEV_ATTRS.0[10]).cast_mut(),
    (&raw const DEV_ATTRS.0[11]).cast_mut(),
    (&raw const DEV_ATTRS.0[12]).cast_mut(),
    (&raw const DEV_ATTRS.0[13]).cast_mut(),
    null_mut(),
]);

static TGT_ATTRS: Static<[b::configfs_attribute; 4]> = Static([
    attr(c"enable", show_tr::<0>, Some(store_tr::<0>)),
    attr(c"rel_port", show_tr::<1>, Some(store_tr::<1>)),
    attr(c"sessions", show_tr::<2>, None),
    attr(c"initiator", show_tr::<3>, Some(store_tr::<3>)),
]);
/// Local targets have all four; FC targets lack `initiator` (the table ends earlier).
static TGT_ATTR_TAB: Static<[*mut b::configfs_attribute; 5]> = Static([
    (&raw const TGT_ATTRS.0[0]).cast_mut(),
    (&raw const TGT_ATTRS.0[1]).cast_mut(),
    (&raw const TGT_ATTRS.0[2]).cast_mut(),
    (&raw const TGT_ATTRS.0[3]).cast_mut(),
    null_mut(),
]);
static QLA_TGT_ATTR_TAB: Static<[*mut b::configfs_attribute; 4]> = Static([
    (&raw const TGT_ATTRS.0[0]).cast_mut(),
    (&raw const TGT_ATTRS.0[1]).cast_mut(),
    (&raw const TGT_ATTRS.0[2]).cast_mut(),
    null_mut(),
]);

static LUN_ATTRS: Static<[b::configfs_attribute; 2]> = Static([
    attr(c"device", show_tr::<0>, Some(store_tr::<0>)),
    attr(c"read_only", show_tr::<1>, Some(store_tr::<1>)),
]);
static LUN_ATTR_TAB: Static<[*mut b::configfs_attribute; 3]> = Static([
    (&raw const LUN_ATTRS.0[0]).cast_mut(),
    (&raw const LUN_ATTRS.0[1]).cast_mut(),
    null_mut(),
]);

/// `version` of the root (the root is a subsystem, not a [`Node`]).
unsafe extern "C" fn version_show(_item: *mut b::config_item, page: *mut c_char) -> isize {
    // SAFETY: configfs hands us a PAGE_SIZE buffer.
    let buf = unsafe { &mut *page.cast::<[u8; PAGE_SIZE]>() };
    let mut p = Page { buf, len: 0 };
    match writeln!(p, "{}", scst_core::VERSION) {
        Ok(()) => p.len as isize,
        Err(_) => EINVAL.to_errno() as isize,
    }
}
/// `targets/qla2x00t/npiv` read: one line per NPIV port, `<parent wwpn> <wwpn> vp<N>`.
unsafe extern "C" fn npiv_show(_item: *mut b::config_item, page: *mut c_char) -> isize {
    // SAFETY: configfs hands us a zeroed PAGE_SIZE buffer.
    let buf = unsafe { &mut *page.cast::<[u8; PAGE_SIZE]>() };
    let mut p = Page { buf, len: 0 };
    match crate::qla2x00t::fcport::npiv_list(&mut p) {
        Ok(()) => p.len as isize,
        Err(_) => EINVAL.to_errno() as isize,
    }
}

/// What a write to `npiv` asks for.
enum NpivCmd {
    Add(Wwpn, Wwpn, Wwpn),
    Del(Wwpn),
}

const NPIV_USAGE: &str = "expected 'add <parent wwpn> <wwpn> [<wwnn>]' or 'del <wwpn>'";

fn parse_npiv(buf: &[u8]) -> config::CfgResult<NpivCmd> {
    let text = buf.strip_suffix(b"\n").unwrap_or(buf);
    let mut words = text
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let wwpn = |w: Option<&[u8]>| {
        w.ok_or((EINVAL, NPIV_USAGE))
            .and_then(|w| parse_wwpn(w).map_err(|_| (EINVAL, "not a WWPN")))
    };
    let cmd = match words.next() {
        Some(b"add") => {
            let parent = wwpn(words.next())?;
            let port = wwpn(words.next())?;
            // Default node name: the port name with bit 56 flipped (21:.. -> 20:..).
            let node = match words.next() {
                Some(w) => wwpn(Some(w))?,
                None => Wwpn(port.0 ^ (1 << 56)),
            };
            NpivCmd::Add(parent, port, node)
        }
        Some(b"del") => NpivCmd::Del(wwpn(words.next())?),
        _ => return Err((EINVAL, NPIV_USAGE)),
    };
    if words.next().is_some() {
        return Err((EINVAL, NPIV_USAGE));
    }
    Ok(cmd)
}

/// `targets/qla2x00t/npiv` write: creates or deletes an NPIV port on an HBA.
unsafe extern "C" fn npiv_store(
    item: *mut b::config_item,
    page: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: configfs passes the written bytes, `count` of them, valid during the call.
    let buf = unsafe { core::slice::from_raw_parts(page.cast::<u8>(), count) };
    let r = parse_npiv(buf).and_then(|c| match c {
        NpivCmd::Add(parent, port, node) => crate::qla2x00t::fcport::npiv_add(parent, port, node),
        NpivCmd::Del(port) => crate::qla2x00t::fcport::npiv_del(port),
    });
    match r {
        Ok(()) => count as isize,
        Err(e) => refuse(item, "npiv", None, e).to_errno() as isize,
    }
}
static NPIV_ATTRS: Static<[b::configfs_attribute; 1]> =
    Static([attr(c"npiv", npiv_show, Some(npiv_store))]);
static NPIV_ATTR_TAB: Static<[*mut b::configfs_attribute; 2]> =
    Static([(&raw const NPIV_ATTRS.0[0]).cast_mut(), null_mut()]);

static ROOT_ATTRS: Static<[b::configfs_attribute; 1]> =
    Static([attr(c"version", version_show, None)]);
static ROOT_ATTR_TAB: Static<[*mut b::configfs_attribute; 2]> =
    Static([(&raw const ROOT_ATTRS.0[0]).cast_mut(), null_mut()]);

// ------------------------------------------------------------------------- containers

/// `devices/<dev>/`, `initiators/<member>/`, `luns/<N>/`: a node alone.
#[repr(C)]
struct Leaf {
    main: Node,
}

/// `targets/<fabric>/<wwpn>/` with its default groups.
#[repr(C)]
struct TargetDir {
    main: Node,
    groups: Node,
    default: Node,
    default_initiators: Node,
    default_luns: Node,
}

/// `groups/<group>/` with its default groups.
#[repr(C)]
struct GroupDir {
    main: Node,
    initiators: Node,
    luns: Node,
}

/// Frees a container when configfs drops the last reference to its main item.
///
/// # Safety
/// Called by configfs (kref release) with the main item of a `KBox<T>` made by a make_group
/// below; `T` has its main `Node` at offset 0.
unsafe extern "C" fn release_tr<T>(item: *mut b::config_item) {
    // SAFETY: per the contract, `item` is the start of a `KBox<T>` leaked by make_group, and
    // this is its last reference (configfs already freed the name).
    drop(unsafe { KBox::from_raw(item.cast::<T>()) });
}

const fn item_ops(
    release: unsafe extern "C" fn(*mut b::config_item),
) -> b::configfs_item_operations {
    b::configfs_item_operations {
        release: Some(release),
        allow_link: None,
        drop_link: None,
    }
}

static LEAF_OPS: Static<b::configfs_item_operations> = Static(item_ops(release_tr::<Leaf>));
static TARGET_OPS: Static<b::configfs_item_operations> = Static(item_ops(release_tr::<TargetDir>));
static GROUP_OPS: Static<b::configfs_item_operations> = Static(item_ops(release_tr::<GroupDir>));

type MakeFn = unsafe extern "C" fn(*mut b::config_group, *const c_char) -> *mut b::config_group;
type DropFn = unsafe extern "C" fn(*mut b::config_group, *mut b::config_item);

const fn group_ops(make: MakeFn, drop: DropFn) -> b::configfs_group_operations {
    b::configfs_group_operations {
        make_item: None,
        make_group: Some(make),
        disconnect_notify: None,
        drop_item: Some(drop),
        is_visible: None,
        is_bin_visible: None,
    }
}

static MKDIR_OPS: Static<b::configfs_group_operations> = Static(group_ops(make_tr, drop_tr));
static ROOT_MKDIR_OPS: Static<b::configfs_group_operations> =
    Static(group_ops(root_make_tr, drop_tr));

const fn item_type(
    item: Option<&'static Static<b::configfs_item_operations>>,
    group: Option<&'static Static<b::configfs_group_operations>>,
    attrs: *const *mut b::configfs_attribute,
) -> b::config_item_type {
    b::config_item_type {
        ct_owner: OWNER,
        ct_item_ops: match item {
            Some(i) => &i.0,
            None => core::ptr::null(),
        },
        ct_group_ops: match group {
            Some(g) => &g.0,
            None => core::ptr::null(),
        },
        ct_attrs: attrs.cast_mut(),
        ct_bin_attrs: null_mut(),
    }
}

const NO_ATTRS: *const *mut b::configfs_attribute = core::ptr::null();

static T_ROOT: Static<b::config_item_type> = Static(item_type(
    None,
    Some(&ROOT_MKDIR_OPS),
    ROOT_ATTR_TAB.0.as_ptr(),
));
/// Default groups without mkdir (`targets/`, `groups/default/`): `make` refuses with a log
/// line rather than configfs's silent EPERM.
static T_PLAIN: Static<b::config_item_type> = Static(item_type(None, Some(&MKDIR_OPS), NO_ATTRS));
/// Default groups where mkdir makes children (`devices/`, fabrics, `groups/`, `initiators/`,
/// `luns/`); make/drop dispatch on the parent's [`Ctx`].
static T_MKDIR: Static<b::config_item_type> = Static(item_type(None, Some(&MKDIR_OPS), NO_ATTRS));
/// `targets/qla2x00t/`: mkdir makes FC targets; `npiv` manages NPIV ports.
static T_FABRIC_QLA: Static<b::config_item_type> =
    Static(item_type(None, Some(&MKDIR_OPS), NPIV_ATTR_TAB.0.as_ptr()));
static T_DEVICE: Static<b::config_item_type> = Static(item_type(
    Some(&LEAF_OPS),
    Some(&MKDIR_OPS),
    DEV_ATTR_TAB.0.as_ptr(),
));
static T_TARGET_LOCAL: Static<b::config_item_type> = Static(item_type(
    Some(&TARGET_OPS),
    Some(&MKDIR_OPS),
    TGT_ATTR_TAB.0.as_ptr(),
));
static T_TARGET_QLA: Static<b::config_item_type> = Static(item_type(
    Some(&TARGET_OPS),
    Some(&MKDIR_OPS),
    QLA_TGT_ATTR_TAB.0.as_ptr(),
));
static T_GROUP: Static<b::config_item_type> =
    Static(item_type(Some(&GROUP_OPS), Some(&MKDIR_OPS), NO_ATTRS));
static T_MEMBER: Static<b::config_item_type> =
    Static(item_type(Some(&LEAF_OPS), Some(&MKDIR_OPS), NO_ATTRS));
static T_LUN: Static<b::config_item_type> = Static(item_type(
    Some(&LEAF_OPS),
    Some(&MKDIR_OPS),
    LUN_ATTR_TAB.0.as_ptr(),
));

// ------------------------------------------------------------------------- mkdir / rmdir

fn err_ptr(e: Error) -> *mut b::config_group {
    // ERR_PTR: the negative errno as an address in the top page.
    core::ptr::without_provenance_mut(e.to_errno() as isize as usize)
}

/// `mkdir` under one of our `T_MKDIR` groups.
///
/// # Safety
/// Called by configfs (under the subsystem mutex) with a live parent group of type `T_MKDIR`
/// (always a [`Node`]) and a NUL-terminated name.
unsafe extern "C" fn make_tr(
    parent: *mut b::config_group,
    name: *const c_char,
) -> *mut b::config_group {
    // SAFETY: per the contract.
    let (pnode, cname) = unsafe { (node(parent.cast()), CStr::from_ptr(name.cast())) };
    match make(pnode.ctx, cname) {
        Ok(g) => g,
        Err(e) => err_ptr(refuse(parent.cast(), "", Some(cname.to_bytes()), e)),
    }
}

/// `mkdir` in `ferrule/` itself (the root is not a [`Node`]).
///
/// # Safety
/// Called by configfs with the live root group and a NUL-terminated name.
unsafe extern "C" fn root_make_tr(
    parent: *mut b::config_group,
    name: *const c_char,
) -> *mut b::config_group {
    // SAFETY: per the contract.
    let cname = unsafe { CStr::from_ptr(name.cast()) };
    let e = (EPERM, "cannot create directories here");
    err_ptr(refuse(parent.cast(), "", Some(cname.to_bytes()), e))
}

fn oom() -> config::Fail {
    (ENOMEM, "out of memory")
}

/// Boxes and initialises a leaf node; the tree entry already exists.
fn leaf(
    ctx: Ctx,
    name: &CStr,
    ty: &'static Static<b::config_item_type>,
) -> CfgResult<*mut b::config_group> {
    let dir = KBox::new(
        Leaf {
            main: Node::new(ctx),
        },
        GFP_KERNEL,
    )
    .map_err(|_| oom())?;
    let dir = KBox::into_raw(dir);
    // SAFETY: `dir` is a fresh heap allocation, freed only by `release_tr::<Leaf>` (the
    // type's release) once configfs drops the last reference.
    unsafe { (*dir).main.init(name, ty) };
    // SAFETY: `dir` is valid (just allocated).
    Ok(unsafe { (*dir).main.grp() })
}

fn make(pctx: Ctx, name: &CStr) -> CfgResult<*mut b::config_group> {
    let bytes = name.to_bytes();
    let tree = tree().map_err(|e| (e, "module is unloading"))?;
    let mut t = tree.lock();
    match pctx {
        Ctx::Devices => {
            let id = t.add_device(bytes)?;
            match leaf(Ctx::Device(id), name, &T_DEVICE) {
                Ok(g) => {
                    t.set_device_item(id, g.cast());
                    Ok(g)
                }
                Err(e) => {
                    t.remove_device(id);
                    Err(e)
                }
            }
        }
        Ctx::Fabric(f) => {
            let id = t.add_target(f, bytes)?;
            let dir = KBox::new(
                TargetDir {
                    main: Node::new(Ctx::Target(id)),
                    groups: Node::new(Ctx::Groups(id)),
                    default: Node::new(Ctx::Group(id, GroupId::DEFAULT)),
                    default_initiators: Node::new(Ctx::Initiators(id, GroupId::DEFAULT)),
                    default_luns: Node::new(Ctx::Luns(id, GroupId::DEFAULT)),
                },
                GFP_KERNEL,
            );
            let Ok(dir) = dir else {
                t.remove_target(id);
                return Err(oom());
            };
            let d = KBox::into_raw(dir);
            let ty = if f == Fabric::Local {
                &T_TARGET_LOCAL
            } else {
                &T_TARGET_QLA
            };
            // SAFETY: `d` is a fresh allocation freed only by `release_tr::<TargetDir>` when
            // the main item's last reference goes; the default groups live inside it and
            // are unlinked by configfs before the main item can be released.
            unsafe {
                (*d).main.init(name, ty);
                (*d).main.add_default(&(*d).groups, c"groups", &T_MKDIR);
                (*d).groups.add_default(&(*d).default, c"default", &T_PLAIN);
                (*d).default
                    .add_default(&(*d).default_initiators, c"initiators", &T_MKDIR);
                (*d).default
                    .add_default(&(*d).default_luns, c"luns", &T_MKDIR);
                Ok((*d).main.grp())
            }
        }
        Ctx::Groups(target) => {
            let g = t.add_group(target, bytes)?;
            let dir = KBox::new(
                GroupDir {
                    main: Node::new(Ctx::Group(target, g)),
                    initiators: Node::new(Ctx::Initiators(target, g)),
                    luns: Node::new(Ctx::Luns(target, g)),
                },
                GFP_KERNEL,
            );
            let Ok(dir) = dir else {
                t.remove_group(target, g);
                return Err(oom());
            };
            let d = KBox::into_raw(dir);
            // SAFETY: as for targets, with `release_tr::<GroupDir>`.
            unsafe {
                (*d).main.init(name, &T_GROUP);
                (*d).main
                    .add_default(&(*d).initiators, c"initiators", &T_MKDIR);
                (*d).main.add_default(&(*d).luns, c"luns", &T_MKDIR);
                Ok((*d).main.grp())
            }
        }
        Ctx::Initiators(target, g) => {
            let spec = t.add_member(target, g, bytes)?;
            leaf(Ctx::Member(target, g, spec), name, &T_MEMBER).inspect_err(|_| {
                t.remove_member(target, g, spec);
            })
        }
        Ctx::Luns(target, g) => {
            let lun = t.add_lun(target, g, bytes)?;
            leaf(Ctx::Lun(target, g, lun), name, &T_LUN).inspect_err(|_| {
                t.remove_lun(target, g, lun);
            })
        }
        _ => Err((EPERM, "cannot create directories here")),
    }
}

/// `rmdir` of a child of one of our `T_MKDIR` groups (configfs has checked it is empty and
/// not pinned by a LUN).
///
/// # Safety
/// Called by configfs with the live child item, made by [`make_tr`], of a live parent.
unsafe extern "C" fn drop_tr(_parent: *mut b::config_group, item: *mut b::config_item) {
    // SAFETY: per the contract, children of T_MKDIR groups are Nodes.
    let ctx = unsafe { node(item) }.ctx;
    if let Ok(tree) = tree() {
        let mut t = tree.lock();
        match ctx {
            Ctx::Device(d) => t.remove_device(d),
            Ctx::Target(id) => t.remove_target(id),
            Ctx::Group(id, g) => t.remove_group(id, g),
            Ctx::Member(id, g, spec) => t.remove_member(id, g, spec),
            Ctx::Lun(id, g, l) => {
                if let Some(item) = t
                    .remove_lun(id, g, l)
                    .and_then(|d| t.device(d).ok())
                    .map(|d| d.item)
                {
                    // SAFETY: the LUN held a configfs dependency on this live device item.
                    unsafe { b::configfs_undepend_item(item) };
                }
            }
            _ => {}
        }
    }
    // SAFETY: drops the reference make_group returned (configfs leaves that to drop_item).
    unsafe { b::config_item_put(item) };
}

// ------------------------------------------------------------------------- the root

/// `ferrule/` and its default groups, owned by the module.
#[repr(C)]
struct RootDirs {
    subsys: Opaque<b::configfs_subsystem>,
    devices: Node,
    targets: Node,
    local: Node,
    qla: Node,
}

static SUBSYS: AtomicPtr<b::configfs_subsystem> = AtomicPtr::new(null_mut());

fn subsys() -> *mut b::configfs_subsystem {
    SUBSYS.load(Ordering::Acquire)
}

/// The registered tree; unregisters on drop.
pub(crate) struct ConfigFs {
    dirs: Pin<KBox<RootDirs>>,
    _tree: Pin<KBox<Mutex<Tree>>>,
}

impl ConfigFs {
    /// Builds and registers `/sys/kernel/config/ferrule/`.
    pub(crate) fn register() -> Result<Self> {
        let tree = KBox::pin_init(new_mutex!(Tree::new()), GFP_KERNEL)?;
        let dirs = KBox::pin(
            RootDirs {
                subsys: Opaque::zeroed(),
                devices: Node::new(Ctx::Devices),
                targets: Node::new(Ctx::Plain),
                local: Node::new(Ctx::Fabric(Fabric::Local)),
                qla: Node::new(Ctx::Fabric(Fabric::Qla)),
            },
            GFP_KERNEL,
        )?;
        let s = dirs.subsys.get();
        // SAFETY: `dirs` is pinned and lives in `Self` until after unregistration; the
        // subsystem and nodes are zeroed memory initialised here once, before configfs sees
        // them. The root group is `su_group` (offset 0 of the subsystem).
        unsafe {
            let root = &raw mut (*s).su_group;
            b::config_group_init_type_name(root, c"ferrule".as_ptr().cast(), &T_ROOT.0);
            b::__mutex_init(
                &raw mut (*s).su_mutex,
                c"ferrule_cfs".as_ptr().cast(),
                kernel::static_lock_class!().as_ptr(),
            );
            for (n, name, ty) in [
                (&dirs.devices, c"devices", &T_MKDIR),
                (&dirs.targets, c"targets", &T_PLAIN),
            ] {
                n.init(name, ty);
                crate::bindings::ferrule_h_configfs_add_default_group(n.grp(), root);
            }
            dirs.targets.add_default(&dirs.local, c"local", &T_MKDIR);
            dirs.targets
                .add_default(&dirs.qla, c"qla2x00t", &T_FABRIC_QLA);
        }
        let tree_ptr: *const Mutex<Tree> = &*tree;
        TREE.store(tree_ptr.cast_mut(), Ordering::Release);
        SUBSYS.store(s, Ordering::Release);
        // SAFETY: the root item lives in `dirs` (pinned).
        ROOT_ITEM.store(unsafe { &raw mut (*s).su_group.cg_item }, Ordering::Release);
        // SAFETY: the subsystem is fully initialised above and outlives its registration.
        let rc = unsafe { b::configfs_register_subsystem(s) };
        if rc != 0 {
            TREE.store(null_mut(), Ordering::Release);
            SUBSYS.store(null_mut(), Ordering::Release);
            return Err(Error::from_errno(rc));
        }
        Ok(ConfigFs { dirs, _tree: tree })
    }
}

impl Drop for ConfigFs {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; the module cannot be unloading while a child
        // directory or open attribute exists (each pins the module), so only default groups
        // remain and configfs removes them. No callback runs after this returns.
        unsafe { b::configfs_unregister_subsystem(self.dirs.subsys.get()) };
        TREE.store(null_mut(), Ordering::Release);
        SUBSYS.store(null_mut(), Ordering::Release);
        ROOT_ITEM.store(null_mut(), Ordering::Release);
    }
}

// SAFETY: the raw state is only touched through configfs callbacks and register/drop, which
// do not depend on the thread.
unsafe impl Send for ConfigFs {}
// SAFETY: `ConfigFs` has no methods taking `&self`.
unsafe impl Sync for ConfigFs {}
