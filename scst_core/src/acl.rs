//! Access control for one target: initiator groups, their LUN maps, and the per-session
//! resolved view used on the command path.
//!
//! # Resolution order (documented contract)
//! 1. A group listing the initiator's exact WWPN (a WWPN is in at most one group).
//! 2. Otherwise the group whose wildcard pattern matching the WWPN is the most specific
//!    (most fixed bits); on a tie, the group created earlier.
//! 3. Otherwise the default group, which exports nothing until LUNs are mapped into it.
//!
//! Every successful change bumps [`AclTable::generation`]; a failed change returns a typed
//! error and leaves the table exactly as it was.

use core::fmt;

use crate::types::{Asc, DeviceId, Lun, Wwpn};

/// Named groups per target (the default group comes on top).
pub const MAX_GROUPS: usize = 64;
/// Exact initiator WWPNs per target, all groups together.
pub const MAX_INITIATORS: usize = 1024;
/// Wildcard patterns per target, all groups together.
pub const MAX_PATTERNS: usize = 64;
/// LUN numbers per group: LUNs 0..MAX_LUNS (peripheral addressing), so a resolved map is a
/// direct-indexed array.
pub const MAX_LUNS: usize = 256;
/// Longest group name in bytes.
pub const GROUP_NAME_MAX: usize = 32;
/// Name of the implicit group for initiators no other group matches.
pub const DEFAULT_GROUP_NAME: &[u8] = b"default";

// ------------------------------------------------------------------ WWPN text

/// Why a WWPN or pattern text was refused. Positions are byte offsets into the input as
/// given (before trimming), fields count from 0.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WwpnParseError {
    /// Nothing but whitespace.
    Empty,
    /// A byte that is not a hex digit (or `:` / `*` where those are allowed).
    BadChar {
        /// Byte offset of the bad byte.
        pos: usize,
        /// The byte.
        byte: u8,
    },
    /// A colon-separated field is not exactly two hex digits (or `*` in a pattern).
    BadField {
        /// Index of the field.
        field: usize,
    },
    /// Colon form with other than 8 fields (patterns: more than 8, or fewer without a
    /// trailing `*`).
    FieldCount {
        /// Number of fields seen.
        fields: usize,
    },
    /// Form without colons with other than 16 hex digits.
    DigitCount {
        /// Number of digits seen.
        digits: usize,
    },
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Input trimmed of ASCII whitespace, with the offset of its first byte.
fn trim(s: &[u8]) -> (usize, &[u8]) {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e.saturating_add(1));
    (start, s.get(start..end).unwrap_or(&[]))
}

/// One colon form field: `Some(byte)` or `None` for `*` (when `wild` allows it).
fn parse_field(
    field: &[u8],
    index: usize,
    offset: usize,
    wild: bool,
) -> Result<Option<u8>, WwpnParseError> {
    if wild && field == b"*" {
        return Ok(None);
    }
    let mut v = 0u8;
    for (i, &b) in field.iter().enumerate() {
        let Some(d) = hex_value(b) else {
            return Err(WwpnParseError::BadChar {
                pos: offset.saturating_add(i),
                byte: b,
            });
        };
        v = (v << 4) | d;
    }
    if field.len() != 2 {
        return Err(WwpnParseError::BadField { field: index });
    }
    Ok(Some(v))
}

/// Parses `21:00:00:24:ff:31:4c:5a`, `21000024ff314c5a` or `0x21000024FF314C5A` (any case,
/// surrounding whitespace ignored).
pub fn parse_wwpn(text: &[u8]) -> Result<Wwpn, WwpnParseError> {
    let (off, s) = trim(text);
    if s.is_empty() {
        return Err(WwpnParseError::Empty);
    }
    if s.contains(&b':') {
        let mut bytes = [0u8; 8];
        let mut fields = 0usize;
        let mut field_start = 0usize;
        for (i, part) in s.split(|&b| b == b':').enumerate() {
            let v = parse_field(part, i, off.saturating_add(field_start), false)?;
            if let (Some(slot), Some(v)) = (bytes.get_mut(i), v) {
                *slot = v;
            }
            fields = i.saturating_add(1);
            field_start = field_start.saturating_add(part.len()).saturating_add(1);
        }
        if fields != 8 {
            return Err(WwpnParseError::FieldCount { fields });
        }
        return Ok(Wwpn::from_be_bytes(bytes));
    }
    let (skip, digits) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (2usize, rest),
        _ => (0, s),
    };
    let mut v = 0u64;
    for (i, &b) in digits.iter().enumerate() {
        let Some(d) = hex_value(b) else {
            return Err(WwpnParseError::BadChar {
                pos: off.saturating_add(skip).saturating_add(i),
                byte: b,
            });
        };
        v = (v << 4) | u64::from(d);
    }
    if digits.len() != 16 {
        return Err(WwpnParseError::DigitCount {
            digits: digits.len(),
        });
    }
    Ok(Wwpn(v))
}

/// Canonical text of a WWPN: lowercase, colon separated (`21:00:00:24:ff:31:4c:5a`).
pub fn format_wwpn(w: Wwpn) -> [u8; 23] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b':'; 23];
    for (i, b) in w.to_be_bytes().iter().enumerate() {
        let at = i.saturating_mul(3);
        if let Some(o) = out.get_mut(at) {
            *o = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'?');
        }
        if let Some(o) = out.get_mut(at.saturating_add(1)) {
            *o = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'?');
        }
    }
    out
}

/// `Display` adapter printing a WWPN in canonical form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WwpnText(pub Wwpn);

impl fmt::Display for WwpnText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.to_be_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ patterns

/// A WWPN pattern: `value` under `mask`, byte-granular (each mask byte is 0x00 or 0xff).
/// Text form: colon fields that are two hex digits or `*` (one byte); with fewer than 8
/// fields a trailing `*` covers all remaining bytes, so `21:00:00:24:ff:*` and `*` work.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct WwpnPattern {
    value: u64,
    mask: u64,
}

impl WwpnPattern {
    /// Matches every WWPN.
    pub const ANY: WwpnPattern = WwpnPattern { value: 0, mask: 0 };

    /// Matches exactly `w`.
    pub const fn exact(w: Wwpn) -> Self {
        WwpnPattern {
            value: w.0,
            mask: u64::MAX,
        }
    }

