//! Tests for persistent reservations: service actions, SPC-4 scenarios, the conflict
//! tables, SPC-2 interaction, APTPL images and random PROUT sequences.

use super::image::crc32;
use super::*;
use std::vec::Vec;

// ----- helpers -----------------------------------------------------------------------

const A: PrNexus = PrNexus {
    initiator: Wwpn(0x2100_0000_0000_000a),
    rel_port: 1,
};
const B: PrNexus = PrNexus {
    initiator: Wwpn(0x2100_0000_0000_000b),
    rel_port: 1,
};
const C: PrNexus = PrNexus {
    initiator: Wwpn(0x2100_0000_0000_000c),
    rel_port: 1,
};
const D: PrNexus = PrNexus {
    initiator: Wwpn(0x2100_0000_0000_000d),
    rel_port: 1,
};
const PORTS: [u16; 2] = [1, 2];

const SA_REGISTER: u8 = 0;
const SA_RESERVE: u8 = 1;
const SA_RELEASE: u8 = 2;
const SA_CLEAR: u8 = 3;
const SA_PREEMPT: u8 = 4;
const SA_PREEMPT_ABORT: u8 = 5;
const SA_REG_IGNORE: u8 = 6;
const SA_REG_MOVE: u8 = 7;

const WE: u8 = 1;
const EA: u8 = 3;
const WE_RO: u8 = 5;
const EA_RO: u8 = 6;
const WE_AR: u8 = 7;
const EA_AR: u8 = 8;
const ALL_TYPES: [u8; 6] = [WE, EA, WE_RO, EA_RO, WE_AR, EA_AR];

#[derive(Default, Debug)]
struct Rec {
    uas: Vec<(PrNexus, Asc)>,
    aborts: Vec<PrNexus>,
}

impl PrSink for Rec {
    fn unit_attention(&mut self, to: &PrNexus, asc: Asc) {
        self.uas.push((*to, asc));
    }
    fn abort_tasks(&mut self, of: &PrNexus) {
        self.aborts.push(*of);
    }
}

fn prout_cdb(sa: u8, scope_type: u8, plen: u32) -> [u8; 10] {
    let l = plen.to_be_bytes();
    [0x5f, sa, scope_type, 0, 0, l[0], l[1], l[2], l[3], 0]
}

fn basic(res_key: u64, sa_key: u64, flags: u8) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&res_key.to_be_bytes());
    p.extend_from_slice(&sa_key.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, flags, 0, 0, 0]);
    p
}

fn fc_tid(w: Wwpn) -> Vec<u8> {
    let mut t = vec![0u8; 8];
    t.extend_from_slice(&w.to_be_bytes());
    t.extend_from_slice(&[0u8; 8]);
    t
}

/// REGISTER with SPEC_I_PT=1 and the given TransportIDs.
fn spec_i_pt(sa_key: u64, flags: u8, tids: &[Vec<u8>]) -> Vec<u8> {
    let mut p = basic(0, sa_key, flags | 0x08);
    let list: Vec<u8> = tids.concat();
    p.extend_from_slice(&(list.len() as u32).to_be_bytes());
    p.extend_from_slice(&list);
    p
}

fn move_params(res_key: u64, sa_key: u64, flags17: u8, port: u16, tid: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&res_key.to_be_bytes());
    p.extend_from_slice(&sa_key.to_be_bytes());
    p.extend_from_slice(&[0, flags17]);
    p.extend_from_slice(&port.to_be_bytes());
    p.extend_from_slice(&(tid.len() as u32).to_be_bytes());
    p.extend_from_slice(tid);
    p
}

fn run<const N: usize>(
    st: &mut PrState<N>,
    who: &PrNexus,
    sa: u8,
    scope_type: u8,
    params: &[u8],
    sink: &mut Rec,
) -> Result<(), PrError> {
    let cdb = prout_cdb(sa, scope_type, params.len() as u32);
    st.reserve_out(who, &PORTS, &cdb, params, sink)
}

fn out<const N: usize>(
    st: &mut PrState<N>,
    who: &PrNexus,
    sa: u8,
    ty: u8,
    res: u64,
    sa_key: u64,
) -> Result<(), PrError> {
    run(st, who, sa, ty, &basic(res, sa_key, 0), &mut Rec::default())
}

fn register<const N: usize>(st: &mut PrState<N>, who: &PrNexus, key: u64) {
    assert_eq!(out(st, who, SA_REGISTER, 0, 0, key), Ok(()));
}

fn prin<const N: usize>(st: &PrState<N>, sa: u8) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let cdb = [0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0x00, 0];
    let n = st.reserve_in(&A, &cdb, &mut buf).expect("PRIN");
    buf.truncate(n);
    buf
}

fn read_keys<const N: usize>(st: &PrState<N>) -> (u32, Vec<u64>) {
    let r = prin(st, 0);
    let gen = u32::from_be_bytes(r[0..4].try_into().unwrap());
    let len = u32::from_be_bytes(r[4..8].try_into().unwrap()) as usize;
    assert_eq!(len, r.len() - 8);
    let keys = r[8..]
        .chunks(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
        .collect();
    (gen, keys)
}

fn check_cond(asc: Asc) -> PrError {
    PrError::Check(Sense::new(SenseKey::IllegalRequest, asc))
}

fn pll() -> PrError {
    check_cond(Asc::PARAMETER_LIST_LENGTH_ERROR)
}

// ----- REGISTER / REGISTER AND IGNORE EXISTING KEY ---------------------------------------

#[test]
fn register_then_read_keys_exact_bytes() {
    let mut st = PrTable::new();
    register(&mut st, &A, 0x1111);
    register(&mut st, &B, 0x2222);
    assert_eq!(
        prin(&st, 0),
        [0, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0x22, 0x22]
    );
}

#[test]
fn register_rules_for_unregistered_nexus() {
    let mut st = PrTable::new();
    // Non-zero RESERVATION KEY from an unregistered nexus conflicts.
    assert_eq!(
        out(&mut st, &A, SA_REGISTER, 0, 5, 7),
        Err(PrError::Conflict)
    );
    // Zero SERVICE ACTION RESERVATION KEY: GOOD, nothing registered, generation unchanged.
    assert_eq!(out(&mut st, &A, SA_REGISTER, 0, 0, 0), Ok(()));
    assert_eq!(st.registration_count(), 0);
    assert_eq!(st.generation(), 0);
    // REGISTER AND IGNORE EXISTING KEY ignores the RESERVATION KEY field.
    assert_eq!(out(&mut st, &A, SA_REG_IGNORE, 0, 0xdead, 7), Ok(()));
    assert_eq!(st.key_of(&A), Some(7));
    assert_eq!(st.generation(), 1);
}

#[test]
fn register_rules_for_registered_nexus() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    assert_eq!(
        out(&mut st, &A, SA_REGISTER, 0, 2, 3),
        Err(PrError::Conflict)
    );
    assert_eq!(st.key_of(&A), Some(1));
    assert_eq!(st.generation(), 1);
    assert_eq!(out(&mut st, &A, SA_REGISTER, 0, 1, 3), Ok(()));
    assert_eq!(st.key_of(&A), Some(3));
    assert_eq!(st.generation(), 2);
    assert_eq!(out(&mut st, &A, SA_REG_IGNORE, 0, 999, 4), Ok(()));
    assert_eq!(st.key_of(&A), Some(4));
    assert_eq!(st.generation(), 3);
    // Unregister.
    assert_eq!(out(&mut st, &A, SA_REGISTER, 0, 4, 0), Ok(()));
    assert_eq!(st.key_of(&A), None);
    assert_eq!(st.generation(), 4);
}

#[test]
fn same_wwpn_on_another_port_is_another_nexus() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    let a2 = PrNexus { rel_port: 2, ..A };
    assert_eq!(st.key_of(&a2), None);
    // A different N_Port ID does not matter: identity is WWPN + relative port only.
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    assert!(st.is_holder(&A));
    assert!(!st.is_holder(&a2));
}

