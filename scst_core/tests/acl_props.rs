//! Property tests for access control: text round trips, and random configuration changes
//! checked against a plain std model (every error leaves the table bit-for-bit unchanged,
//! resolution follows the documented order, change reports match a naive diff).

use proptest::prelude::*;
use scst_core::acl::{
    format_wwpn, parse_wwpn, AclError, AclTable, GroupId, LunMapping, MapChange, ResolvedMap,
    WwpnPattern, GROUP_NAME_MAX, MAX_LUNS,
};
use scst_core::types::{DeviceId, Lun, Wwpn};
use std::collections::{BTreeMap, BTreeSet};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn wwpn_text_round_trip(w in any::<u64>(), form in 0u8..4, upper in any::<bool>()) {
        let canonical = String::from_utf8(format_wwpn(Wwpn(w)).to_vec()).unwrap();
        let text = match form {
            0 => canonical.clone(),
            1 => canonical.replace(':', ""),
            2 => format!("0x{}", canonical.replace(':', "")),
            _ => format!(" {canonical}\n"),
        };
        let text = if upper { text.to_uppercase() } else { text };
        prop_assert_eq!(parse_wwpn(text.as_bytes()), Ok(Wwpn(w)));
        prop_assert_eq!(format!("{}", scst_core::acl::WwpnText(Wwpn(w))), canonical);
    }

    #[test]
    fn wwpn_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let _ = parse_wwpn(&bytes);
        let _ = WwpnPattern::parse(&bytes);
    }

    #[test]
    fn pattern_round_trip_and_semantics(value in any::<u64>(), mask_bits in any::<u8>(), w in any::<u64>()) {
        let mut mask = 0u64;
        for i in 0..8 {
            if mask_bits & (1 << i) != 0 {
                mask |= 0xff << (i * 8);
            }
        }
        let p = WwpnPattern::new(value, mask).unwrap();
        let text = p.to_string();
        prop_assert_eq!(WwpnPattern::parse(text.as_bytes()), Ok(p), "{}", text);
        // Byte-wise meaning: every fixed byte equal.
        let (pv, pm, wb) = (p.value().to_be_bytes(), p.mask().to_be_bytes(), w.to_be_bytes());
        let naive = (0..8).all(|i| pm[i] == 0 || pv[i] == wb[i]);
        prop_assert_eq!(p.matches(Wwpn(w)), naive);
        prop_assert!(p.matches(Wwpn(value)));
        prop_assert_eq!(p.specificity(), 8 * mask_bits.count_ones());
    }
}

// ---------------------------------------------------------------- model

const NAMES: [&str; 7] = ["alpha", "beta", "gamma", "default", "", "bad name", "d"];
const PROBES: [u64; 6] = [
    0x2100_0024_ff31_4c5a,
    0x2100_0024_ff31_4c5b,
    0x2100_0024_aa00_005a,
    0x2101_0000_0000_0000,
    0x5001_4380_0000_0001,
    0x0000_0000_0000_0000,
];
const PATTERNS: [&str; 8] = [
    "*",
    "21:*",
    "21:00:*",
    "21:00:00:24:ff:*",
    "*:*:*:*:*:*:*:5a",
    "21:*:00:*",
    "21:00:00:24:ff:31:4c:5a",
    "50:*",
];
const LUNS: [u16; 5] = [0, 1, 2, 255, 256];

#[derive(Clone, Debug)]
enum Op {
    AddGroup(usize),
    RemoveGroup(usize),
    AddInit(usize, usize),
    RemoveInit(usize, usize),
    MoveInit(usize, usize),
    AddPattern(usize, usize),
    RemovePattern(usize, usize),
    MapLun(usize, usize, u32, bool),
    UnmapLun(usize, usize),
    SetRo(usize, usize, bool),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let g = 0usize..8;
    let w = 0..PROBES.len();
    let p = 0..PATTERNS.len();
    let l = 0..LUNS.len();
    prop_oneof![
        3 => (0..NAMES.len()).prop_map(Op::AddGroup),
        1 => g.clone().prop_map(Op::RemoveGroup),
        3 => (g.clone(), w.clone()).prop_map(|(g, w)| Op::AddInit(g, w)),
        1 => (g.clone(), w.clone()).prop_map(|(g, w)| Op::RemoveInit(g, w)),
        1 => (w, g.clone()).prop_map(|(w, g)| Op::MoveInit(w, g)),
        3 => (g.clone(), p.clone()).prop_map(|(g, p)| Op::AddPattern(g, p)),
        1 => (g.clone(), p).prop_map(|(g, p)| Op::RemovePattern(g, p)),
        4 => (g.clone(), l.clone(), 0u32..3, any::<bool>()).prop_map(|(g, l, d, r)| Op::MapLun(g, l, d, r)),
        2 => (g.clone(), l.clone()).prop_map(|(g, l)| Op::UnmapLun(g, l)),
        2 => (g, l, any::<bool>()).prop_map(|(g, l, r)| Op::SetRo(g, l, r)),
    ]
}