    /// Builds a pattern; `None` unless every mask byte is 0x00 or 0xff.
    pub const fn new(value: u64, mask: u64) -> Option<Self> {
        let mut i = 0;
        while i < 8 {
            let b = (mask >> (i * 8)) & 0xff;
            if b != 0 && b != 0xff {
                return None;
            }
            i += 1;
        }
        Some(WwpnPattern {
            value: value & mask,
            mask,
        })
    }

    /// The fixed bits.
    pub const fn value(self) -> u64 {
        self.value
    }
    /// Which bits are fixed.
    pub const fn mask(self) -> u64 {
        self.mask
    }
    /// Number of fixed bits: the higher, the more specific.
    pub const fn specificity(self) -> u32 {
        self.mask.count_ones()
    }
    /// Whether `w` matches.
    pub const fn matches(self, w: Wwpn) -> bool {
        w.0 & self.mask == self.value
    }

    /// Parses the text form (surrounding whitespace ignored).
    pub fn parse(text: &[u8]) -> Result<Self, WwpnParseError> {
        let (off, s) = trim(text);
        if s.is_empty() {
            return Err(WwpnParseError::Empty);
        }
        let nfields = s.split(|&b| b == b':').count();
        if nfields > 8 {
            return Err(WwpnParseError::FieldCount { fields: nfields });
        }
        let mut value = 0u64;
        let mut mask = 0u64;
        let mut field_start = 0usize;
        let mut byte_index = 0usize;
        for (i, part) in s.split(|&b| b == b':').enumerate() {
            let last = i.saturating_add(1) == nfields;
            let v = parse_field(part, i, off.saturating_add(field_start), true)?;
            // A trailing `*` in a short pattern covers the rest of the 8 bytes.
            let width = if last && v.is_none() {
                8usize.saturating_sub(i)
            } else {
                1
            };
            for _ in 0..width {
                let shift = 8usize
                    .saturating_sub(byte_index.saturating_add(1))
                    .saturating_mul(8) as u32;
                if let Some(b) = v {
                    value |= u64::from(b).checked_shl(shift).unwrap_or(0);
                    mask |= 0xffu64.checked_shl(shift).unwrap_or(0);
                }
                byte_index = byte_index.saturating_add(1);
            }
            field_start = field_start.saturating_add(part.len()).saturating_add(1);
        }
        if byte_index != 8 {
            return Err(WwpnParseError::FieldCount { fields: nfields });
        }
        Ok(WwpnPattern { value, mask })
    }
}

impl fmt::Display for WwpnPattern {
    /// Canonical text: trailing wildcard bytes collapse into one `*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value.to_be_bytes();
        let m = self.mask.to_be_bytes();
        let fixed_len = m
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |p| p.saturating_add(1));
        for i in 0..fixed_len {
            if i > 0 {
                f.write_str(":")?;
            }
            match (m.get(i), v.get(i)) {
                (Some(0), _) => f.write_str("*")?,
                (_, Some(b)) => write!(f, "{b:02x}")?,
                _ => {}
            }
        }
        if fixed_len < 8 {
            if fixed_len > 0 {
                f.write_str(":")?;
            }
            f.write_str("*")?;
        }
        Ok(())
    }
}

/// A group member as written in configuration: an exact WWPN or a pattern.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MemberSpec {
    /// One initiator.
    Exact(Wwpn),
    /// A wildcard pattern (at least one `*`).
    Pattern(WwpnPattern),
}

/// Parses a member: text with a `*` is a pattern, anything else a WWPN.
pub fn parse_member(text: &[u8]) -> Result<MemberSpec, WwpnParseError> {
    if text.contains(&b'*') {
        WwpnPattern::parse(text).map(MemberSpec::Pattern)
    } else {
        parse_wwpn(text).map(MemberSpec::Exact)
    }
}

// ------------------------------------------------------------------ table

/// A group of one target: slot plus a serial that is never reused, so a `GroupId` kept past
/// the group's removal is refused (`UnknownGroup`) instead of naming a new group.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GroupId {
    slot: u16,
    serial: u32,
}

impl GroupId {
    /// The default group (initiators no other group matches).
    pub const DEFAULT: GroupId = GroupId {
        slot: u16::MAX,
        serial: 0,
    };
    /// Whether this is the default group.
    pub const fn is_default(self) -> bool {
        self.slot == u16::MAX && self.serial == 0
    }
}

/// What a LUN of a group maps to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LunMapping {
    /// Backing device.
    pub device: DeviceId,
    /// Writes are refused with DATA PROTECT / WRITE PROTECTED.
    pub read_only: bool,
}

/// Why a configuration change was refused (the table is unchanged).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AclError {
    /// Group name empty, longer than [`GROUP_NAME_MAX`], or with bytes other than
    /// `A-Z a-z 0-9 . _ - :`.
    BadName,
    /// A group with this name exists (`default` is taken by the default group).
    DuplicateName,
    /// No such group (removed, or never existed).
    UnknownGroup,
    /// The default group has no explicit members and cannot be removed.
    DefaultGroup,
    /// [`MAX_GROUPS`] groups exist.
    GroupsFull,
    /// [`MAX_INITIATORS`] exact WWPNs exist.
    InitiatorsFull,
    /// [`MAX_PATTERNS`] patterns exist.
    PatternsFull,
    /// The WWPN is already listed, in this group or `group`.
    DuplicateWwpn {
        /// Group that lists it.
        group: GroupId,
    },
    /// The same pattern is already listed, in this group or `group`.
    DuplicatePattern {
        /// Group that lists it.
        group: GroupId,
    },
    /// WWPN 0 is not a port name.
    ZeroWwpn,
    /// The WWPN or pattern is not listed in that group.
    NotMember,
    /// LUN number ≥ [`MAX_LUNS`].
    LunOutOfRange,
    /// The LUN is already mapped in that group.
    LunAlreadyMapped,
    /// The LUN is not mapped in that group.
    LunNotMapped,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Group {
    name: [u8; GROUP_NAME_MAX],
    name_len: u8,
    serial: u32,
}

type LunArray = [Option<LunMapping>; MAX_LUNS];
const EMPTY_LUNS: LunArray = [None; MAX_LUNS];
/// Shared empty map, so no code path builds a 2 KiB temporary.
static EMPTY_ROW: LunArray = EMPTY_LUNS;
/// Row of [`AclTable::luns`] holding the default group's map.
const DEFAULT_ROW: usize = MAX_GROUPS;