#[test]
fn unregister_holder_releases_and_notifies_only_for_registrants_only() {
    for ty in ALL_TYPES {
        let mut st = PrTable::new();
        register(&mut st, &A, 1);
        register(&mut st, &B, 2);
        assert_eq!(out(&mut st, &A, SA_RESERVE, ty, 1, 0), Ok(()));
        let mut sink = Rec::default();
        assert_eq!(
            run(&mut st, &A, SA_REGISTER, 0, &basic(1, 0, 0), &mut sink),
            Ok(())
        );
        let t = PrType::from_code(ty).unwrap();
        if t.all_registrants() {
            // B still holds the All Registrants reservation.
            assert_eq!(st.reservation(), Some((t, None)));
            assert!(sink.uas.is_empty());
        } else {
            assert_eq!(st.reservation(), None);
            let expect: Vec<_> = if t.registrants_only() {
                vec![(B, Asc::RESERVATIONS_RELEASED)]
            } else {
                vec![]
            };
            assert_eq!(sink.uas, expect, "type {ty}");
        }
    }
}

#[test]
fn all_registrants_reservation_ends_with_last_registrant() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    assert_eq!(out(&mut st, &B, SA_RESERVE, EA_AR, 2, 0), Ok(()));
    assert!(st.is_holder(&A) && st.is_holder(&B));
    assert_eq!(out(&mut st, &B, SA_REGISTER, 0, 2, 0), Ok(()));
    assert!(st.is_holder(&A));
    assert_eq!(out(&mut st, &A, SA_REGISTER, 0, 1, 0), Ok(()));
    assert_eq!(st.reservation(), None);
}

// ----- parameter list and CDB validation ----------------------------------------------

#[test]
fn prout_cdb_and_length_errors() {
    let mut st = PrTable::new();
    let mut sink = Rec::default();
    let p = basic(0, 1, 0);
    // Invalid service action.
    let cdb = prout_cdb(0x08, 0, 24);
    assert_eq!(
        st.reserve_out(&A, &PORTS, &cdb, &p, &mut sink),
        Err(PrError::Check(Sense::invalid_cdb_field(1, Some(4))))
    );
    // Parameter list length other than 24 without SPEC_I_PT.
    for len in [0u32, 23, 25, 28] {
        let mut q = p.clone();
        q.resize(len as usize, 0);
        let cdb = prout_cdb(SA_REGISTER, 0, len);
        assert_eq!(
            st.reserve_out(&A, &PORTS, &cdb, &q, &mut sink),
            Err(pll()),
            "len {len}"
        );
    }
    // Fewer data-out bytes than the CDB announces.
    let cdb = prout_cdb(SA_REGISTER, 0, 24);
    assert_eq!(
        st.reserve_out(&A, &PORTS, &cdb, &p[..20], &mut sink),
        Err(pll())
    );
    // Short CDB and wrong opcode.
    assert_eq!(
        st.reserve_out(&A, &PORTS, &cdb[..9], &p, &mut sink),
        Err(PrError::Check(Sense::invalid_cdb_field(0, None)))
    );
    let mut bad = cdb;
    bad[0] = 0x5e;
    assert_eq!(
        st.reserve_out(&A, &PORTS, &bad, &p, &mut sink),
        Err(PrError::Check(Sense::invalid_opcode()))
    );
    assert_eq!(st, PrTable::new());
    assert!(sink.uas.is_empty());
}

#[test]
fn reserve_type_and_scope_validation() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    for bad in [0u8, 2, 4, 9, 0xf] {
        assert_eq!(
            out(&mut st, &A, SA_RESERVE, bad, 1, 0),
            Err(PrError::Check(Sense::invalid_cdb_field(2, Some(3))))
        );
    }
    assert_eq!(
        out(&mut st, &A, SA_RESERVE, 0x11, 1, 0),
        Err(PrError::Check(Sense::invalid_cdb_field(2, Some(7))))
    );
    assert_eq!(st.reservation(), None);
}

// ----- RESERVE / READ RESERVATION -----------------------------------------------------

#[test]
fn reserve_every_type_and_read_reservation_bytes() {
    for ty in ALL_TYPES {
        let mut st = PrTable::new();
        register(&mut st, &A, 0x0102_0304_0506_0708);
        assert_eq!(
            out(&mut st, &A, SA_RESERVE, ty, 0x0102_0304_0506_0708, 0),
            Ok(())
        );
        // RESERVE does not change PRgeneration.
        assert_eq!(st.generation(), 1);
        let key: [u8; 8] = if PrType::from_code(ty).unwrap().all_registrants() {
            [0; 8]
        } else {
            [1, 2, 3, 4, 5, 6, 7, 8]
        };
        let mut expect = vec![0, 0, 0, 1, 0, 0, 0, 16];
        expect.extend_from_slice(&key);
        expect.extend_from_slice(&[0, 0, 0, 0, 0, ty, 0, 0]);
        assert_eq!(prin(&st, 1), expect, "type {ty}");
    }
    let st = PrTable::new();
    assert_eq!(prin(&st, 1), [0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn reserve_conflicts() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    // Unregistered nexus, and wrong key.
    assert_eq!(
        out(&mut st, &C, SA_RESERVE, WE, 0, 0),
        Err(PrError::Conflict)
    );
    assert_eq!(
        out(&mut st, &A, SA_RESERVE, WE, 2, 0),
        Err(PrError::Conflict)
    );
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    // Holder: same type is a no-op, another type conflicts.
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    assert_eq!(
        out(&mut st, &A, SA_RESERVE, EA, 1, 0),
        Err(PrError::Conflict)
    );
    // Another registrant cannot reserve.
    assert_eq!(
        out(&mut st, &B, SA_RESERVE, WE, 2, 0),
        Err(PrError::Conflict)
    );
    assert_eq!(st.reservation(), Some((PrType::WriteExclusive, Some(A))));
}

// ----- RELEASE ------------------------------------------------------------------------

#[test]
fn release_rules_and_unit_attentions() {
    for ty in ALL_TYPES {
        let t = PrType::from_code(ty).unwrap();
        let mut st = PrTable::new();
        register(&mut st, &A, 1);
        register(&mut st, &B, 2);
        register(&mut st, &C, 3);
        assert_eq!(out(&mut st, &A, SA_RESERVE, ty, 1, 0), Ok(()));
        let gen = st.generation();
        // Unregistered nexus conflicts.
        assert_eq!(
            out(&mut st, &D, SA_RELEASE, ty, 0, 0),
            Err(PrError::Conflict)
        );
        if !t.all_registrants() {
            // A registered non-holder: GOOD, nothing happens.
            assert_eq!(out(&mut st, &B, SA_RELEASE, ty, 2, 0), Ok(()));
            assert_eq!(st.reservation(), Some((t, Some(A))));
        }
        // Holder with wrong type.
        let other = if ty == WE { EA } else { WE };
        assert_eq!(
            out(&mut st, &A, SA_RELEASE, other, 1, 0),
            Err(check_cond(Asc::INVALID_RELEASE_OF_PR))
        );
        let mut sink = Rec::default();
        assert_eq!(
            run(&mut st, &A, SA_RELEASE, ty, &basic(1, 0, 0), &mut sink),
            Ok(())
        );
        assert_eq!(st.reservation(), None);
        assert_eq!(st.generation(), gen, "RELEASE does not bump PRgeneration");
        let expect: Vec<_> = if t.registrants_only() || t.all_registrants() {
            vec![
                (B, Asc::RESERVATIONS_RELEASED),
                (C, Asc::RESERVATIONS_RELEASED),
            ]
        } else {
            vec![]
        };
        assert_eq!(sink.uas, expect, "type {ty}");
        // No reservation: GOOD.
        assert_eq!(out(&mut st, &B, SA_RELEASE, ty, 2, 0), Ok(()));
    }
}

// ----- CLEAR --------------------------------------------------------------------------

#[test]
fn clear_removes_everything_and_notifies_others() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 3);
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE_RO, 1, 0), Ok(()));
    assert_eq!(out(&mut st, &D, SA_CLEAR, 0, 0, 0), Err(PrError::Conflict));
    assert_eq!(out(&mut st, &B, SA_CLEAR, 0, 1, 0), Err(PrError::Conflict));
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &B, SA_CLEAR, 0, &basic(2, 0, 0), &mut sink),
        Ok(())
    );
    assert_eq!(
        sink.uas,
        [
            (A, Asc::RESERVATIONS_PREEMPTED),
            (C, Asc::RESERVATIONS_PREEMPTED)
        ]
    );
    assert_eq!(st.registration_count(), 0);
    assert_eq!(st.reservation(), None);
    assert_eq!(st.generation(), 4);
}

// ----- PREEMPT / PREEMPT AND ABORT ----------------------------------------------------

