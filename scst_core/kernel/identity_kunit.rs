// SPDX-License-Identifier: GPL-2.0
//! KUnit: the identity rule, run inside the kernel on the `scst_core` code as the module build
//! compiled it (kernel codegen, overflow checks). The host runs the same scenarios at scale.

#[kernel::prelude::kunit_tests(ferrule_identity)]
mod tests {
    use kernel::prelude::*;
    use scst_core::identity::{Nexus, SessionTable};
    use scst_core::types::{Handle, LocalPort, PortId, Wwpn};

    const P: LocalPort = LocalPort {
        target: 0,
        vp_index: 1,
    };
    const A: Wwpn = Wwpn(0xc050_7601_0000_000a);
    const B: Wwpn = Wwpn(0xc050_7601_0000_000b);

    fn nexus(wwpn: Wwpn, id: u32, handle: u16) -> Nexus {
        Nexus {
            port: P,
            wwpn,
            port_id: PortId::new(id),
            handle: Handle(handle),
        }
    }

    /// Seed case (a): vHBA A disappears without a LOGO; vHBA B logs in with A's N_Port ID and
    /// handle. A's session must be torn down before B's login is ready, and afterwards the
    /// S_ID resolves to B only.
    #[test]
    fn slot_reuse_without_logo() -> Result {
        let mut t = KBox::new(SessionTable::<16>::new(), GFP_KERNEL)?;
        let a = t
            .plogi(nexus(A, 0x01_0203, 7), &mut |_| {})
            .map_err(|_| EINVAL)?;
        assert!(a.ready);
        t.activate(a.session).map_err(|_| EINVAL)?;
        let found = t
            .lookup_sid(P, PortId::new(0x01_0203))
            .map_err(|_| EINVAL)?;
        assert_eq!(found, a.session);

        let mut torn = 0u32;
        let mut old = None;
        let b = t
            .plogi(nexus(B, 0x01_0203, 7), &mut |d| {
                torn += 1;
                old = Some(d.session);
            })
            .map_err(|_| EINVAL)?;
        assert_eq!(torn, 1);
        assert_eq!(old, Some(a.session));
        // B may not be acked while A is still being torn down, and no guessed session meanwhile.
        assert!(!b.ready);
        assert!(t.lookup_sid(P, PortId::new(0x01_0203)).is_err());

        let mut ready = 0u32;
        t.teardown_done(a.session, &mut |_| ready += 1)
            .map_err(|_| EINVAL)?;
        assert_eq!(ready, 1);
        t.activate(b.session).map_err(|_| EINVAL)?;
        let now = t
            .lookup_sid(P, PortId::new(0x01_0203))
            .map_err(|_| EINVAL)?;
        assert_eq!(now, b.session);
        assert_eq!(t.get(now).map_err(|_| EINVAL)?.nexus.wwpn, B);
        // A's reference is stale for good.
        assert!(t.get(a.session).is_err());
        Ok(())
    }
}
