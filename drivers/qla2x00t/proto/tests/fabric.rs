//! The switch model: N_Port ID assignment and reuse, name-server lookups, link state, RSCN,
//! hostile input.

use proptest::prelude::*;
use qla2x00t_proto::fabric::*;
use scst_core::types::{PortId, Wwpn};

const DOMAIN: u8 = 0x0a;

fn w(n: u64) -> Wwpn {
    Wwpn(0x2100_0024_ff00_0000 | n)
}
fn nn(n: u64) -> Wwpn {
    Wwpn(0x2000_0024_ff00_0000 | n)
}
fn id(v: u32) -> PortId {
    PortId::new(v)
}

fn switch() -> Box<Fabric<32>> {
    let mut f = Box::new(Fabric::<32>::new(DOMAIN));
    for area in [0x01, 0x20, 0x21] {
        f.link_up(area);
    }
    f
}

#[test]
fn flogi_gets_domain_area_00_and_fdisc_the_lowest_free_port_byte() {
    let mut f = switch();
    assert_eq!(f.flogi(0x20, w(1), nn(1)), Ok(id(0x0a2000)));
    assert_eq!(f.flogi(0x21, w(2), nn(2)), Ok(id(0x0a2100)));
    assert_eq!(f.fdisc(id(0x0a2000), w(0xa), nn(0xa)), Ok(id(0x0a2001)));
    assert_eq!(f.fdisc(id(0x0a2000), w(0xb), nn(0xb)), Ok(id(0x0a2002)));
    assert_eq!(f.fdisc(id(0x0a2100), w(0xc), nn(0xc)), Ok(id(0x0a2101)));
    assert_eq!(f.logins(), 5);
}

#[test]
fn a_freed_npiv_id_is_reused_lowest_first() {
    let mut f = switch();
    let phys = f.flogi(0x20, w(1), nn(1)).unwrap();
    let a = f.fdisc(phys, w(0xa), nn(0xa)).unwrap();
    let b = f.fdisc(phys, w(0xb), nn(0xb)).unwrap();
    let c = f.fdisc(phys, w(0xc), nn(0xc)).unwrap();
    assert_eq!((a, b, c), (id(0x0a2001), id(0x0a2002), id(0x0a2003)));
    f.logo(c).unwrap();
    f.logo(a).unwrap();
    // Seed case 1: the next vport gets the ID vport a had.
    assert_eq!(f.fdisc(phys, w(0xd), nn(0xd)), Ok(a));
    assert_eq!(f.fdisc(phys, w(0xe), nn(0xe)), Ok(c));
    assert_eq!(f.fdisc(phys, w(0xf), nn(0xf)), Ok(id(0x0a2004)));
    assert_eq!(f.lookup_id(a).map(|e| e.wwpn), Some(w(0xd)));
    assert_eq!(f.lookup_wwpn(w(0xa)), None);
}

#[test]
fn name_server_lookups_and_targets_in_ascending_order() {
    let mut f = switch();
    let t = f.flogi(0x01, w(0x7), nn(0x7)).unwrap();
    let i = f.flogi(0x20, w(1), nn(1)).unwrap();
    let v = f.fdisc(i, w(0xa), nn(0xa)).unwrap();
    let t2 = f.fdisc(t, w(0x8), nn(0x8)).unwrap();
    let tgt = Fc4Features {
        target: true,
        initiator: false,
    };
    f.register_fc4(t2, tgt).unwrap();
    f.register_fc4(t, tgt).unwrap();
    f.register_fc4(
        i,
        Fc4Features {
            target: false,
            initiator: true,
        },
    )
    .unwrap();
    let mut out = [PortId::new(0); 4];
    assert_eq!(f.gid_ft_targets(&mut out), 2);
    assert_eq!(&out[..2], &[id(0x0a0100), id(0x0a0101)]);
    // Too short a buffer: filled as far as it goes, the real count returned.
    let mut one = [PortId::new(0); 1];
    assert_eq!(f.gid_ft_targets(&mut one), 2);
    assert_eq!(one, [id(0x0a0100)]);
    assert_eq!(
        f.lookup_id(t),
        Some(NsEntry {
            port_id: t,
            wwpn: w(7),
            wwnn: nn(7),
            fc4: tgt
        })
    );
    assert_eq!(f.lookup_id(v).map(|e| e.fc4), Some(Fc4Features::default()));
    assert_eq!(f.lookup_wwpn(w(0xa)), Some(v));
    assert_eq!(f.lookup_id(id(0x0a2005)), None);
    assert_eq!(f.lookup_wwpn(w(0x99)), None);
}

#[test]
fn hostile_and_out_of_order_requests_are_refused_without_change() {
    let mut f = switch();
    assert_eq!(f.flogi(0x30, w(1), nn(1)), Err(FabricError::LinkDown));
    assert_eq!(f.flogi(0x20, Wwpn(0), nn(1)), Err(FabricError::BadName));
    assert_eq!(f.flogi(0x20, w(1), Wwpn(0)), Err(FabricError::BadName));
    assert_eq!(
        f.fdisc(id(0x0a2000), w(0xa), nn(0xa)),
        Err(FabricError::NotLoggedIn)
    );
    let phys = f.flogi(0x20, w(1), nn(1)).unwrap();
    // Same WWPN twice, on another switch port or as an NPIV port.
    assert_eq!(f.flogi(0x21, w(1), nn(1)), Err(FabricError::DuplicateWwpn));
    assert_eq!(f.fdisc(phys, w(1), nn(1)), Err(FabricError::DuplicateWwpn));
    // Another WWPN on an occupied switch port.
    assert_eq!(f.flogi(0x20, w(2), nn(2)), Err(FabricError::DuplicateWwpn));
    let v = f.fdisc(phys, w(0xa), nn(0xa)).unwrap();
    // FDISC through an NPIV port or an ID of another domain.
    assert_eq!(f.fdisc(v, w(0xb), nn(0xb)), Err(FabricError::NotLoggedIn));
    assert_eq!(
        f.fdisc(id(0x0b2000), w(0xb), nn(0xb)),
        Err(FabricError::NotLoggedIn)
    );
    assert_eq!(f.logo(id(0x0a2077)), Err(FabricError::NotLoggedIn));
    assert_eq!(f.scr(id(0)), Err(FabricError::NotLoggedIn));
    assert_eq!(
        f.register_fc4(id(0xffffff), Fc4Features::default()),
        Err(FabricError::NotLoggedIn)
    );
    assert_eq!(f.take_rscn(id(0x123456)), 0);
    assert_eq!(f.logins(), 2);
    // Invalid domains are replaced.
    assert_eq!(Fabric::<1>::new(0).domain(), 1);
    assert_eq!(Fabric::<1>::new(0xff).domain(), 1);
}