#[test]
fn preempt_without_reservation_removes_registrations() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 2);
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT, 0xff, &basic(1, 2, 0), &mut sink),
        Ok(()),
        "TYPE is ignored"
    );
    assert_eq!(
        sink.uas,
        [
            (B, Asc::REGISTRATIONS_PREEMPTED),
            (C, Asc::REGISTRATIONS_PREEMPTED)
        ]
    );
    assert!(sink.aborts.is_empty());
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(A, 1)]);
    assert_eq!(st.reservation(), None);
    assert_eq!(st.generation(), 4);
    // Key that nobody holds: conflict; zero key: INVALID FIELD IN PARAMETER LIST.
    assert_eq!(
        out(&mut st, &A, SA_PREEMPT, WE, 1, 9),
        Err(PrError::Conflict)
    );
    assert_eq!(
        out(&mut st, &A, SA_PREEMPT, WE, 1, 0),
        Err(PrError::Check(Sense::invalid_param_field(8, None)))
    );
    // Unregistered issuer.
    assert_eq!(
        out(&mut st, &B, SA_PREEMPT, WE, 0, 1),
        Err(PrError::Conflict)
    );
    assert_eq!(st.generation(), 4);
}

#[test]
fn preempt_removing_registrations_includes_the_issuers_own() {
    // SPC-4 5.13.11.4.4 removes every registration with the key, the issuer's too; only
    // the others get REGISTRATIONS PREEMPTED.
    let mut st = PrTable::new();
    register(&mut st, &A, 5);
    register(&mut st, &B, 5);
    register(&mut st, &C, 6);
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT_ABORT, 0, &basic(5, 5, 0), &mut sink),
        Ok(())
    );
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(C, 6)]);
    assert_eq!(sink.uas, [(B, Asc::REGISTRATIONS_PREEMPTED)]);
    assert_eq!(sink.aborts, [B]);
}

#[test]
fn preempt_holder_two_and_three_initiators() {
    // B holds WE; A preempts with B's key asking for EA; C is an unrelated registrant.
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 3);
    assert_eq!(out(&mut st, &B, SA_RESERVE, WE, 2, 0), Ok(()));
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT, EA, &basic(1, 2, 0), &mut sink),
        Ok(())
    );
    assert_eq!(st.reservation(), Some((PrType::ExclusiveAccess, Some(A))));
    assert_eq!(st.key_of(&B), None);
    assert_eq!(st.key_of(&C), Some(3));
    assert_eq!(
        sink.uas,
        [
            (B, Asc::REGISTRATIONS_PREEMPTED),
            (C, Asc::RESERVATIONS_RELEASED)
        ]
    );
    assert_eq!(st.generation(), 4);

    // Same scenario without a type change: C hears nothing.
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 3);
    assert_eq!(out(&mut st, &B, SA_RESERVE, WE, 2, 0), Ok(()));
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT, WE, &basic(1, 2, 0), &mut sink),
        Ok(())
    );
    assert_eq!(sink.uas, [(B, Asc::REGISTRATIONS_PREEMPTED)]);
}

#[test]
fn holder_may_preempt_itself_to_change_type() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT, EA_RO, &basic(1, 1, 0), &mut sink),
        Ok(())
    );
    assert_eq!(
        st.reservation(),
        Some((PrType::ExclusiveAccessRegistrantsOnly, Some(A)))
    );
    assert_eq!(st.key_of(&A), Some(1));
    assert_eq!(sink.uas, [(B, Asc::RESERVATIONS_RELEASED)]);
}

#[test]
fn preempt_holder_with_bad_type_changes_nothing() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    assert_eq!(out(&mut st, &B, SA_RESERVE, WE, 2, 0), Ok(()));
    let before = st.clone();
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT, 2, &basic(1, 2, 0), &mut sink),
        Err(PrError::Check(Sense::invalid_cdb_field(2, Some(3))))
    );
    assert_eq!(st, before);
    assert!(sink.uas.is_empty());
}

#[test]
fn preempt_all_registrants_with_zero_key() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 3);
    assert_eq!(out(&mut st, &B, SA_RESERVE, WE_AR, 2, 0), Ok(()));
    let mut sink = Rec::default();
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_PREEMPT_ABORT,
            WE,
            &basic(1, 0, 0),
            &mut sink
        ),
        Ok(())
    );
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(A, 1)]);
    assert_eq!(st.reservation(), Some((PrType::WriteExclusive, Some(A))));
    assert_eq!(
        sink.uas,
        [
            (B, Asc::REGISTRATIONS_PREEMPTED),
            (C, Asc::REGISTRATIONS_PREEMPTED)
        ]
    );
    assert_eq!(sink.aborts, [B, C]);
}

#[test]
fn preempt_all_registrants_with_key_removes_only_those() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 3);
    assert_eq!(out(&mut st, &B, SA_RESERVE, EA_AR, 2, 0), Ok(()));
    let mut sink = Rec::default();
    assert_eq!(
        run(&mut st, &A, SA_PREEMPT, WE, &basic(1, 3, 0), &mut sink),
        Ok(())
    );
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(A, 1), (B, 2)]);
    assert_eq!(
        st.reservation(),
        Some((PrType::ExclusiveAccessAllRegistrants, None))
    );
    assert_eq!(sink.uas, [(C, Asc::REGISTRATIONS_PREEMPTED)]);
}

#[test]
fn preempt_and_abort_aborts_preempted_nexuses_only() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    register(&mut st, &C, 3);
    assert_eq!(out(&mut st, &B, SA_RESERVE, EA, 2, 0), Ok(()));
    let mut sink = Rec::default();
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_PREEMPT_ABORT,
            EA,
            &basic(1, 2, 0),
            &mut sink
        ),
        Ok(())
    );
    assert_eq!(sink.aborts, [B]);
    assert_eq!(st.reservation(), Some((PrType::ExclusiveAccess, Some(A))));
}

// ----- REGISTER AND MOVE --------------------------------------------------------------

fn moved_setup() -> PrTable {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE_RO, 1, 0), Ok(()));
    st
}

#[test]
fn register_and_move_moves_reservation() {
    let mut st = moved_setup();
    let p = move_params(1, 0x77, 0x01, 2, &fc_tid(D.initiator));
    let mut sink = Rec::default();
    assert_eq!(run(&mut st, &A, SA_REG_MOVE, 0, &p, &mut sink), Ok(()));
    let d2 = PrNexus { rel_port: 2, ..D };
    assert_eq!(
        st.reservation(),
        Some((PrType::WriteExclusiveRegistrantsOnly, Some(d2)))
    );
    assert_eq!(st.key_of(&d2), Some(0x77));
    assert_eq!(st.key_of(&A), Some(1));
    assert!(st.aptpl());
    assert_eq!(st.generation(), 2);
    assert!(sink.uas.is_empty());

    // With UNREG the source registration goes away.
    let mut st = moved_setup();
    let p = move_params(1, 0x77, 0x02, 1, &fc_tid(D.initiator));
    assert_eq!(
        run(&mut st, &A, SA_REG_MOVE, 0, &p, &mut Rec::default()),
        Ok(())
    );
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(D, 0x77)]);
    assert_eq!(
        st.reservation(),
        Some((PrType::WriteExclusiveRegistrantsOnly, Some(D)))
    );
}