type Luns = BTreeMap<u16, LunMapping>;

#[derive(Clone, Debug)]
struct MGroup {
    id: GroupId,
    name: Vec<u8>,
    luns: Luns,
}

#[derive(Clone, Debug, Default)]
struct Model {
    /// In creation order.
    groups: Vec<MGroup>,
    members: BTreeMap<Wwpn, GroupId>,
    patterns: Vec<(WwpnPattern, GroupId)>,
    default_luns: Luns,
}

impl Model {
    fn pos(&self, g: GroupId) -> Option<usize> {
        self.groups.iter().position(|x| x.id == g)
    }

    /// Group validity check shared by member operations.
    fn explicit(&self, g: GroupId) -> Result<usize, AclError> {
        if g.is_default() {
            return Err(AclError::DefaultGroup);
        }
        self.pos(g).ok_or(AclError::UnknownGroup)
    }

    fn luns_mut(&mut self, g: GroupId) -> Result<&mut Luns, AclError> {
        if g.is_default() {
            return Ok(&mut self.default_luns);
        }
        let i = self.pos(g).ok_or(AclError::UnknownGroup)?;
        Ok(&mut self.groups[i].luns)
    }

    fn luns(&self, g: GroupId) -> &Luns {
        match self.pos(g) {
            Some(i) => &self.groups[i].luns,
            None => &self.default_luns,
        }
    }

    fn resolve(&self, w: Wwpn) -> GroupId {
        if let Some(&g) = self.members.get(&w) {
            return g;
        }
        self.patterns
            .iter()
            .filter(|(p, _)| p.matches(w))
            .map(|&(p, g)| (p.specificity(), std::cmp::Reverse(self.pos(g).unwrap()), g))
            .max_by_key(|&(s, c, _)| (s, c))
            .map_or(GroupId::DEFAULT, |x| x.2)
    }

    fn add_init(&mut self, g: GroupId, w: Wwpn) -> Result<(), AclError> {
        self.explicit(g)?;
        if w.0 == 0 {
            return Err(AclError::ZeroWwpn);
        }
        if let Some(&o) = self.members.get(&w) {
            return Err(AclError::DuplicateWwpn { group: o });
        }
        self.members.insert(w, g);
        Ok(())
    }

    fn remove_init(&mut self, g: GroupId, w: Wwpn) -> Result<(), AclError> {
        self.explicit(g)?;
        if self.members.get(&w) != Some(&g) {
            return Err(AclError::NotMember);
        }
        self.members.remove(&w);
        Ok(())
    }
}

fn check_state(t: &AclTable, m: &Model) {
    let ids: Vec<GroupId> = t.groups().collect();
    let mut exp: Vec<GroupId> = m.groups.iter().map(|g| g.id).collect();
    let mut got = ids.clone();
    got.sort_by_key(|g| format!("{g:?}"));
    exp.sort_by_key(|g| format!("{g:?}"));
    assert_eq!(got, exp);
    for g in &m.groups {
        assert_eq!(t.group_name(g.id).unwrap(), &g.name[..]);
        assert_eq!(t.group_by_name(&g.name), Some(g.id));
        let inits: BTreeSet<Wwpn> = t.initiators(g.id).collect();
        let exp: BTreeSet<Wwpn> = m
            .members
            .iter()
            .filter(|(_, &x)| x == g.id)
            .map(|(&w, _)| w)
            .collect();
        assert_eq!(inits, exp);
        let pats: BTreeSet<(u64, u64)> = t.patterns(g.id).map(|p| (p.value(), p.mask())).collect();
        let exp: BTreeSet<(u64, u64)> = m
            .patterns
            .iter()
            .filter(|(_, x)| *x == g.id)
            .map(|(p, _)| (p.value(), p.mask()))
            .collect();
        assert_eq!(pats, exp);
        assert_eq!(t.luns_of(g.id).collect::<Luns>(), g.luns);
    }
    assert_eq!(
        t.luns_of(GroupId::DEFAULT).collect::<Luns>(),
        m.default_luns
    );
    for &w in &PROBES {
        assert_eq!(t.resolve(Wwpn(w)), m.resolve(Wwpn(w)), "resolve {w:#x}");
    }
}