impl Group {
    fn name(&self) -> &[u8] {
        self.name.get(..usize::from(self.name_len)).unwrap_or(&[])
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Member {
    wwpn: Wwpn,
    group: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct PatternEntry {
    pattern: WwpnPattern,
    group: u16,
}

/// The ACL configuration of one target. About 150 KiB: construct with `new()` into boxed
/// storage.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AclTable {
    groups: [Option<Group>; MAX_GROUPS],
    /// LUN maps, one row per group slot plus the default group's row; kept outside
    /// `groups` so no change builds a 2 KiB group value on the stack.
    luns: [LunArray; MAX_GROUPS + 1],
    members: [Option<Member>; MAX_INITIATORS],
    patterns: [Option<PatternEntry>; MAX_PATTERNS],
    next_serial: u32,
    generation: u64,
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= GROUP_NAME_MAX
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

impl AclTable {
    /// No groups; the default group exports nothing.
    // No `Default`: the table is ~160 KiB and must never be built on a kernel stack; build it
    // in place (`const` context, a zeroed box) — see the type's docs.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        AclTable {
            groups: [None; MAX_GROUPS],
            luns: [EMPTY_LUNS; MAX_GROUPS + 1],
            members: [None; MAX_INITIATORS],
            patterns: [None; MAX_PATTERNS],
            next_serial: 1,
            generation: 1,
        }
    }

    /// Makes `self` an exact copy of `other` (generation included) in place: row by row, so
    /// no table-sized temporary is built (the kernel copies a configfs target's table into
    /// its live target with this).
    pub fn copy_from(&mut self, other: &Self) {
        for (d, s) in self.groups.iter_mut().zip(other.groups.iter()) {
            *d = *s;
        }
        for (d, s) in self.luns.iter_mut().zip(other.luns.iter()) {
            for (d, s) in d.iter_mut().zip(s.iter()) {
                *d = *s;
            }
        }
        for (d, s) in self.members.iter_mut().zip(other.members.iter()) {
            *d = *s;
        }
        for (d, s) in self.patterns.iter_mut().zip(other.patterns.iter()) {
            *d = *s;
        }
        self.next_serial = other.next_serial;
        self.generation = other.generation;
    }

    /// Configuration generation: changes on every successful change.
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    fn group(&self, g: GroupId) -> Result<&Group, AclError> {
        match self.groups.get(usize::from(g.slot)) {
            Some(Some(grp)) if grp.serial == g.serial => Ok(grp),
            _ => Err(AclError::UnknownGroup),
        }
    }

    fn id_of(&self, slot: u16) -> GroupId {
        match self.groups.get(usize::from(slot)) {
            Some(Some(grp)) => GroupId {
                slot,
                serial: grp.serial,
            },
            _ => GroupId::DEFAULT,
        }
    }

    /// Explicit (non-default) group, validated.
    fn explicit(&self, g: GroupId) -> Result<u16, AclError> {
        if g.is_default() {
            return Err(AclError::DefaultGroup);
        }
        self.group(g).map(|_| g.slot)
    }

    fn row(&self, g: GroupId) -> Result<usize, AclError> {
        if g.is_default() {
            return Ok(DEFAULT_ROW);
        }
        self.group(g).map(|_| usize::from(g.slot))
    }

    fn luns(&self, g: GroupId) -> Result<&LunArray, AclError> {
        let row = self.row(g)?;
        self.luns.get(row).ok_or(AclError::UnknownGroup)
    }

    fn luns_mut(&mut self, g: GroupId) -> Result<&mut LunArray, AclError> {
        let row = self.row(g)?;
        self.luns.get_mut(row).ok_or(AclError::UnknownGroup)
    }

    /// Creates an empty group.
    pub fn add_group(&mut self, name: &[u8]) -> Result<GroupId, AclError> {
        if !valid_name(name) {
            return Err(AclError::BadName);
        }
        if self.group_by_name(name).is_some() {
            return Err(AclError::DuplicateName);
        }
        let Some(slot) = self.groups.iter().position(Option::is_none) else {
            return Err(AclError::GroupsFull);
        };
        let Some(next) = self.next_serial.checked_add(1) else {
            return Err(AclError::GroupsFull);
        };
        let mut g = Group {
            name: [0; GROUP_NAME_MAX],
            name_len: 0,
            serial: self.next_serial,
        };
        if let Some(dst) = g.name.get_mut(..name.len()) {
            dst.copy_from_slice(name);
        }
        g.name_len = name.len() as u8;
        let id = GroupId {
            slot: slot as u16,
            serial: g.serial,
        };
        if let Some(s) = self.groups.get_mut(slot) {
            *s = Some(g);
        }
        if let Some(row) = self.luns.get_mut(slot) {
            row.fill(None);
        }
        self.next_serial = next;
        self.bump();
        Ok(id)
    }

    /// Removes a group with its members, patterns and LUN map; its initiators fall back to
    /// whatever else matches them.
    pub fn remove_group(&mut self, g: GroupId) -> Result<(), AclError> {
        let slot = self.explicit(g)?;
        for m in self.members.iter_mut() {
            if m.is_some_and(|m| m.group == slot) {
                *m = None;
            }
        }
        for p in self.patterns.iter_mut() {
            if p.is_some_and(|p| p.group == slot) {
                *p = None;
            }
        }
        if let Some(s) = self.groups.get_mut(usize::from(slot)) {
            *s = None;
        }
        if let Some(row) = self.luns.get_mut(usize::from(slot)) {
            row.fill(None);
        }
        self.bump();
        Ok(())
    }

    /// The group called `name` (`default` names the default group).
    pub fn group_by_name(&self, name: &[u8]) -> Option<GroupId> {
        if name == DEFAULT_GROUP_NAME {
            return Some(GroupId::DEFAULT);
        }
        (0..MAX_GROUPS).find_map(|i| match self.groups.get(i) {
            Some(Some(g)) if g.name() == name => Some(GroupId {
                slot: i as u16,
                serial: g.serial,
            }),
            _ => None,
        })
    }

    /// The name of a group.
    pub fn group_name(&self, g: GroupId) -> Result<&[u8], AclError> {
        if g.is_default() {
            return Ok(DEFAULT_GROUP_NAME);
        }
        self.group(g).map(Group::name)
    }

    /// All explicit groups, in slot order (call `group_name` for names).
    pub fn groups(&self) -> impl Iterator<Item = GroupId> + '_ {
        (0..MAX_GROUPS as u16).filter_map(|i| match self.groups.get(usize::from(i)) {
            Some(Some(g)) => Some(GroupId {
                slot: i,
                serial: g.serial,
            }),
            _ => None,
        })
    }