#[test]
fn register_and_move_errors() {
    let tid = fc_tid(D.initiator);
    let cases: Vec<(PrNexus, Vec<u8>, PrError)> = vec![
        (B, move_params(0, 5, 0, 1, &tid), PrError::Conflict), // unregistered
        (A, move_params(9, 5, 0, 1, &tid), PrError::Conflict), // wrong key
        (
            A,
            move_params(1, 0, 0, 1, &tid),
            PrError::Check(Sense::invalid_param_field(8, None)),
        ),
        (
            A,
            move_params(1, 5, 0, 1, &fc_tid(A.initiator)),
            PrError::Check(Sense::invalid_param_field(32, None)),
        ),
        (
            A,
            move_params(1, 5, 0, 9, &tid),
            PrError::Check(Sense::invalid_param_field(18, None)),
        ),
        (
            A,
            move_params(1, 5, 0, 1, &tid[..20]),
            PrError::Check(Sense::invalid_param_field(24, None)),
        ),
    ];
    for (i, (who, p, err)) in cases.into_iter().enumerate() {
        let mut st = moved_setup();
        let before = st.clone();
        assert_eq!(
            run(&mut st, &who, SA_REG_MOVE, 0, &p, &mut Rec::default()),
            Err(err),
            "case {i}"
        );
        assert_eq!(st, before);
    }
    // Bad protocol identifier, TransportID length not matching the list.
    let mut st = moved_setup();
    let mut bad = tid.clone();
    bad[0] = 0x05;
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REG_MOVE,
            0,
            &move_params(1, 5, 0, 1, &bad),
            &mut Rec::default()
        ),
        Err(PrError::Check(Sense::invalid_param_field(24, Some(3))))
    );
    let mut p = move_params(1, 5, 0, 1, &tid);
    p.push(0);
    assert_eq!(
        run(&mut st, &A, SA_REG_MOVE, 0, &p, &mut Rec::default()),
        Err(pll())
    );
    // A registrant that does not hold the reservation.
    register(&mut st, &B, 2);
    assert_eq!(
        run(
            &mut st,
            &B,
            SA_REG_MOVE,
            0,
            &move_params(2, 5, 0, 1, &tid),
            &mut Rec::default()
        ),
        Err(PrError::Conflict)
    );
    // No reservation at all.
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REG_MOVE,
            0,
            &move_params(1, 5, 0, 1, &tid),
            &mut Rec::default()
        ),
        Err(PrError::Check(Sense::invalid_cdb_field(1, Some(4))))
    );
    // All Registrants reservations cannot move.
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE_AR, 1, 0), Ok(()));
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REG_MOVE,
            0,
            &move_params(1, 5, 0, 1, &tid),
            &mut Rec::default()
        ),
        Err(PrError::Conflict)
    );
}

#[test]
fn register_and_move_without_room() {
    let mut st = PrState::<1>::new();
    register(&mut st, &A, 1);
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    let p = move_params(1, 5, 0, 1, &fc_tid(D.initiator));
    assert_eq!(
        run(&mut st, &A, SA_REG_MOVE, 0, &p, &mut Rec::default()),
        Err(check_cond(Asc::INSUFFICIENT_REGISTRATION_RESOURCES))
    );
    // UNREG frees the slot the destination needs.
    let p = move_params(1, 5, 0x02, 1, &fc_tid(D.initiator));
    assert_eq!(
        run(&mut st, &A, SA_REG_MOVE, 0, &p, &mut Rec::default()),
        Ok(())
    );
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(D, 5)]);
}

// ----- SPEC_I_PT / ALL_TG_PT ----------------------------------------------------------

#[test]
fn spec_i_pt_registers_every_transport_id() {
    let mut st = PrTable::new();
    let p = spec_i_pt(0x42, 0, &[fc_tid(B.initiator), fc_tid(C.initiator)]);
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Ok(())
    );
    assert_eq!(
        st.registrations().collect::<Vec<_>>(),
        [(A, 0x42), (B, 0x42), (C, 0x42)]
    );
    assert_eq!(st.generation(), 1);
}

#[test]
fn spec_i_pt_with_all_tg_pt_registers_on_every_port() {
    let mut st = PrTable::new();
    let p = spec_i_pt(0x42, 0x04, &[fc_tid(B.initiator)]);
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Ok(())
    );
    let mut got: Vec<_> = st
        .registrations()
        .map(|(n, _)| (n.initiator.0 & 0xf, n.rel_port))
        .collect();
    got.sort();
    assert_eq!(got, [(0xa, 1), (0xa, 2), (0xb, 1), (0xb, 2)]);
}

#[test]
fn spec_i_pt_with_a_bad_transport_id_registers_nothing() {
    let mut bad = fc_tid(D.initiator);
    bad[0] = 0x01; // protocol identifier 1: not FCP
    let cases: Vec<(Vec<u8>, PrError)> = vec![
        (
            spec_i_pt(
                0x42,
                0,
                &[fc_tid(B.initiator), bad.clone(), fc_tid(C.initiator)],
            ),
            PrError::Check(Sense::invalid_param_field(52, Some(3))),
        ),
        (
            spec_i_pt(
                0x42,
                0,
                &[fc_tid(B.initiator), {
                    let mut f = fc_tid(C.initiator);
                    f[0] = 0x40; // format code 01b
                    f
                }],
            ),
            PrError::Check(Sense::invalid_param_field(52, Some(7))),
        ),
        // A truncated second TransportID.
        (
            spec_i_pt(0x42, 0, &[fc_tid(B.initiator), vec![0u8; 6]]),
            PrError::Check(Sense::invalid_param_field(52, None)),
        ),
    ];
    for (i, (p, err)) in cases.into_iter().enumerate() {
        let mut st = PrTable::new();
        assert_eq!(
            run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
            Err(err),
            "case {i}"
        );
        assert_eq!(st, PrTable::new());
    }
    // TRANSPORTID PARAMETER DATA LENGTH inconsistent with the parameter list length.
    let mut st = PrTable::new();
    let mut p = spec_i_pt(0x42, 0, &[fc_tid(B.initiator)]);
    p[27] = 48;
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Err(pll())
    );
    // SPEC_I_PT with 24-byte list.
    let p = basic(0, 0x42, 0x08);
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Err(pll())
    );
    assert_eq!(st, PrTable::new());
}

#[test]
fn spec_i_pt_only_for_register_from_unregistered_nexus() {
    let mut st = PrTable::new();
    let p = spec_i_pt(0x42, 0, &[fc_tid(B.initiator)]);
    assert_eq!(
        run(&mut st, &A, SA_REG_IGNORE, 0, &p, &mut Rec::default()),
        Err(PrError::Check(Sense::invalid_param_field(20, Some(3))))
    );
    register(&mut st, &A, 7);
    let mut p = spec_i_pt(0x42, 0, &[fc_tid(B.initiator)]);
    p[..8].copy_from_slice(&7u64.to_be_bytes());
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Err(PrError::Check(Sense::invalid_param_field(20, Some(3))))
    );
    assert_eq!(st.registrations().collect::<Vec<_>>(), [(A, 7)]);
}

#[test]
fn spec_i_pt_without_room_registers_nothing() {
    let mut st = PrState::<4>::new();
    register(&mut st, &D, 9);
    let before = st.clone();
    // A, B, C on two ports = 6 registrations, only 3 free slots.
    let p = spec_i_pt(0x42, 0x04, &[fc_tid(B.initiator), fc_tid(C.initiator)]);
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Err(check_cond(Asc::INSUFFICIENT_REGISTRATION_RESOURCES))
    );
    assert_eq!(st, before);
    // Exactly enough room works; duplicates and already registered nexuses take none.
    let p = spec_i_pt(
        0x42,
        0,
        &[
            fc_tid(B.initiator),
            fc_tid(B.initiator),
            fc_tid(D.initiator),
            fc_tid(C.initiator),
        ],
    );
    assert_eq!(
        run(&mut st, &A, SA_REGISTER, 0, &p, &mut Rec::default()),
        Ok(())
    );
    assert_eq!(
        st.registrations().collect::<Vec<_>>(),
        [(D, 9), (A, 0x42), (B, 0x42), (C, 0x42)]
    );
    // The table is full now.
    let a2 = PrNexus { rel_port: 2, ..A };
    assert_eq!(
        out(&mut st, &a2, SA_REGISTER, 0, 0, 1),
        Err(check_cond(Asc::INSUFFICIENT_REGISTRATION_RESOURCES))
    );
}

// ----- PERSISTENT RESERVE IN ----------------------------------------------------------

#[test]
fn report_capabilities_bytes() {
    let mut st = PrTable::new();
    assert_eq!(prin(&st, 2), [0, 8, 0x1d, 0xb0, 0xea, 0x01, 0, 0]);
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REGISTER,
            0,
            &basic(0, 1, 0x01),
            &mut Rec::default()
        ),
        Ok(())
    );
    assert!(st.aptpl());
    assert_eq!(prin(&st, 2), [0, 8, 0x1d, 0xb1, 0xea, 0x01, 0, 0]);
}

#[test]
fn read_full_status_bytes() {
    let mut st = PrTable::new();
    register(&mut st, &A, 0x11);
    let b2 = PrNexus { rel_port: 2, ..B };
    assert_eq!(
        run(
            &mut st,
            &b2,
            SA_REGISTER,
            0,
            &basic(0, 0x22, 0x04),
            &mut Rec::default()
        ),
        Ok(())
    );
    assert_eq!(out(&mut st, &A, SA_RESERVE, EA_RO, 0x11, 0), Ok(()));
    let r = prin(&st, 3);
    let mut expect = vec![0, 0, 0, 2, 0, 0, 0, 3 * 48];
    let desc = |key: u64, flags: u8, st: u8, port: u16, w: Wwpn| {
        let mut d = key.to_be_bytes().to_vec();
        d.extend_from_slice(&[0, 0, 0, 0, flags, st, 0, 0, 0, 0]);
        d.extend_from_slice(&port.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 24]);
        d.extend_from_slice(&fc_tid(w));
        d
    };
    expect.extend(desc(0x11, 0x01, EA_RO, 1, A.initiator));
    expect.extend(desc(0x22, 0x02, 0, 2, B.initiator));
    expect.extend(desc(0x22, 0x02, 0, 1, B.initiator));
    assert_eq!(r, expect);
}