fn apply(t: &mut AclTable, m: &mut Model, ids: &mut Vec<GroupId>, op: &Op) {
    let gid = |i: usize| ids.get(i).copied().unwrap_or(GroupId::DEFAULT);
    let before_table = t.clone();
    let before_model = m.clone();
    let (got, exp): (Result<(), AclError>, Result<(), AclError>) = match *op {
        Op::AddGroup(n) => {
            let name = NAMES[n].as_bytes();
            let valid = !name.is_empty()
                && name.len() <= GROUP_NAME_MAX
                && name.iter().all(|b| b.is_ascii_alphanumeric());
            let exp = if !valid {
                Err(AclError::BadName)
            } else if name == b"default" || m.groups.iter().any(|g| g.name == name) {
                Err(AclError::DuplicateName)
            } else {
                Ok(())
            };
            let got = t.add_group(name).map(|id| {
                assert!(!ids.contains(&id), "group ids are never reused");
                ids.push(id);
                m.groups.push(MGroup {
                    id,
                    name: name.to_vec(),
                    luns: Luns::new(),
                });
            });
            (got, exp)
        }
        Op::RemoveGroup(i) => {
            let g = gid(i);
            let exp = m.explicit(g).map(|p| {
                m.groups.remove(p);
                m.members.retain(|_, x| *x != g);
                m.patterns.retain(|(_, x)| *x != g);
            });
            (t.remove_group(g), exp)
        }
        Op::AddInit(i, w) => {
            let (g, w) = (gid(i), Wwpn(PROBES[w]));
            (t.add_initiator(g, w), m.add_init(g, w))
        }
        Op::RemoveInit(i, w) => {
            let (g, w) = (gid(i), Wwpn(PROBES[w]));
            (t.remove_initiator(g, w), m.remove_init(g, w))
        }
        Op::MoveInit(w, i) => {
            let (g, w) = (gid(i), Wwpn(PROBES[w]));
            let exp = m.explicit(g).and_then(|_| match m.members.get_mut(&w) {
                Some(x) => {
                    *x = g;
                    Ok(())
                }
                None => Err(AclError::NotMember),
            });
            (t.move_initiator(w, g), exp)
        }
        Op::AddPattern(i, p) => {
            let (g, p) = (gid(i), WwpnPattern::parse(PATTERNS[p].as_bytes()).unwrap());
            let exp = if p.mask() == u64::MAX {
                m.add_init(g, Wwpn(p.value()))
            } else {
                m.explicit(g)
                    .and_then(|_| match m.patterns.iter().find(|(q, _)| *q == p) {
                        Some(&(_, o)) => Err(AclError::DuplicatePattern { group: o }),
                        None => {
                            m.patterns.push((p, g));
                            Ok(())
                        }
                    })
            };
            (t.add_pattern(g, p), exp)
        }
        Op::RemovePattern(i, p) => {
            let (g, p) = (gid(i), WwpnPattern::parse(PATTERNS[p].as_bytes()).unwrap());
            let exp = if p.mask() == u64::MAX {
                m.remove_init(g, Wwpn(p.value()))
            } else {
                m.explicit(g).and_then(|_| {
                    match m.patterns.iter().position(|&(q, x)| q == p && x == g) {
                        Some(k) => {
                            m.patterns.remove(k);
                            Ok(())
                        }
                        None => Err(AclError::NotMember),
                    }
                })
            };
            (t.remove_pattern(g, p), exp)
        }
        Op::MapLun(i, l, d, ro) => {
            let (g, lun) = (gid(i), LUNS[l]);
            let map = LunMapping {
                device: DeviceId(d),
                read_only: ro,
            };
            let exp = m.luns_mut(g).and_then(|luns| {
                if usize::from(lun) >= MAX_LUNS {
                    Err(AclError::LunOutOfRange)
                } else if let std::collections::btree_map::Entry::Vacant(e) = luns.entry(lun) {
                    e.insert(map);
                    Ok(())
                } else {
                    Err(AclError::LunAlreadyMapped)
                }
            });
            (t.map_lun(g, lun, DeviceId(d), ro), exp)
        }
        Op::UnmapLun(i, l) => {
            let (g, lun) = (gid(i), LUNS[l]);
            let exp = m.luns_mut(g).and_then(|luns| {
                if usize::from(lun) >= MAX_LUNS {
                    Err(AclError::LunOutOfRange)
                } else {
                    luns.remove(&lun).map(|_| ()).ok_or(AclError::LunNotMapped)
                }
            });
            (t.unmap_lun(g, lun), exp)
        }
        Op::SetRo(i, l, ro) => {
            let (g, lun) = (gid(i), LUNS[l]);
            let exp = m.luns_mut(g).and_then(|luns| {
                if usize::from(lun) >= MAX_LUNS {
                    Err(AclError::LunOutOfRange)
                } else {
                    let e = luns.get_mut(&lun).ok_or(AclError::LunNotMapped)?;
                    e.read_only = ro;
                    Ok(())
                }
            });
            (t.set_read_only(g, lun, ro), exp)
        }
    };
    assert_eq!(got, exp, "{op:?}");
    if got.is_err() {
        assert!(
            *t == before_table,
            "a refused change modified the table: {op:?}"
        );
        assert_eq!(t.generation(), before_table.generation());
        *m = before_model;
    }
}