    /// Exact WWPNs listed in `g`.
    pub fn initiators(&self, g: GroupId) -> impl Iterator<Item = Wwpn> + '_ {
        let slot = self.explicit(g).ok();
        self.members
            .iter()
            .flatten()
            .filter(move |m| Some(m.group) == slot)
            .map(|m| m.wwpn)
    }

    /// Patterns listed in `g`.
    pub fn patterns(&self, g: GroupId) -> impl Iterator<Item = WwpnPattern> + '_ {
        let slot = self.explicit(g).ok();
        self.patterns
            .iter()
            .flatten()
            .filter(move |p| Some(p.group) == slot)
            .map(|p| p.pattern)
    }

    /// LUNs mapped in `g`, ascending.
    pub fn luns_of(&self, g: GroupId) -> impl Iterator<Item = (u16, LunMapping)> + '_ {
        let luns = self.luns(g).ok();
        (0..MAX_LUNS as u16).filter_map(move |i| Some((i, (*luns?.get(usize::from(i))?)?)))
    }

    fn member_index(&self, w: Wwpn) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.is_some_and(|m| m.wwpn == w))
    }

    /// Lists `w` in `g`.
    pub fn add_initiator(&mut self, g: GroupId, w: Wwpn) -> Result<(), AclError> {
        let slot = self.explicit(g)?;
        if w.0 == 0 {
            return Err(AclError::ZeroWwpn);
        }
        if let Some(i) = self.member_index(w) {
            let owner = self
                .members
                .get(i)
                .copied()
                .flatten()
                .map_or(GroupId::DEFAULT, |m| self.id_of(m.group));
            return Err(AclError::DuplicateWwpn { group: owner });
        }
        let Some(free) = self.members.iter().position(Option::is_none) else {
            return Err(AclError::InitiatorsFull);
        };
        if let Some(m) = self.members.get_mut(free) {
            *m = Some(Member {
                wwpn: w,
                group: slot,
            });
        }
        self.bump();
        Ok(())
    }

    /// Removes `w` from `g`.
    pub fn remove_initiator(&mut self, g: GroupId, w: Wwpn) -> Result<(), AclError> {
        let slot = self.explicit(g)?;
        let i = self.member_index(w).ok_or(AclError::NotMember)?;
        match self.members.get_mut(i) {
            Some(m) if m.is_some_and(|m| m.group == slot) => *m = None,
            _ => return Err(AclError::NotMember),
        }
        self.bump();
        Ok(())
    }

    /// Moves the listed WWPN `w` (in whichever group) to `to`.
    pub fn move_initiator(&mut self, w: Wwpn, to: GroupId) -> Result<(), AclError> {
        let slot = self.explicit(to)?;
        let i = self.member_index(w).ok_or(AclError::NotMember)?;
        if let Some(Some(m)) = self.members.get_mut(i) {
            if m.group == slot {
                return Ok(());
            }
            m.group = slot;
        }
        self.bump();
        Ok(())
    }

    fn pattern_index(&self, p: WwpnPattern) -> Option<usize> {
        self.patterns
            .iter()
            .position(|e| e.is_some_and(|e| e.pattern == p))
    }

    /// Lists a pattern in `g`. A pattern without wildcard bytes is an exact WWPN and is
    /// stored as one.
    pub fn add_pattern(&mut self, g: GroupId, p: WwpnPattern) -> Result<(), AclError> {
        if p.mask == u64::MAX {
            return self.add_initiator(g, Wwpn(p.value));
        }
        let slot = self.explicit(g)?;
        if let Some(i) = self.pattern_index(p) {
            let owner = self
                .patterns
                .get(i)
                .copied()
                .flatten()
                .map_or(GroupId::DEFAULT, |e| self.id_of(e.group));
            return Err(AclError::DuplicatePattern { group: owner });
        }
        let Some(free) = self.patterns.iter().position(Option::is_none) else {
            return Err(AclError::PatternsFull);
        };
        if let Some(e) = self.patterns.get_mut(free) {
            *e = Some(PatternEntry {
                pattern: p,
                group: slot,
            });
        }
        self.bump();
        Ok(())
    }

    /// Removes a pattern from `g`.
    pub fn remove_pattern(&mut self, g: GroupId, p: WwpnPattern) -> Result<(), AclError> {
        if p.mask == u64::MAX {
            return self.remove_initiator(g, Wwpn(p.value));
        }
        let slot = self.explicit(g)?;
        let i = self.pattern_index(p).ok_or(AclError::NotMember)?;
        match self.patterns.get_mut(i) {
            Some(e) if e.is_some_and(|e| e.group == slot) => *e = None,
            _ => return Err(AclError::NotMember),
        }
        self.bump();
        Ok(())
    }

    /// Adds a member given as [`MemberSpec`].
    pub fn add_member(&mut self, g: GroupId, m: MemberSpec) -> Result<(), AclError> {
        match m {
            MemberSpec::Exact(w) => self.add_initiator(g, w),
            MemberSpec::Pattern(p) => self.add_pattern(g, p),
        }
    }

    /// Maps LUN `lun` of group `g` (the default group included) to `device`.
    pub fn map_lun(
        &mut self,
        g: GroupId,
        lun: u16,
        device: DeviceId,
        read_only: bool,
    ) -> Result<(), AclError> {
        let luns = self.luns_mut(g)?;
        let entry = luns
            .get_mut(usize::from(lun))
            .ok_or(AclError::LunOutOfRange)?;
        if entry.is_some() {
            return Err(AclError::LunAlreadyMapped);
        }
        *entry = Some(LunMapping { device, read_only });
        self.bump();
        Ok(())
    }

    /// Removes LUN `lun` from group `g`.
    pub fn unmap_lun(&mut self, g: GroupId, lun: u16) -> Result<(), AclError> {
        let luns = self.luns_mut(g)?;
        let entry = luns
            .get_mut(usize::from(lun))
            .ok_or(AclError::LunOutOfRange)?;
        if entry.take().is_none() {
            return Err(AclError::LunNotMapped);
        }
        self.bump();
        Ok(())
    }

    /// Changes the read-only flag of a mapped LUN.
    pub fn set_read_only(&mut self, g: GroupId, lun: u16, read_only: bool) -> Result<(), AclError> {
        let luns = self.luns_mut(g)?;
        let entry = luns
            .get_mut(usize::from(lun))
            .ok_or(AclError::LunOutOfRange)?;
        let Some(m) = entry.as_mut() else {
            return Err(AclError::LunNotMapped);
        };
        if m.read_only != read_only {
            m.read_only = read_only;
            self.bump();
        }
        Ok(())
    }

    /// The group `w` belongs to, by the resolution order in the module documentation.
    pub fn resolve(&self, w: Wwpn) -> GroupId {
        if let Some(Some(m)) = self.member_index(w).and_then(|i| self.members.get(i)) {
            return self.id_of(m.group);
        }
        let mut best: Option<(u32, u32, u16)> = None; // (specificity, serial, slot)
        for e in self.patterns.iter().flatten() {
            if !e.pattern.matches(w) {
                continue;
            }
            let Ok(grp) = self.group(self.id_of(e.group)) else {
                continue;
            };
            let cand = (e.pattern.specificity(), grp.serial, e.group);
            best = match best {
                Some(b) if b.0 > cand.0 || (b.0 == cand.0 && b.1 <= cand.1) => Some(b),
                _ => Some(cand),
            };
        }
        best.map_or(GroupId::DEFAULT, |b| self.id_of(b.2))
    }

    /// Resolves `w` into `out` (for a new session or after [`AclTable::check`] said so).
    pub fn resolve_into(&self, w: Wwpn, out: &mut ResolvedMap) {
        let g = self.resolve(w);
        out.wwpn = w;
        out.group = g;
        out.generation = self.generation;
        // Whole-array copy: `copy_from_slice` here trips objtool (rustc 1.96 renamed its panic path).
        out.luns = *self.luns(g).unwrap_or(&EMPTY_ROW);
    }

    /// How `map` differs from what its WWPN resolves to now.
    pub fn check(&self, map: &ResolvedMap) -> MapChange {
        if map.generation == self.generation || map.wwpn.0 == 0 {
            return MapChange::NONE;
        }
        let g = self.resolve(map.wwpn);
        let group_changed = g != map.group;
        let mut luns_changed = false;
        let mut flags_changed = false;
        let now = self.luns(g).unwrap_or(&EMPTY_ROW);
        for (a, b) in now.iter().zip(map.luns.iter()) {
            match (a, b) {
                (Some(a), Some(b)) if a.device == b.device => {
                    flags_changed |= a.read_only != b.read_only
                }
                (None, None) => {}
                _ => luns_changed = true,
            }
        }
        MapChange {
            group_changed,
            luns_changed,
            flags_changed,
        }
    }

    /// For every `(key, map)` of the live sessions, calls `on_change(key, change)` when the
    /// session must re-resolve (and, if [`MapChange::unit_attention`] says so, get a UA).
    pub fn affected<'a, K>(
        &self,
        sessions: impl IntoIterator<Item = (K, &'a ResolvedMap)>,
        on_change: &mut impl FnMut(K, MapChange),
    ) {
        for (k, map) in sessions {
            let c = self.check(map);
            if c.needs_reresolve() {
                on_change(k, c);
            }
        }
    }
}