#[test]
fn area_full_and_table_full() {
    let mut f = Box::new(Fabric::<300>::new(DOMAIN));
    f.link_up(0x20);
    let phys = f.flogi(0x20, w(0x1000), nn(0x1000)).unwrap();
    for n in 1..=255u64 {
        assert_eq!(
            f.fdisc(phys, w(n), nn(n)),
            Ok(id(0x0a2000 | n as u32)),
            "vport {n}"
        );
    }
    assert_eq!(
        f.fdisc(phys, w(0x999), nn(0x999)),
        Err(FabricError::NoResources)
    );
    let mut small = Box::new(Fabric::<2>::new(DOMAIN));
    small.link_up(0x20);
    let p = small.flogi(0x20, w(1), nn(1)).unwrap();
    small.fdisc(p, w(2), nn(2)).unwrap();
    assert_eq!(small.fdisc(p, w(3), nn(3)), Err(FabricError::NoResources));
}

#[test]
fn link_down_and_physical_logo_end_the_npiv_ports_too() {
    let mut f = switch();
    let p = f.flogi(0x20, w(1), nn(1)).unwrap();
    let other = f.flogi(0x21, w(2), nn(2)).unwrap();
    f.fdisc(p, w(0xa), nn(0xa)).unwrap();
    f.fdisc(p, w(0xb), nn(0xb)).unwrap();
    assert_eq!(f.link_down(0x20), 3);
    assert!(!f.link_is_up(0x20));
    assert_eq!(f.logins(), 1);
    assert_eq!(f.flogi(0x20, w(1), nn(1)), Err(FabricError::LinkDown));
    f.link_up(0x20);
    let p = f.flogi(0x20, w(1), nn(1)).unwrap();
    f.fdisc(p, w(0xa), nn(0xa)).unwrap();
    f.logo(p).unwrap();
    assert_eq!(f.logins(), 1);
    assert_eq!(f.lookup_id(other).map(|e| e.wwpn), Some(w(2)));
    // A repeated FLOGI by the same WWPN replaces its old login (and drops its vports).
    let p = f.flogi(0x20, w(1), nn(1)).unwrap();
    f.fdisc(p, w(0xa), nn(0xa)).unwrap();
    assert_eq!(f.flogi(0x20, w(1), nn(1)), Ok(p));
    assert_eq!(f.lookup_wwpn(w(0xa)), None);
}

#[test]
fn rscn_goes_to_registered_ports_other_than_the_origin() {
    let mut f = switch();
    let i = f.flogi(0x20, w(1), nn(1)).unwrap();
    let t = f.flogi(0x01, w(7), nn(7)).unwrap();
    let quiet = f.flogi(0x21, w(2), nn(2)).unwrap();
    f.scr(i).unwrap();
    f.scr(t).unwrap();
    let v = f.fdisc(i, w(0xa), nn(0xa)).unwrap();
    assert_eq!(
        (f.take_rscn(i), f.take_rscn(t), f.take_rscn(quiet)),
        (1, 1, 0)
    );
    f.register_fc4(
        t,
        Fc4Features {
            target: true,
            initiator: false,
        },
    )
    .unwrap();
    f.logo(v).unwrap();
    assert_eq!((f.take_rscn(i), f.take_rscn(t)), (2, 1));
    assert_eq!((f.take_rscn(i), f.take_rscn(t)), (0, 0));
}

proptest! {
    /// Random FDISC/LOGO churn on one switch port: every assigned ID is unique among the
    /// logged-in ports and is always the lowest free port byte.
    #[test]
    fn churn_assigns_the_lowest_free_unique_id(ops in proptest::collection::vec((any::<bool>(), 0u64..12), 1..200)) {
        let mut f = switch();
        let phys = f.flogi(0x20, w(0x100), nn(0x100)).unwrap();
        let mut live: Vec<(u64, u8)> = Vec::new();
        for (login, n) in ops {
            if login {
                let r = f.fdisc(phys, w(n), nn(n));
                if live.iter().any(|&(m, _)| m == n) {
                    prop_assert_eq!(r, Err(FabricError::DuplicateWwpn));
                } else {
                    let expect = (1..=255u8).find(|p| live.iter().all(|&(_, q)| q != *p)).unwrap();
                    prop_assert_eq!(r, Ok(id(0x0a2000 | u32::from(expect))));
                    live.push((n, expect));
                }
            } else if let Some(pos) = live.iter().position(|&(m, _)| m == n) {
                let (_, p) = live.remove(pos);
                prop_assert_eq!(f.logo(id(0x0a2000 | u32::from(p))), Ok(()));
            } else {
                prop_assert_eq!(f.lookup_wwpn(w(n)), None);
            }
            prop_assert_eq!(f.logins(), live.len() + 1);
        }
    }
}