#[test]
fn read_full_status_all_registrants_are_holders() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE_AR, 1, 0), Ok(()));
    let r = prin(&st, 3);
    assert_eq!(&r[8 + 12..8 + 14], &[0x01, WE_AR]);
    assert_eq!(&r[56 + 12..56 + 14], &[0x01, WE_AR]);
}

#[test]
fn prin_allocation_length_and_errors() {
    let mut st = PrTable::new();
    register(&mut st, &A, 0x11);
    register(&mut st, &B, 0x22);
    let mut buf = [0xeeu8; 32];
    let cdb = [0x5e, 0, 0, 0, 0, 0, 0, 0, 10, 0];
    assert_eq!(st.reserve_in(&A, &cdb, &mut buf), Ok(24));
    assert_eq!(&buf[..10], &[0, 0, 0, 2, 0, 0, 0, 16, 0, 0]);
    assert!(buf[10..].iter().all(|&b| b == 0xee));
    // Output buffer smaller than allocation length.
    let mut small = [0u8; 4];
    let cdb = [0x5e, 3, 0, 0, 0, 0, 0, 1, 0, 0];
    assert_eq!(st.reserve_in(&A, &cdb, &mut small), Ok(8 + 96));
    assert_eq!(small, [0, 0, 0, 2]);
    let cdb = [0x5e, 4, 0, 0, 0, 0, 0, 1, 0, 0];
    assert_eq!(
        st.reserve_in(&A, &cdb, &mut buf),
        Err(Sense::invalid_cdb_field(1, Some(4)))
    );
    assert_eq!(
        st.reserve_in(&A, &cdb[..9], &mut buf),
        Err(Sense::invalid_cdb_field(0, None))
    );
    assert_eq!(
        st.reserve_in(&A, &[0x5f; 10], &mut buf),
        Err(Sense::invalid_opcode())
    );
}

// ----- generation ---------------------------------------------------------------------

#[test]
fn generation_counts_only_register_clear_preempt_move() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1); // 1
    register(&mut st, &B, 2); // 2
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    assert_eq!(out(&mut st, &A, SA_RELEASE, WE, 1, 0), Ok(()));
    assert_eq!(st.generation(), 2);
    assert_eq!(out(&mut st, &A, SA_REG_IGNORE, 0, 0, 3), Ok(())); // 3
    assert_eq!(out(&mut st, &A, SA_PREEMPT, WE, 3, 2), Ok(())); // 4
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 3, 0), Ok(()));
    let p = move_params(3, 5, 0, 1, &fc_tid(C.initiator));
    assert_eq!(
        run(&mut st, &A, SA_REG_MOVE, 0, &p, &mut Rec::default()),
        Ok(())
    ); // 5
    assert_eq!(out(&mut st, &A, SA_CLEAR, 0, 3, 0), Ok(())); // 6
                                                             // Failures never count.
    assert_eq!(out(&mut st, &A, SA_CLEAR, 0, 3, 0), Err(PrError::Conflict));
    assert_eq!(read_keys(&st), (6, vec![]));
}

// ----- events -------------------------------------------------------------------------

#[test]
fn power_on_keeps_only_aptpl_state() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    st.on_power_on();
    assert_eq!(st, PrTable::new());

    let mut st = PrTable::new();
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REGISTER,
            0,
            &basic(0, 1, 0x01),
            &mut Rec::default()
        ),
        Ok(())
    );
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    assert_eq!(
        st.reserve_spc2(&B, &[0x16, 0, 0, 0, 0, 0]),
        Err(PrError::Conflict)
    );
    st.on_power_on();
    assert_eq!(st.generation(), 0);
    assert_eq!(st.key_of(&A), Some(1));
    assert_eq!(st.reservation(), Some((PrType::WriteExclusive, Some(A))));
    // APTPL=0 on a later REGISTER turns persistence off.
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REGISTER,
            0,
            &basic(1, 2, 0),
            &mut Rec::default()
        ),
        Ok(())
    );
    assert!(!st.aptpl());
}

// ----- SPC-2 RESERVE / RELEASE --------------------------------------------------------