/// Naive expectation of what `check` must report for a map resolved in `old` state.
fn expected_change(old: (GroupId, &Luns), now: (GroupId, &Luns)) -> MapChange {
    let keys: BTreeSet<u16> = old.1.keys().chain(now.1.keys()).copied().collect();
    let mut luns_changed = false;
    let mut flags_changed = false;
    for k in keys {
        match (old.1.get(&k), now.1.get(&k)) {
            (Some(a), Some(b)) if a.device == b.device => {
                flags_changed |= a.read_only != b.read_only
            }
            (None, None) => {}
            _ => luns_changed = true,
        }
    }
    MapChange {
        group_changed: old.0 != now.0,
        luns_changed,
        flags_changed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn acl_config_model(ops in prop::collection::vec(op_strategy(), 1..60)) {
        let mut t = Box::new(AclTable::new());
        let mut m = Model::default();
        let mut ids = Vec::new();
        // One live session per (non-zero) probe WWPN, resolved at the start.
        let mut sessions: Vec<(Wwpn, Box<ResolvedMap>, GroupId, Luns)> = PROBES
            .iter()
            .filter(|&&w| w != 0)
            .map(|&w| {
                let mut map = Box::new(ResolvedMap::new());
                t.resolve_into(Wwpn(w), &mut map);
                (Wwpn(w), map, GroupId::DEFAULT, Luns::new())
            })
            .collect();
        for op in &ops {
            apply(&mut t, &mut m, &mut ids, op);
            check_state(&t, &m);
            let mut reported = BTreeMap::new();
            t.affected(sessions.iter().map(|(w, map, _, _)| (*w, &**map)), &mut |w, c| {
                assert!(reported.insert(w, c).is_none());
            });
            for (w, map, old_group, old_luns) in sessions.iter_mut() {
                let now_group = m.resolve(*w);
                let exp = expected_change((*old_group, old_luns), (now_group, m.luns(now_group)));
                let got = reported.get(w).copied().unwrap_or(MapChange {
                    group_changed: false,
                    luns_changed: false,
                    flags_changed: false,
                });
                prop_assert_eq!(got, exp, "{:?} after {:?}", w, op);
                if got.needs_reresolve() {
                    t.resolve_into(*w, map);
                    *old_group = now_group;
                    *old_luns = m.luns(now_group).clone();
                }
                // The hot-path view equals the model for every LUN, only for its own WWPN.
                for lun in 0..4u16 {
                    let l = Lun::from_index(lun);
                    let exp = m.luns(now_group).get(&lun).copied();
                    prop_assert_eq!(map.lookup(*w, l).ok(), exp);
                    prop_assert!(map.lookup(Wwpn(w.0 ^ 1), l).is_err());
                }
            }
        }
    }
}