/// Difference between a session's resolved map and the current configuration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MapChange {
    /// The WWPN now resolves to another group.
    pub group_changed: bool,
    /// Some LUN appeared, disappeared or points to another device.
    pub luns_changed: bool,
    /// Only read-only flags changed.
    pub flags_changed: bool,
}

impl MapChange {
    /// Nothing changed.
    pub const NONE: MapChange = MapChange {
        group_changed: false,
        luns_changed: false,
        flags_changed: false,
    };

    /// The session must call [`AclTable::resolve_into`] before its next command.
    pub const fn needs_reresolve(self) -> bool {
        self.group_changed || self.luns_changed || self.flags_changed
    }

    /// The unit attention to queue for the session's LUNs: REPORTED LUNS DATA HAS CHANGED
    /// when its group or LUN inventory changed. A read-only flip alone needs none here (the
    /// device layer reports write-protect changes).
    pub const fn unit_attention(self) -> Option<Asc> {
        if self.group_changed || self.luns_changed {
            Some(Asc::REPORTED_LUNS_DATA_CHANGED)
        } else {
            None
        }
    }
}

/// Why a LUN lookup on a resolved map failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LunLookupError {
    /// The map was resolved for another WWPN (or never resolved): a bug in the caller, the
    /// command must not run.
    WrongInitiator,
    /// The LUN is not mapped for this initiator (LOGICAL UNIT NOT SUPPORTED).
    NotMapped,
}

/// A session's private copy of its LUN map, resolved for one WWPN. The command path looks
/// LUNs up here without touching (or locking) the [`AclTable`]. About 2 KiB: keep it in the
/// session object, fill it with [`AclTable::resolve_into`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ResolvedMap {
    wwpn: Wwpn,
    group: GroupId,
    generation: u64,
    luns: [Option<LunMapping>; MAX_LUNS],
}

impl Default for ResolvedMap {
    fn default() -> Self {
        Self::new()
    }
}

impl ResolvedMap {
    /// An unresolved map: every lookup fails with `WrongInitiator`.
    pub const fn new() -> Self {
        ResolvedMap {
            wwpn: Wwpn(0),
            group: GroupId::DEFAULT,
            generation: 0,
            luns: EMPTY_LUNS,
        }
    }

    /// The WWPN this map was resolved for (0 = unresolved).
    pub const fn wwpn(&self) -> Wwpn {
        self.wwpn
    }
    /// The group it was resolved to.
    pub const fn group(&self) -> GroupId {
        self.group
    }
    /// The configuration generation it was resolved against.
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// Hot path: the mapping of `lun` for the session whose initiator is `initiator`.
    pub fn lookup(&self, initiator: Wwpn, lun: Lun) -> Result<LunMapping, LunLookupError> {
        if initiator != self.wwpn || self.wwpn.0 == 0 {
            return Err(LunLookupError::WrongInitiator);
        }
        let i = lun.to_index().ok_or(LunLookupError::NotMapped)?;
        self.luns
            .get(usize::from(i))
            .copied()
            .flatten()
            .ok_or(LunLookupError::NotMapped)
    }