const RESERVE6: [u8; 6] = [0x16, 0, 0, 0, 0, 0];
const RELEASE6: [u8; 6] = [0x17, 0, 0, 0, 0, 0];
const RESERVE10: [u8; 10] = [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const RELEASE10: [u8; 10] = [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const READ10: [u8; 10] = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
const INQUIRY: [u8; 6] = [0x12, 0, 0, 0, 36, 0];

#[test]
fn spc2_reserve_release() {
    let mut st = PrTable::new();
    assert_eq!(st.reserve_spc2(&A, &RESERVE6), Ok(()));
    assert_eq!(st.spc2_holder(), Some(A));
    assert_eq!(
        st.reserve_spc2(&A, &RESERVE10),
        Ok(()),
        "re-reserve by holder"
    );
    assert_eq!(st.check(&A, &READ10), Ok(()));
    assert_eq!(st.check(&B, &READ10), Err(Conflict));
    assert_eq!(st.check(&B, &INQUIRY), Ok(()));
    assert_eq!(st.check(&B, &RELEASE6), Ok(()));
    assert_eq!(st.check(&B, &prout_cdb(0, 0, 24)), Err(Conflict));
    assert_eq!(
        st.check(&B, &[0x5e, 0, 0, 0, 0, 0, 0, 0, 8, 0]),
        Err(Conflict)
    );
    assert_eq!(st.reserve_spc2(&B, &RESERVE6), Err(PrError::Conflict));
    // PROUT from another nexus conflicts even without calling check first.
    assert_eq!(
        out(&mut st, &B, SA_REGISTER, 0, 0, 1),
        Err(PrError::Conflict)
    );
    // RELEASE from a non-holder: GOOD, nothing released.
    assert_eq!(st.release_spc2(&B, &RELEASE10), Ok(()));
    assert_eq!(st.spc2_holder(), Some(A));
    assert_eq!(st.release_spc2(&A, &RELEASE6), Ok(()));
    assert_eq!(st.spc2_holder(), None);
    assert_eq!(st.check(&B, &READ10), Ok(()));
}

#[test]
fn spc2_rejects_third_party_extents_and_longid() {
    let mut st = PrTable::new();
    let cases: [(&[u8], Sense); 7] = [
        (
            &[0x16, 0x10, 0, 0, 0, 0],
            Sense::invalid_cdb_field(1, Some(4)),
        ),
        (
            &[0x16, 0x01, 0, 0, 0, 0],
            Sense::invalid_cdb_field(1, Some(0)),
        ),
        (&[0x16, 0, 0, 0, 8, 0], Sense::invalid_cdb_field(3, Some(7))),
        (
            &[0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0],
            Sense::invalid_cdb_field(1, Some(4)),
        ),
        (
            &[0x56, 0x02, 0, 0, 0, 0, 0, 0, 0, 0],
            Sense::invalid_cdb_field(1, Some(1)),
        ),
        (
            &[0x56, 0, 0, 0, 0, 0, 0, 0, 8, 0],
            Sense::invalid_cdb_field(7, Some(7)),
        ),
        (&[0x16, 0, 0], Sense::invalid_cdb_field(0, None)),
    ];
    for (cdb, sense) in cases {
        assert_eq!(
            st.reserve_spc2(&A, cdb),
            Err(PrError::Check(sense)),
            "{cdb:?}"
        );
    }
    assert_eq!(
        st.release_spc2(&A, &[0x57, 0x10, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(PrError::Check(Sense::invalid_cdb_field(1, Some(4))))
    );
    assert_eq!(
        st.release_spc2(&A, &RESERVE6),
        Err(PrError::Check(Sense::invalid_opcode()))
    );
    assert_eq!(st.spc2_holder(), None);
}

#[test]
fn spc2_with_persistent_registrations_crh() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    register(&mut st, &B, 2);
    // Registrations, no reservation: everybody conflicts.
    for who in [A, B, C] {
        assert_eq!(st.reserve_spc2(&who, &RESERVE6), Err(PrError::Conflict));
        assert_eq!(st.release_spc2(&who, &RELEASE6), Err(PrError::Conflict));
    }
    // Holder of a WE reservation: GOOD, nothing changes.
    assert_eq!(out(&mut st, &A, SA_RESERVE, WE, 1, 0), Ok(()));
    assert_eq!(st.reserve_spc2(&A, &RESERVE10), Ok(()));
    assert_eq!(st.release_spc2(&A, &RELEASE10), Ok(()));
    assert_eq!(st.spc2_holder(), None);
    assert_eq!(st.reservation(), Some((PrType::WriteExclusive, Some(A))));
    assert_eq!(st.reserve_spc2(&B, &RESERVE6), Err(PrError::Conflict));
    // Registrants Only: every registrant is exempt, others conflict.
    assert_eq!(out(&mut st, &A, SA_PREEMPT, WE_RO, 1, 1), Ok(()));
    assert_eq!(st.reserve_spc2(&B, &RESERVE6), Ok(()));
    assert_eq!(st.spc2_holder(), None);
    assert_eq!(st.reserve_spc2(&C, &RESERVE6), Err(PrError::Conflict));
}

#[test]
fn lu_reset_and_nexus_loss_drop_spc2_only() {
    let mut st = PrTable::new();
    register(&mut st, &B, 2);
    assert_eq!(out(&mut st, &B, SA_RESERVE, EA, 2, 0), Ok(()));
    let mut st2 = PrTable::new();
    assert_eq!(st2.reserve_spc2(&A, &RESERVE6), Ok(()));
    st2.on_nexus_loss(&B);
    assert_eq!(st2.spc2_holder(), Some(A));
    st2.on_nexus_loss(&PrNexus { rel_port: 2, ..A });
    assert_eq!(st2.spc2_holder(), Some(A));
    st2.on_nexus_loss(&A);
    assert_eq!(st2.spc2_holder(), None);
    assert_eq!(st2.reserve_spc2(&A, &RESERVE6), Ok(()));
    st2.on_lu_reset();
    assert_eq!(st2.spc2_holder(), None);
    let before = st.clone();
    st.on_lu_reset();
    st.on_nexus_loss(&B);
    assert_eq!(st, before);
}

// ----- conflict table -----------------------------------------------------------------

/// Columns (SPC-4 table 66 / SBC-3 table 13), for a nexus that is not the holder:
/// [Write Exclusive, Exclusive Access, registered under RO/AR, not registered under
/// WE-RO/WE-AR, not registered under EA-RO/EA-AR]; 'A' allowed, 'C' conflict.
fn table() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let c6 = |op: u8| vec![op, 0, 0, 0, 0, 0];
    let c10 = |op: u8| vec![op, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let c12 = |op: u8, sa: u8| vec![op, sa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let c16 = |op: u8, sa: u8| {
        let mut v = vec![0u8; 16];
        v[0] = op;
        v[1] = sa;
        v
    };
    let c32 = |sa: u16| {
        let mut v = vec![0u8; 32];
        v[0] = 0x7f;
        v[7] = 0x18;
        v[8..10].copy_from_slice(&sa.to_be_bytes());
        v
    };
    let b4 = |op: u8, b: u8| vec![op, 0, 0, 0, b, 0];
    vec![
        ("TEST UNIT READY", c6(0x00), "AAAAA"),
        ("REQUEST SENSE", c6(0x03), "AAAAA"),
        ("INQUIRY", c6(0x12), "AAAAA"),
        ("REPORT LUNS", c12(0xa0, 0), "AAAAA"),
        ("LOG SENSE", c10(0x4d), "AAAAA"),
        ("LOG SELECT", c10(0x4c), "CCACC"),
        ("MODE SENSE(6)", c6(0x1a), "ACAAC"),
        ("MODE SENSE(10)", c10(0x5a), "ACAAC"),
        ("MODE SELECT(6)", c6(0x15), "CCACC"),
        ("MODE SELECT(10)", c10(0x55), "CCACC"),
        ("PERSISTENT RESERVE IN", c10(0x5e), "AAAAA"),
        ("READ BUFFER", c10(0x3c), "ACAAC"),
        ("WRITE BUFFER", c10(0x3b), "CCACC"),
        ("RECEIVE DIAGNOSTIC RESULTS", c6(0x1c), "ACAAC"),
        ("SEND DIAGNOSTIC", c6(0x1d), "CCACC"),
        ("READ ATTRIBUTE", c16(0x8c, 0), "ACAAC"),
        ("WRITE ATTRIBUTE", c16(0x8d, 0), "CCACC"),
        ("REPORT TARGET PORT GROUPS", c12(0xa3, 0x0a), "AAAAA"),
        ("REPORT IDENTIFYING INFORMATION", c12(0xa3, 0x05), "AAAAA"),
        ("REPORT ALIASES", c12(0xa3, 0x0b), "AAAAA"),
        ("REPORT PRIORITY", c12(0xa3, 0x0e), "AAAAA"),
        ("REPORT TIMESTAMP", c12(0xa3, 0x0f), "AAAAA"),
        ("REPORT SUPPORTED OPERATION CODES", c12(0xa3, 0x0c), "ACAAC"),
        (
            "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
            c12(0xa3, 0x0d),
            "ACAAC",
        ),
        ("MANAGEMENT PROTOCOL IN", c12(0xa3, 0x10), "ACAAC"),
        ("SET TARGET PORT GROUPS", c12(0xa4, 0x0a), "CCACC"),
        ("READ MEDIA SERIAL NUMBER", c12(0xab, 0x01), "AAAAA"),
        ("ACCESS CONTROL IN", c16(0x86, 0), "AAAAA"),
        ("ACCESS CONTROL OUT", c16(0x87, 0), "AAAAA"),
        ("SECURITY PROTOCOL IN", c12(0xa2, 0), "ACAAC"),
        ("SECURITY PROTOCOL OUT", c12(0xb5, 0), "CCACC"),
        ("EXTENDED COPY", c16(0x83, 0), "CCACC"),
        ("RECEIVE COPY RESULTS", c16(0x84, 0), "ACAAC"),
        ("POPULATE TOKEN", c16(0x83, 0x10), "ACAAC"),
        ("WRITE USING TOKEN", c16(0x83, 0x11), "CCACC"),
        // SBC-3
        ("READ(6)", c6(0x08), "ACAAC"),
        ("READ(10)", c10(0x28), "ACAAC"),
        ("READ(12)", c12(0xa8, 0), "ACAAC"),
        ("READ(16)", c16(0x88, 0), "ACAAC"),
        ("READ(32)", c32(0x0009), "ACAAC"),
        ("VERIFY(10)", c10(0x2f), "ACAAC"),
        ("VERIFY(12)", c12(0xaf, 0), "ACAAC"),
        ("VERIFY(16)", c16(0x8f, 0), "ACAAC"),
        ("VERIFY(32)", c32(0x000a), "ACAAC"),
        ("PRE-FETCH(10)", c10(0x34), "ACAAC"),
        ("PRE-FETCH(16)", c16(0x90, 0), "ACAAC"),
        ("READ CAPACITY(10)", c10(0x25), "AAAAA"),
        ("READ CAPACITY(16)", c16(0x9e, 0x10), "AAAAA"),
        ("GET LBA STATUS", c16(0x9e, 0x12), "ACAAC"),
        ("REPORT REFERRALS", c16(0x9e, 0x13), "ACAAC"),
        ("READ LONG(16)", c16(0x9e, 0x11), "CCACC"),
        ("READ LONG(10)", c10(0x3e), "CCACC"),
        ("WRITE LONG(10)", c10(0x3f), "CCACC"),
        ("READ DEFECT DATA(10)", c10(0x37), "ACAAC"),
        ("READ DEFECT DATA(12)", c12(0xb7, 0), "ACAAC"),
        ("WRITE(6)", c6(0x0a), "CCACC"),
        ("WRITE(10)", c10(0x2a), "CCACC"),
        ("WRITE(12)", c12(0xaa, 0), "CCACC"),
        ("WRITE(16)", c16(0x8a, 0), "CCACC"),
        ("WRITE(32)", c32(0x000b), "CCACC"),
        ("WRITE AND VERIFY(10)", c10(0x2e), "CCACC"),
        ("WRITE AND VERIFY(16)", c16(0x8e, 0), "CCACC"),
        ("WRITE SAME(10)", c10(0x41), "CCACC"),
        ("WRITE SAME(16)", c16(0x93, 0), "CCACC"),
        ("WRITE SAME(32)", c32(0x000d), "CCACC"),
        ("UNMAP", c10(0x42), "CCACC"),
        ("COMPARE AND WRITE", c16(0x89, 0), "CCACC"),
        ("SYNCHRONIZE CACHE(10)", c10(0x35), "CCACC"),
        ("SYNCHRONIZE CACHE(16)", c16(0x91, 0), "CCACC"),
        ("FORMAT UNIT", c6(0x04), "CCACC"),
        ("REASSIGN BLOCKS", c6(0x07), "CCACC"),
        ("START STOP UNIT start", b4(0x1b, 0x01), "AAAAA"),
        ("START STOP UNIT stop", b4(0x1b, 0x00), "CCACC"),
        ("START STOP UNIT power condition", b4(0x1b, 0x11), "CCACC"),
        ("START STOP UNIT load/eject start", b4(0x1b, 0x03), "AAAAA"),
        (
            "PREVENT ALLOW MEDIUM REMOVAL allow",
            b4(0x1e, 0x00),
            "AAAAA",
        ),
        (
            "PREVENT ALLOW MEDIUM REMOVAL prevent",
            b4(0x1e, 0x01),
            "CCACC",
        ),
        ("vendor specific", c6(0xc0), "CCACC"),
    ]
}

#[test]
fn conflict_table_exhaustive() {
    let mut checked = 0;
    for (name, cdb, cols) in table() {
        let col: Vec<bool> = cols.chars().map(|c| c == 'A').collect();
        // No reservation: everything runs.
        let mut st = PrTable::new();
        register(&mut st, &B, 2);
        for who in [A, B, C] {
            assert_eq!(st.check(&who, &cdb), Ok(()), "{name} without reservation");
        }
        for ty in ALL_TYPES {
            let t = PrType::from_code(ty).unwrap();
            let mut st = PrTable::new();
            register(&mut st, &A, 1);
            register(&mut st, &B, 2);
            assert_eq!(out(&mut st, &A, SA_RESERVE, ty, 1, 0), Ok(()));
            let shared = t.registrants_only() || t.all_registrants();
            // Holder.
            assert_eq!(st.check(&A, &cdb), Ok(()), "{name} holder type {ty}");
            // Registered non-holder (a holder too under All Registrants).
            let reg_ok = if t.all_registrants() {
                true
            } else if shared {
                col[2]
            } else if t.write_exclusive() {
                col[0]
            } else {
                col[1]
            };
            // Unregistered.
            let unreg_ok = match (shared, t.write_exclusive()) {
                (false, true) => col[0],
                (false, false) => col[1],
                (true, true) => col[3],
                (true, false) => col[4],
            };
            assert_eq!(
                st.check(&B, &cdb).is_ok(),
                reg_ok,
                "{name} registered type {ty}"
            );
            assert_eq!(
                st.check(&C, &cdb).is_ok(),
                unreg_ok,
                "{name} unregistered type {ty}"
            );
            checked += 3;
        }
    }
    assert!(checked > 1000);
}

#[test]
fn conflict_table_persistent_reserve_out() {
    // SPC-4 table 67: (service action, allowed from registered non-holder, from unregistered).
    let rows = [
        (SA_REGISTER, true, true),
        (SA_REG_IGNORE, true, true),
        (SA_RESERVE, false, false),
        (SA_RELEASE, true, false),
        (SA_CLEAR, true, false),
        (SA_PREEMPT, true, false),
        (SA_PREEMPT_ABORT, true, false),
        (SA_REG_MOVE, false, false),
    ];
    for ty in ALL_TYPES {
        let t = PrType::from_code(ty).unwrap();
        let mut st = PrTable::new();
        register(&mut st, &A, 1);
        register(&mut st, &B, 2);
        assert_eq!(out(&mut st, &A, SA_RESERVE, ty, 1, 0), Ok(()));
        for (sa, reg, unreg) in rows {
            let cdb = prout_cdb(sa, ty, 24);
            assert_eq!(st.check(&A, &cdb), Ok(()));
            assert_eq!(
                st.check(&B, &cdb).is_ok(),
                reg || t.all_registrants(),
                "sa {sa} type {ty}"
            );
            assert_eq!(st.check(&C, &cdb).is_ok(), unreg, "sa {sa} type {ty}");
        }
    }
}

#[test]
fn spc2_and_pr_reserve_release_pass_check() {
    let mut st = PrTable::new();
    register(&mut st, &A, 1);
    assert_eq!(out(&mut st, &A, SA_RESERVE, EA, 1, 0), Ok(()));
    for cdb in [&RESERVE6[..], &RELEASE6[..], &RESERVE10[..], &RELEASE10[..]] {
        assert_eq!(st.check(&C, cdb), Ok(()));
    }
    assert_eq!(st.check(&C, &[]), Ok(()));
}

// ----- APTPL image --------------------------------------------------------------------

#[test]
fn crc32_check_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

fn sample_state() -> PrTable {
    let mut st = PrTable::new();
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REGISTER,
            0,
            &basic(0, 0x1111, 0x05),
            &mut Rec::default()
        ),
        Ok(())
    );
    register(&mut st, &B, 0x2222);
    register(&mut st, &C, 0x3333);
    assert_eq!(out(&mut st, &B, SA_RESERVE, EA_RO, 0x2222, 0), Ok(()));
    assert_eq!(
        run(
            &mut st,
            &A,
            SA_REGISTER,
            0,
            &basic(0x1111, 0x1112, 0x01),
            &mut Rec::default()
        ),
        Ok(())
    );
    st
}

#[test]
fn aptpl_export_import_round_trip() {
    let st = sample_state();
    let mut buf = [0u8; PrTable::IMAGE_MAX_LEN];
    let len = st.export(&mut buf).unwrap();
    assert_eq!(len, st.image_len());
    assert_eq!(len, 16 + 4 * 20 + 4);
    assert_eq!(&buf[..8], &[b'F', b'R', b'P', b'R', 1, 0x03, EA_RO, 0]);
    let mut back = PrTable::new();
    back.import(&buf[..len]).unwrap();
    assert_eq!(back, st);
    for sa in 0..4 {
        assert_eq!(prin(&back, sa), prin(&st, sa));
    }
    // Exporting the restored state gives the same bytes.
    let mut again = [0u8; PrTable::IMAGE_MAX_LEN];
    assert_eq!(back.export(&mut again), Ok(len));
    assert_eq!(&again[..len], &buf[..len]);
    // All Registrants and empty states round trip too.
    let mut ar = PrTable::new();
    register(&mut ar, &A, 1);
    assert_eq!(out(&mut ar, &A, SA_RESERVE, WE_AR, 1, 0), Ok(()));
    for s in [ar, PrTable::new()] {
        let n = s.export(&mut buf).unwrap();
        let mut t = sample_state();
        t.import(&buf[..n]).unwrap();
        assert_eq!(t, s);
    }
}

#[test]
fn aptpl_export_buffer_too_small() {
    let st = sample_state();
    let mut buf = [0u8; 50];
    assert_eq!(
        st.export(&mut buf),
        Err(PrImageError::BufferTooSmall { needed: 100 })
    );
}

#[test]
fn aptpl_import_detects_every_corruption() {
    let st = sample_state();
    let mut buf = [0u8; PrTable::IMAGE_MAX_LEN];
    let len = st.export(&mut buf).unwrap();
    let image = &buf[..len];
    let mut target = PrTable::new();
    register(&mut target, &D, 9);
    let before = target.clone();
    for i in 0..len {
        for bit in 0..8 {
            let mut bad = image.to_vec();
            bad[i] ^= 1 << bit;
            assert!(target.import(&bad).is_err(), "byte {i} bit {bit}");
            assert_eq!(target, before);
        }
    }
    for cut in 0..len {
        assert!(target.import(&image[..cut]).is_err(), "cut {cut}");
    }
    let mut long = image.to_vec();
    long.push(0);
    assert_eq!(target.import(&long), Err(PrImageError::Inconsistent));
    assert_eq!(target, before);
}

/// Rewrites the checksum so only semantic validation can reject the image.
fn reseal(image: &mut [u8]) {
    let body = image.len() - 4;
    let crc = crc32(&image[..body]);
    image[body..].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn aptpl_import_rejects_inconsistent_images() {
    let st = sample_state();
    let mut buf = [0u8; PrTable::IMAGE_MAX_LEN];
    let len = st.export(&mut buf).unwrap();
    let image = buf[..len].to_vec();
    type Edit = fn(&mut Vec<u8>);
    let cases: [(Edit, PrImageError); 10] = [
        (|v| v[0] = b'X', PrImageError::BadMagic),
        (|v| v[4] = 2, PrImageError::UnsupportedVersion),
        (|v| v[5] |= 0x80, PrImageError::Inconsistent),
        (|v| v[6] = 2, PrImageError::Inconsistent), // obsolete type
        (|v| v[15] = 9, PrImageError::Inconsistent), // holder index out of range
        (|v| v[6] = WE_AR, PrImageError::Inconsistent), // All Registrants with a holder
        (|v| v[16 + 12..16 + 20].fill(0), PrImageError::Inconsistent), // zero key
        (
            |v| {
                let (a, b) = v.split_at_mut(36);
                b[..10].copy_from_slice(&a[16..26]);
            },
            PrImageError::Inconsistent,
        ), // duplicate nexus
        (|v| v[16 + 11] = 1, PrImageError::Inconsistent),
        (|v| v[5] = 0x01, PrImageError::Inconsistent), // type without reservation flag
    ];
    let mut target = PrTable::new();
    for (i, (edit, err)) in cases.into_iter().enumerate() {
        let mut bad = image.clone();
        edit(&mut bad);
        reseal(&mut bad);
        assert_eq!(target.import(&bad), Err(err), "case {i}");
        assert_eq!(target, PrTable::new());
    }
    // Too many registrations for a smaller table.
    let mut small = PrState::<2>::new();
    assert_eq!(
        small.import(&image),
        Err(PrImageError::TooManyRegistrations)
    );
}

// ----- properties ---------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    const NEXUSES: [PrNexus; 4] = [
        A,
        B,
        PrNexus {
            initiator: Wwpn(0x2100_0000_0000_000a),
            rel_port: 2,
        },
        PrNexus {
            initiator: Wwpn(0x2100_0000_0000_000c),
            rel_port: 2,
        },
    ];

    #[derive(Clone, Debug)]
    enum Op {
        Prout {
            who: usize,
            sa: u8,
            scope_type: u8,
            res: u8,
            sa_key: u8,
            flags: u8,
            tids: Vec<usize>,
            port: u16,
        },
        Reserve2 {
            who: usize,
        },
        Release2 {
            who: usize,
        },
        NexusLoss {
            who: usize,
        },
        LuReset,
        PowerOn,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (0..4usize, 0..9u8, prop_oneof![Just(0u8), 1..9u8, Just(0x11u8)], 0..4u8, 0..4u8,
                  prop_oneof![Just(0u8), Just(1), Just(4), Just(8), Just(0x0d), any::<u8>()],
                  proptest::collection::vec(0..5usize, 0..3), 0..4u16)
                .prop_map(|(who, sa, scope_type, res, sa_key, flags, tids, port)| Op::Prout {
                    who, sa, scope_type, res, sa_key, flags, tids, port
                }),
            1 => (0..4usize).prop_map(|who| Op::Reserve2 { who }),
            1 => (0..4usize).prop_map(|who| Op::Release2 { who }),
            1 => (0..4usize).prop_map(|who| Op::NexusLoss { who }),
            1 => Just(Op::LuReset),
            1 => Just(Op::PowerOn),
        ]
    }

    fn key(k: u8) -> u64 {
        if k == 0 {
            0
        } else {
            0x1000 + u64::from(k)
        }
    }

    fn wwpn(i: usize) -> Wwpn {
        NEXUSES
            .get(i)
            .map(|n| n.initiator)
            .unwrap_or(Wwpn(0x5000_0000_0000_0001))
    }

    fn params(op: &Op) -> Vec<u8> {
        let Op::Prout {
            sa,
            res,
            sa_key,
            flags,
            tids,
            port,
            ..
        } = op
        else {
            return vec![];
        };
        if *sa == SA_REG_MOVE {
            let tid = fc_tid(wwpn(tids.first().copied().unwrap_or(0)));
            return move_params(key(*res), key(*sa_key), *flags & 0x03, *port, &tid);
        }
        if flags & 0x08 != 0 {
            let list: Vec<Vec<u8>> = tids.iter().map(|&i| fc_tid(wwpn(i))).collect();
            let mut p = spec_i_pt(key(*sa_key), *flags & 0x05, &list);
            p[..8].copy_from_slice(&key(*res).to_be_bytes());
            return p;
        }
        basic(key(*res), key(*sa_key), *flags)
    }

    fn invariants(st: &PrTable) {
        let regs: Vec<(PrNexus, u64)> = st.registrations().collect();
        for (i, (n, k)) in regs.iter().enumerate() {
            assert_ne!(*k, 0, "zero key registered");
            assert!(
                regs[..i].iter().all(|(m, _)| m != n),
                "nexus registered twice"
            );
        }
        assert!(st.regs.iter().flatten().all(|r| !r.pending));
        match st.reservation() {
            None => {}
            Some((t, None)) => {
                assert!(t.all_registrants());
                assert!(
                    !regs.is_empty(),
                    "All Registrants reservation without registrants"
                );
            }
            Some((t, Some(h))) => {
                assert!(!t.all_registrants());
                assert!(
                    regs.iter().any(|(n, _)| *n == h),
                    "holder is not registered"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_prout_sequences_keep_invariants(ops in proptest::collection::vec(op(), 1..40)) {
            let mut st = PrTable::new();
            for op in &ops {
                let before = st.clone();
                let mut sink = Rec::default();
                let mut power_cycle = false;
                let result = match op {
                    Op::Prout { who, sa, scope_type, .. } => {
                        let p = params(op);
                        let cdb = prout_cdb(*sa, *scope_type, p.len() as u32);
                        st.reserve_out(&NEXUSES[*who], &PORTS, &cdb, &p, &mut sink)
                    }
                    Op::Reserve2 { who } => st.reserve_spc2(&NEXUSES[*who], &RESERVE6),
                    Op::Release2 { who } => st.release_spc2(&NEXUSES[*who], &RELEASE10),
                    Op::NexusLoss { who } => { st.on_nexus_loss(&NEXUSES[*who]); Ok(()) }
                    Op::LuReset => { st.on_lu_reset(); Ok(()) }
                    Op::PowerOn => { st.on_power_on(); power_cycle = true; Ok(()) }
                };
                invariants(&st);
                if result.is_err() {
                    prop_assert_eq!(&st, &before, "a failed command changed state: {:?}", op);
                    prop_assert!(sink.uas.is_empty() && sink.aborts.is_empty());
                }
                if power_cycle {
                    prop_assert_eq!(st.generation(), 0);
                } else {
                    let step = st.generation().wrapping_sub(before.generation());
                    prop_assert!(step <= 1, "generation moved by {}", step);
                }
                // Everything persistent survives an image round trip.
                let mut buf = [0u8; PrTable::IMAGE_MAX_LEN];
                let n = st.export(&mut buf).unwrap();
                let mut back = PrTable::new();
                back.import(&buf[..n]).unwrap();
                prop_assert_eq!(back.registrations().collect::<Vec<_>>(), st.registrations().collect::<Vec<_>>());
                prop_assert_eq!(back.reservation(), st.reservation());
                prop_assert_eq!(back.generation(), st.generation());
                prop_assert_eq!(back.aptpl(), st.aptpl());
            }
        }

        #[test]
        fn arbitrary_input_never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..40),
                                        params in proptest::collection::vec(any::<u8>(), 0..120),
                                        who in 0..4usize) {
            let mut st = sample_state();
            let mut sink = Rec::default();
            let mut c = cdb.clone();
            if let Some(b) = c.first_mut() { *b = 0x5f; }
            let _ = st.reserve_out(&NEXUSES[who], &PORTS, &c, &params, &mut sink);
            invariants(&st);
            let mut out = [0u8; 64];
            if let Some(b) = c.first_mut() { *b = 0x5e; }
            let _ = st.reserve_in(&NEXUSES[who], &c, &mut out);
            let _ = st.check(&NEXUSES[who], &cdb);
            let _ = st.reserve_spc2(&NEXUSES[who], &cdb);
            let _ = st.release_spc2(&NEXUSES[who], &cdb);
            let _ = st.import(&params);
            invariants(&st);
        }
    }
}