    /// The mapped LUNs in ascending order (for REPORT LUNS), if `initiator` owns the map.
    pub fn luns(
        &self,
        initiator: Wwpn,
    ) -> Result<impl Iterator<Item = (Lun, LunMapping)> + '_, LunLookupError> {
        if initiator != self.wwpn || self.wwpn.0 == 0 {
            return Err(LunLookupError::WrongInitiator);
        }
        Ok(self
            .luns
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((Lun::from_index(u16::try_from(i).ok()?), (*m)?))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_from_makes_an_equal_table() {
        let mut a = Box::new(AclTable::new());
        let g = a.add_group(b"vm1").unwrap();
        a.add_initiator(g, Wwpn(0x2100_0024_ff31_4c5a)).unwrap();
        a.map_lun(g, 3, DeviceId(7), true).unwrap();
        a.map_lun(GroupId::DEFAULT, 0, DeviceId(1), false).unwrap();
        let mut b = Box::new(AclTable::new());
        b.add_group(b"other").unwrap();
        b.copy_from(&a);
        assert_eq!(*a, *b);
        assert_eq!(b.generation(), a.generation());
        assert_eq!(b.resolve(Wwpn(0x2100_0024_ff31_4c5a)), g);
        let luns: Vec<_> = b
            .luns_of(g)
            .map(|(l, m)| (l, m.device, m.read_only))
            .collect();
        assert_eq!(luns, vec![(3, DeviceId(7), true)]);
    }
    use std::string::ToString;

    const W1: Wwpn = Wwpn(0x2100_0024_ff31_4c5a);
    const W2: Wwpn = Wwpn(0x2100_0024_ff31_4c5b);
    const W3: Wwpn = Wwpn(0x5001_4380_0000_0001);

    fn pat(s: &str) -> WwpnPattern {
        WwpnPattern::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn wwpn_text_forms() {
        let ok: &[&str] = &[
            "21:00:00:24:ff:31:4c:5a",
            "21:00:00:24:FF:31:4C:5A",
            "21000024ff314c5a",
            "0x21000024FF314c5a",
            "0X21000024ff314c5a",
            "  21:00:00:24:ff:31:4c:5a\n",
        ];
        for s in ok {
            assert_eq!(parse_wwpn(s.as_bytes()), Ok(W1), "{s}");
        }
        assert_eq!(&format_wwpn(W1), b"21:00:00:24:ff:31:4c:5a");
        assert_eq!(WwpnText(W1).to_string(), "21:00:00:24:ff:31:4c:5a");
        assert_eq!(WwpnText(Wwpn(0xab)).to_string(), "00:00:00:00:00:00:00:ab");
    }

    #[test]
    fn wwpn_text_errors_are_precise() {
        use WwpnParseError::*;
        let cases: &[(&str, WwpnParseError)] = &[
            ("", Empty),
            (" \n", Empty),
            (
                "21:00:00:24:ff:31:4c:5g",
                BadChar {
                    pos: 22,
                    byte: b'g',
                },
            ),
            (" 21:0x:00:24:ff:31:4c:5a", BadChar { pos: 5, byte: b'x' }),
            ("21:00:00:24:ff:31:4c", FieldCount { fields: 7 }),
            ("21:00:00:24:ff:31:4c:5a:00", FieldCount { fields: 9 }),
            ("21:00:0:24:ff:31:4c:5a", BadField { field: 2 }),
            ("21:00::24:ff:31:4c:5a", BadField { field: 2 }),
            ("21:00:000:24:ff:31:4c:5a", BadField { field: 2 }),
            ("21000024ff314c5", DigitCount { digits: 15 }),
            ("0x21000024ff314c5a00", DigitCount { digits: 18 }),
            ("0x", DigitCount { digits: 0 }),
            (
                "0x21000024ff31-c5a",
                BadChar {
                    pos: 14,
                    byte: b'-',
                },
            ),
            (
                "21000024ff314c5*",
                BadChar {
                    pos: 15,
                    byte: b'*',
                },
            ),
        ];
        for (s, e) in cases {
            assert_eq!(parse_wwpn(s.as_bytes()), Err(*e), "{s:?}");
        }
    }

    #[test]
    fn pattern_forms() {
        let p = pat("21:00:00:24:ff:*");
        assert_eq!(
            (p.value(), p.mask()),
            (0x2100_0024_ff00_0000, 0xffff_ffff_ff00_0000)
        );
        assert_eq!(p.specificity(), 40);
        assert!(p.matches(W1) && p.matches(W2) && !p.matches(W3));
        assert_eq!(pat("*"), WwpnPattern::ANY);
        assert!(WwpnPattern::ANY.matches(W3));
        // Inner wildcards are one byte each; with 8 fields a trailing * is one byte too.
        let inner = pat("21:*:00:24:ff:31:4c:*");
        assert_eq!(inner.mask(), 0xff00_ffff_ffff_ff00);
        assert!(inner.matches(Wwpn(0x21aa_0024_ff31_4c99)));
        assert!(!inner.matches(Wwpn(0x21aa_0124_ff31_4c99)));
        assert_eq!(pat("21:*:00:*").mask(), 0xff00_ff00_0000_0000);
        assert_eq!(pat("21:00:00:24:FF:31:4C:5A"), WwpnPattern::exact(W1));
        assert_eq!(pat("21:00:00:24:ff:*").to_string(), "21:00:00:24:ff:*");
        assert_eq!(inner.to_string(), "21:*:00:24:ff:31:4c:*");
        assert_eq!(WwpnPattern::ANY.to_string(), "*");
        assert_eq!(
            WwpnPattern::exact(W1).to_string(),
            "21:00:00:24:ff:31:4c:5a"
        );
        assert_eq!(WwpnPattern::new(0x12, 0xf0), None);
        assert_eq!(
            WwpnPattern::new(0x1234, 0xff00).map(|p| p.value()),
            Some(0x1200)
        );
    }

    #[test]
    fn pattern_errors() {
        use WwpnParseError::*;
        let cases: &[(&str, WwpnParseError)] = &[
            ("21:00:*:24:ff:31:4c:5a:*", FieldCount { fields: 9 }),
            ("21:00:00", FieldCount { fields: 3 }),
            ("21:**", BadChar { pos: 3, byte: b'*' }),
            ("21:0*", BadChar { pos: 4, byte: b'*' }),
            ("2*", BadChar { pos: 1, byte: b'*' }),
            ("21::*", BadField { field: 1 }),
            ("", Empty),
        ];
        for (s, e) in cases {
            assert_eq!(WwpnPattern::parse(s.as_bytes()), Err(*e), "{s:?}");
        }
        assert_eq!(parse_member(b"21:*"), Ok(MemberSpec::Pattern(pat("21:*"))));
        assert_eq!(
            parse_member(b"0x21000024ff314c5a"),
            Ok(MemberSpec::Exact(W1))
        );
    }

    #[test]
    fn resolution_order() {
        let mut t = std::boxed::Box::new(AclTable::new());
        let broad = t.add_group(b"broad").unwrap();
        let narrow = t.add_group(b"narrow").unwrap();
        let exact = t.add_group(b"exact").unwrap();
        let twin = t.add_group(b"twin").unwrap();
        // Nothing configured: the default group.
        assert_eq!(t.resolve(W1), GroupId::DEFAULT);
        t.add_pattern(broad, pat("21:*")).unwrap();
        assert_eq!(t.resolve(W1), broad);
        t.add_pattern(narrow, pat("21:00:00:24:ff:*")).unwrap();
        assert_eq!(t.resolve(W1), narrow, "more specific pattern wins");
        assert_eq!(t.resolve(Wwpn(0x2101_0000_0000_0000)), broad);
        // Same specificity: the earlier-created group wins regardless of insertion order.
        t.add_pattern(twin, pat("21:00:00:24:*:31:*")).unwrap();
        t.add_pattern(narrow, pat("21:00:00:24:*:*:4c:5a")).unwrap();
        assert_eq!(pat("21:00:00:24:*:31:*").specificity(), 40);
        assert_eq!(t.resolve(Wwpn(0x2100_0024_0031_0000)), twin);
        assert_eq!(t.resolve(Wwpn(0x2100_0024_0000_4c5a)), narrow);
        assert_eq!(
            t.resolve(Wwpn(0x2100_0024_0031_4c5a)),
            narrow,
            "tie: narrow created before twin"
        );
        t.add_initiator(exact, W1).unwrap();
        assert_eq!(t.resolve(W1), exact, "exact beats any pattern");
        t.add_pattern(exact, WwpnPattern::ANY).unwrap();
        assert_eq!(t.resolve(W3), exact);
        assert_eq!(t.resolve(Wwpn(0x2101_0000_0000_0000)), broad);
    }

    #[test]
    fn config_errors() {
        let mut t = std::boxed::Box::new(AclTable::new());
        let a = t.add_group(b"a").unwrap();
        let b = t.add_group(b"host-b_1.x:y").unwrap();
        assert_eq!(t.add_group(b""), Err(AclError::BadName));
        assert_eq!(t.add_group(&[b'n'; 33]), Err(AclError::BadName));
        assert!(t.add_group(&[b'n'; 32]).is_ok());
        assert_eq!(t.add_group(b"has space"), Err(AclError::BadName));
        assert_eq!(t.add_group(b"a/b"), Err(AclError::BadName));
        assert_eq!(t.add_group(b"a"), Err(AclError::DuplicateName));
        assert_eq!(t.add_group(b"default"), Err(AclError::DuplicateName));
        t.add_initiator(a, W1).unwrap();
        assert_eq!(
            t.add_initiator(b, W1),
            Err(AclError::DuplicateWwpn { group: a })
        );
        assert_eq!(
            t.add_initiator(a, W1),
            Err(AclError::DuplicateWwpn { group: a })
        );
        assert_eq!(t.add_initiator(a, Wwpn(0)), Err(AclError::ZeroWwpn));
        assert_eq!(
            t.add_initiator(GroupId::DEFAULT, W2),
            Err(AclError::DefaultGroup)
        );
        assert_eq!(
            t.remove_group(GroupId::DEFAULT),
            Err(AclError::DefaultGroup)
        );
        t.add_pattern(a, pat("50:*")).unwrap();
        assert_eq!(
            t.add_pattern(b, pat("50:*")),
            Err(AclError::DuplicatePattern { group: a })
        );
        assert_eq!(t.remove_pattern(b, pat("50:*")), Err(AclError::NotMember));
        assert_eq!(t.remove_initiator(b, W1), Err(AclError::NotMember));
        assert_eq!(t.remove_initiator(a, W2), Err(AclError::NotMember));
        t.map_lun(a, 0, DeviceId(7), false).unwrap();
        assert_eq!(
            t.map_lun(a, 0, DeviceId(8), false),
            Err(AclError::LunAlreadyMapped)
        );
        assert_eq!(
            t.map_lun(a, 256, DeviceId(8), false),
            Err(AclError::LunOutOfRange)
        );
        assert_eq!(t.unmap_lun(a, 1), Err(AclError::LunNotMapped));
        assert_eq!(t.set_read_only(a, 1, true), Err(AclError::LunNotMapped));
        t.remove_group(b).unwrap();
        assert_eq!(t.add_initiator(b, W2), Err(AclError::UnknownGroup));
        assert_eq!(
            t.map_lun(b, 1, DeviceId(1), false),
            Err(AclError::UnknownGroup)
        );
        // A new group in the freed slot does not answer to the old id.
        let c = t.add_group(b"c").unwrap();
        assert_ne!(b, c);
        assert_eq!(t.group_name(b), Err(AclError::UnknownGroup));
        assert_eq!(t.group_name(c), Ok(&b"c"[..]));
        assert_eq!(t.group_by_name(b"default"), Some(GroupId::DEFAULT));
        assert_eq!(t.group_by_name(b"c"), Some(c));
    }

    #[test]
    fn capacity_limits() {
        let mut t = std::boxed::Box::new(AclTable::new());
        let mut last = None;
        for i in 0..MAX_GROUPS {
            last = Some(t.add_group(std::format!("g{i}").as_bytes()).unwrap());
        }
        let g = last.unwrap();
        let before = t.clone();
        assert_eq!(t.add_group(b"one-more"), Err(AclError::GroupsFull));
        assert_eq!(t, before);
        for i in 0..MAX_INITIATORS as u64 {
            t.add_initiator(g, Wwpn(i + 1)).unwrap();
        }
        assert_eq!(
            t.add_initiator(g, Wwpn(u64::MAX)),
            Err(AclError::InitiatorsFull)
        );
        for i in 0..MAX_PATTERNS as u64 {
            t.add_pattern(g, WwpnPattern::new(i << 56, 0xff00_0000_0000_0000).unwrap())
                .unwrap();
        }
        assert_eq!(
            t.add_pattern(g, pat("ff:ff:*")),
            Err(AclError::PatternsFull)
        );
        for l in 0..MAX_LUNS as u16 {
            t.map_lun(g, l, DeviceId(u32::from(l)), false).unwrap();
        }
        assert_eq!(t.luns_of(g).count(), MAX_LUNS);
        assert_ne!(t, before);
    }

    #[test]
    fn resolved_map_is_bound_to_its_wwpn() {
        let mut t = std::boxed::Box::new(AclTable::new());
        let a = t.add_group(b"a").unwrap();
        t.add_initiator(a, W1).unwrap();
        t.map_lun(a, 0, DeviceId(10), false).unwrap();
        t.map_lun(a, 5, DeviceId(11), true).unwrap();
        t.map_lun(GroupId::DEFAULT, 0, DeviceId(99), true).unwrap();
        let mut m1 = std::boxed::Box::new(ResolvedMap::new());
        let mut m2 = std::boxed::Box::new(ResolvedMap::new());
        assert_eq!(
            m1.lookup(W1, Lun::from_index(0)),
            Err(LunLookupError::WrongInitiator)
        );
        assert_eq!(
            m1.lookup(Wwpn(0), Lun::from_index(0)),
            Err(LunLookupError::WrongInitiator)
        );
        t.resolve_into(W1, &mut m1);
        t.resolve_into(W2, &mut m2);
        assert_eq!((m1.group(), m2.group()), (a, GroupId::DEFAULT));
        let lu5 = LunMapping {
            device: DeviceId(11),
            read_only: true,
        };
        assert_eq!(m1.lookup(W1, Lun::from_index(5)), Ok(lu5));
        assert_eq!(
            m1.lookup(W1, Lun::from_index(1)),
            Err(LunLookupError::NotMapped)
        );
        assert_eq!(
            m1.lookup(W1, Lun::from_index(300)),
            Err(LunLookupError::NotMapped)
        );
        assert_eq!(
            m1.lookup(W1, Lun(0x0000_0001_0000_0000)),
            Err(LunLookupError::NotMapped)
        );
        // The other initiator's map never serves W1, and vice versa.
        assert_eq!(
            m2.lookup(W1, Lun::from_index(0)),
            Err(LunLookupError::WrongInitiator)
        );
        assert_eq!(
            m1.lookup(W2, Lun::from_index(0)),
            Err(LunLookupError::WrongInitiator)
        );
        assert_eq!(
            m2.lookup(W2, Lun::from_index(0)),
            Ok(LunMapping {
                device: DeviceId(99),
                read_only: true
            })
        );
        let listed: std::vec::Vec<_> = m1.luns(W1).unwrap().collect();
        assert_eq!(
            listed,
            [
                (
                    Lun::from_index(0),
                    LunMapping {
                        device: DeviceId(10),
                        read_only: false
                    }
                ),
                (Lun::from_index(5), lu5)
            ]
        );
        assert!(m1.luns(W2).is_err());
    }

    #[test]
    fn changes_report_affected_sessions() {
        let mut t = std::boxed::Box::new(AclTable::new());
        let a = t.add_group(b"a").unwrap();
        let b = t.add_group(b"b").unwrap();
        t.add_initiator(a, W1).unwrap();
        t.add_initiator(b, W2).unwrap();
        t.map_lun(a, 0, DeviceId(1), false).unwrap();
        t.map_lun(b, 0, DeviceId(1), false).unwrap();
        let mut maps: std::vec::Vec<(Wwpn, ResolvedMap)> = [W1, W2, W3]
            .iter()
            .map(|&w| (w, ResolvedMap::new()))
            .collect();
        for (w, m) in maps.iter_mut() {
            t.resolve_into(*w, m);
        }
        let affected = |t: &AclTable, maps: &[(Wwpn, ResolvedMap)]| {
            let mut v = std::vec::Vec::new();
            t.affected(maps.iter().map(|(w, m)| (*w, m)), &mut |w, c| {
                v.push((w, c))
            });
            v
        };
        assert!(affected(&t, &maps).is_empty());
        let lun_change = MapChange {
            group_changed: false,
            luns_changed: true,
            flags_changed: false,
        };
        t.map_lun(a, 1, DeviceId(2), false).unwrap();
        assert_eq!(affected(&t, &maps), [(W1, lun_change)]);
        assert_eq!(
            lun_change.unit_attention(),
            Some(Asc::REPORTED_LUNS_DATA_CHANGED)
        );
        t.unmap_lun(a, 1).unwrap();
        assert!(affected(&t, &maps).is_empty(), "net change is nothing");
        // Moving W1 into b: same LUN inventory, but the group changed.
        t.move_initiator(W1, b).unwrap();
        let moved = MapChange {
            group_changed: true,
            luns_changed: false,
            flags_changed: false,
        };
        assert_eq!(affected(&t, &maps), [(W1, moved)]);
        assert!(moved.unit_attention().is_some());
        t.move_initiator(W1, a).unwrap();
        t.set_read_only(b, 0, true).unwrap();
        let flags = MapChange {
            group_changed: false,
            luns_changed: false,
            flags_changed: true,
        };
        assert_eq!(affected(&t, &maps), [(W2, flags)]);
        assert_eq!(flags.unit_attention(), None);
        // W3 (default group) is affected by the default LUN map and by a new pattern.
        t.set_read_only(b, 0, false).unwrap();
        t.map_lun(GroupId::DEFAULT, 3, DeviceId(3), false).unwrap();
        assert_eq!(affected(&t, &maps), [(W3, lun_change)]);
        for (w, m) in maps.iter_mut() {
            t.resolve_into(*w, m);
        }
        assert!(affected(&t, &maps).is_empty());
        t.add_pattern(a, pat("50:*")).unwrap();
        assert_eq!(
            affected(&t, &maps),
            [(
                W3,
                MapChange {
                    group_changed: true,
                    luns_changed: true,
                    flags_changed: false
                }
            )]
        );
        // Removing a group sends its members back to the default group.
        for (w, m) in maps.iter_mut() {
            t.resolve_into(*w, m);
        }
        t.remove_group(b).unwrap();
        assert_eq!(t.resolve(W2), GroupId::DEFAULT);
        assert_eq!(
            affected(&t, &maps),
            [(
                W2,
                MapChange {
                    group_changed: true,
                    luns_changed: true,
                    flags_changed: false
                }
            )]
        );
    }
}
