//! NVRAM images: decoding against images built from the byte offsets of qla_fw.h's
//! `struct nvram_24xx` (literal offsets here, independent of `nvram::off`), every rejection,
//! the ICB it produces, and arbitrary bytes never panicking.

use proptest::prelude::*;
use qla2x00t_proto::mailbox::{fo1, fo2, InitCb24};
use qla2x00t_proto::nvram::*;
use scst_core::types::Wwpn;

const PORT: Wwpn = Wwpn(0x2100_0024_ff5a_0001);
const NODE: Wwpn = Wwpn(0x2000_0024_ff5a_0001);

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

fn sum(b: &[u8]) -> u32 {
    b.chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
        .fold(0u32, u32::wrapping_add)
}

/// Sets the checksum at 0x1FC so the word sum is zero.
fn seal(b: &mut [u8; 512]) {
    put(b, 0x1FC, &[0; 4]);
    let s = sum(b);
    put(b, 0x1FC, &s.wrapping_neg().to_le_bytes());
}

/// An image written field by field at the offsets of `struct nvram_24xx`.
fn hand_image() -> [u8; 512] {
    let mut b = [0u8; 512];
    put(&mut b, 0x00, b"ISP ");
    put(&mut b, 0x04, &2u16.to_le_bytes()); // nvram_version
    put(&mut b, 0x08, &1u16.to_le_bytes()); // version (ICB)
    put(&mut b, 0x0C, &2112u16.to_le_bytes()); // frame_payload_size
    put(&mut b, 0x0E, &0x0100u16.to_le_bytes()); // execution_throttle
    put(&mut b, 0x10, &0x0200u16.to_le_bytes()); // exchange_count
    put(&mut b, 0x12, &0x007Cu16.to_le_bytes()); // hard_address
    put(
        &mut b,
        0x14,
        &[0x21, 0x00, 0x00, 0x24, 0xff, 0x5a, 0x00, 0x01],
    ); // port_name
    put(
        &mut b,
        0x1C,
        &[0x20, 0x00, 0x00, 0x24, 0xff, 0x5a, 0x00, 0x01],
    ); // node_name
    put(&mut b, 0x24, &8u16.to_le_bytes()); // login_retry_count
    put(&mut b, 0x2A, &7u16.to_le_bytes()); // login_timeout
    put(&mut b, 0x2C, &0x0000_6006u32.to_le_bytes()); // fo1: bits 14, 13, 2, 1
    put(&mut b, 0x30, &0x0400_1020u32.to_le_bytes()); // fo2: bit 26, bit 12, conn 2
    put(&mut b, 0x34, &0x0000_4000u32.to_le_bytes()); // fo3: data rate auto
    put(&mut b, 0x100, &0x0000_0C00u32.to_le_bytes()); // host_p
    put(&mut b, 0x104, &[0x21, 0, 0, 0xe0, 0x8b, 0, 0, 9]); // alternate_port_name
    put(&mut b, 0x10C, &[0x20, 0, 0, 0xe0, 0x8b, 0, 0, 9]); // alternate_node_name
    put(&mut b, 0x1E0, b"QLE2562         "); // model_name
    put(&mut b, 0x1F8, &0x1077u16.to_le_bytes()); // subsystem_vendor_id
    put(&mut b, 0x1FA, &0x015Du16.to_le_bytes()); // subsystem_device_id
    seal(&mut b);
    b
}

#[test]
fn hand_built_image_decodes_field_by_field() {
    let img = hand_image();
    let nv = Nvram24::parse(&img).unwrap();
    assert_eq!(nv.nvram_version, 2);
    assert_eq!(nv.icb_version, 1);
    assert_eq!(nv.frame_payload_size, 2112);
    assert_eq!(nv.execution_throttle, 0x0100);
    assert_eq!(nv.exchange_count, 0x0200);
    assert_eq!(nv.hard_address, 0x7C);
    assert_eq!(nv.port_name, PORT);
    assert_eq!(nv.node_name, NODE);
    assert_eq!(nv.login_retry_count, 8);
    assert_eq!(nv.login_timeout, 7);
    assert_eq!(nv.firmware_options, [0x6006, 0x0400_1020, 0x4000]);
    assert_eq!(nv.host_p, 0x0C00);
    assert_eq!(nv.alternate_port_name, Wwpn(0x2100_00e0_8b00_0009));
    assert_eq!(nv.alternate_node_name, Wwpn(0x2000_00e0_8b00_0009));
    assert_eq!(&nv.model_name, b"QLE2562         ");
    assert_eq!(nv.subsystem, (0x1077, 0x015D));
    assert_eq!(nv.names(), (PORT, NODE));
    // Longer input: only the first 512 bytes count.
    let mut long = img.to_vec();
    long.extend_from_slice(&[0xAB; 100]);
    assert_eq!(Nvram24::parse(&long), Ok(nv));
}

#[test]
fn generated_image_round_trips_and_matches_offsets() {
    let img = Nvram24::image(PORT, NODE);
    assert_eq!(&img[0..4], b"ISP ");
    assert_eq!(&img[0x14..0x1C], &PORT.0.to_be_bytes());
    assert_eq!(&img[0x1C..0x24], &NODE.0.to_be_bytes());
    assert_eq!(sum(&img), 0);
    let nv = Nvram24::parse(&img).unwrap();
    assert_eq!(nv.names(), (PORT, NODE));
    assert_eq!(nv.frame_payload_size, 2048);
    assert_eq!(nv.nvram_version, 1);
    let mut by_hand = img;
    fix_checksum(&mut by_hand);
    assert_eq!(by_hand, img);
}

#[test]
fn every_rejection_is_typed() {
    let good = hand_image();
    let resealed = |f: &dyn Fn(&mut [u8; 512])| {
        let mut b = good;
        f(&mut b);
        seal(&mut b);
        Nvram24::parse(&b)
    };
    assert_eq!(
        Nvram24::parse(&good[..511]),
        Err(NvramError::TooShort { len: 511 })
    );
    assert_eq!(Nvram24::parse(&[]), Err(NvramError::TooShort { len: 0 }));
    assert_eq!(
        Nvram24::parse(&[0xFF; 512]),
        Err(NvramError::BadId([0xFF; 4]))
    );
    assert_eq!(
        resealed(&|b| put(b, 0, b"ISP2")),
        Err(NvramError::BadId(*b"ISP2"))
    );
    let mut bad_sum = good;
    bad_sum[0x40] ^= 0x01;
    assert_eq!(
        Nvram24::parse(&bad_sum),
        Err(NvramError::BadChecksum { sum: 1 })
    );
    assert_eq!(
        resealed(&|b| put(b, 0x04, &0u16.to_le_bytes())),
        Err(NvramError::BadVersion { version: 0 })
    );
    assert_eq!(
        resealed(&|b| put(b, 0x14, &[0; 8])),
        Err(NvramError::InvalidPortName(Wwpn(0)))
    );
    assert_eq!(
        resealed(&|b| put(b, 0x14, &[0xFF; 8])),
        Err(NvramError::InvalidPortName(Wwpn(u64::MAX)))
    );
    assert_eq!(
        resealed(&|b| put(b, 0x14, &[0x01, 0, 0, 0, 0, 0, 0, 1])),
        Err(NvramError::InvalidPortName(Wwpn(0x0100_0000_0000_0001)))
    );
    assert_eq!(
        resealed(&|b| put(b, 0x1C, &[0; 8])),
        Err(NvramError::InvalidNodeName(Wwpn(0)))
    );
    // Without the node-name option the stored node name is not used, so zero is fine.
    let nv = resealed(&|b| {
        put(b, 0x1C, &[0; 8]);
        put(b, 0x2C, &0x0000_2006u32.to_le_bytes());
    })
    .unwrap();
    assert_eq!(nv.names(), (PORT, Wwpn(0x2000_0024_ff5a_0001)));
    // Alternate WWN: the alternate pair is used, and checked.
    let nv = resealed(&|b| put(b, 0x100, &0x0000_8000u32.to_le_bytes())).unwrap();
    assert_eq!(
        nv.names(),
        (Wwpn(0x2100_00e0_8b00_0009), Wwpn(0x2000_00e0_8b00_0009))
    );
    assert_eq!(
        resealed(&|b| {
            put(b, 0x100, &0x0000_8000u32.to_le_bytes());
            put(b, 0x104, &[0; 8]);
        }),
        Err(NvramError::InvalidPortName(Wwpn(0)))
    );
}

#[test]
fn node_name_derivation_clears_the_low_nibble_of_byte_0() {
    let mut b = hand_image();
    put(&mut b, 0x14, &[0x2F, 0x01, 0, 0x24, 0xff, 0, 0, 2]);
    put(&mut b, 0x2C, &0u32.to_le_bytes());
    seal(&mut b);
    let nv = Nvram24::parse(&b).unwrap();
    assert_eq!(
        nv.names(),
        (Wwpn(0x2f01_0024_ff00_0002), Wwpn(0x2001_0024_ff00_0002))
    );
}

#[test]
fn target_options_follow_stage1() {
    let nv = Nvram24::parse(&hand_image()).unwrap();
    let [o1, o2, o3] = nv.target_firmware_options(NvramFamily::Isp24xx);
    // fo1 0x6006: bit 13 cleared, 4 and 5 set, 14/2/1 kept.
    assert_eq!(o1, 0x4036);
    assert_eq!(o1 & fo1::ENABLE_TARGET_MODE, fo1::ENABLE_TARGET_MODE);
    // fo2 0x04001020: bits 26 and 12 cleared, PRLI control (14) set, connection 2 kept on 24xx.
    assert_eq!(o2, 0x0000_4020);
    assert_eq!(o3, 0x4000);
    let [_, o2, _] = nv.target_firmware_options(NvramFamily::Isp25xx);
    // 25xx: point-to-point.
    assert_eq!(o2, 0x0000_4010);
    assert_eq!(o2 & fo2::TARGET_PRLI_CONTROL, fo2::TARGET_PRLI_CONTROL);
}

#[test]
fn icb_gets_names_sizes_and_options() {
    let nv = Nvram24::parse(&hand_image()).unwrap();
    let mut icb = InitCb24 {
        request_q_length: 2048,
        request_q_address: 0x1000,
        msix: 1,
        ..InitCb24::default()
    };
    nv.apply_to_icb(NvramFamily::Isp25xx, &mut icb);
    let bytes = icb.encode();
    let back = InitCb24::decode(&bytes);
    assert_eq!(back.version, 1);
    assert_eq!(back.frame_payload_size, 2112);
    assert_eq!(back.execution_throttle, 0xFFFF);
    assert_eq!(back.exchange_count, 0xFFFF);
    assert_eq!(back.hard_address, 0x7C);
    assert_eq!(&bytes[0x0C..0x14], &[0x21, 0, 0, 0x24, 0xff, 0x5a, 0, 1]);
    assert_eq!(&bytes[0x14..0x1C], &[0x20, 0, 0, 0x24, 0xff, 0x5a, 0, 1]);
    assert_eq!(back.login_timeout, 7);
    assert_eq!(
        [
            back.firmware_options_1,
            back.firmware_options_2,
            back.firmware_options_3
        ],
        [0x4036, 0x4010, 0x4000]
    );
    assert!(back.target_mode());
    // Ring fields untouched.
    assert_eq!(
        (back.request_q_length, back.request_q_address, back.msix),
        (2048, 0x1000, 1)
    );
    // Out-of-range frame sizes fall back to 2048.
    for (f, want) in [
        (0u16, 2048u16),
        (255, 2048),
        (2113, 2048),
        (1026, 2048),
        (1024, 1024),
    ] {
        let mut b = hand_image();
        put(&mut b, 0x0C, &f.to_le_bytes());
        seal(&mut b);
        assert_eq!(
            Nvram24::parse(&b).unwrap().icb_frame_payload_size(),
            want,
            "{f}"
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        match Nvram24::parse(&bytes) {
            Ok(nv) => {
                prop_assert!(bytes.len() >= 512);
                prop_assert_eq!(&bytes[0..4], b"ISP ");
                prop_assert!(valid_wwn(nv.names().0) && valid_wwn(nv.names().1));
            }
            Err(NvramError::TooShort { len }) => prop_assert!(len < 512),
            Err(_) => prop_assert!(bytes.len() >= 512),
        }
    }

    #[test]
    fn sealed_arbitrary_images_pass_the_checksum(mut body in proptest::array::uniform32(any::<u8>()),
                                                port: u64, node: u64, version: u16) {
        // Arbitrary contents at the checksummed positions: the checksum never refuses a
        // sealed image, and the outcome is decided by the version and names alone.
        let mut b = Nvram24::image(Wwpn(port), Wwpn(node));
        body[0] ^= 1;
        put(&mut b, 0x40, &body);
        put(&mut b, 0x04, &version.to_le_bytes());
        seal(&mut b);
        let r = Nvram24::parse(&b);
        if version == 0 {
            prop_assert_eq!(r, Err(NvramError::BadVersion { version: 0 }));
        } else if !valid_wwn(Wwpn(port)) {
            prop_assert_eq!(r, Err(NvramError::InvalidPortName(Wwpn(port))));
        } else if !valid_wwn(Wwpn(node)) {
            prop_assert_eq!(r, Err(NvramError::InvalidNodeName(Wwpn(node))));
        } else {
            prop_assert_eq!(r.map(|n| n.names()), Ok((Wwpn(port), Wwpn(node))));
        }
    }

    #[test]
    fn any_single_byte_corruption_is_refused(at in 0usize..512, flip in 1u8..=255) {
        let mut b = Nvram24::image(PORT, NODE);
        b[at] ^= flip;
        prop_assert!(Nvram24::parse(&b).is_err());
    }
}

mod through_the_model {
    //! The driver's side of the flash register protocol against the firmware model.
    use super::*;
    use qla2x00t_proto::fwmodel::{FwConfig, FwModel, HostMemory};
    use qla2x00t_proto::regs::{ctrl_status, HccrCmd, Reg};
    use scst_core::types::PortId;

    type Model = FwModel<2, 2, 1>;

    struct NoMem;
    impl HostMemory for NoMem {
        fn read(&self, _: u64, _: &mut [u8]) -> bool {
            false
        }
        fn write(&mut self, _: u64, _: &[u8]) -> bool {
            false
        }
    }
    struct NoWire;
    impl qla2x00t_proto::fwmodel::Wire for NoWire {
        fn data_in(&mut self, _: &qla2x00t_proto::fwmodel::ExchangeInfo, _: u32, _: &[u8]) {}
        fn data_out(&mut self, _: &qla2x00t_proto::fwmodel::ExchangeInfo, _: u32, _: &mut [u8]) {}
        fn fcp_rsp(
            &mut self,
            _: &qla2x00t_proto::fwmodel::ExchangeInfo,
            _: &qla2x00t_proto::fwmodel::FcpRsp,
        ) {
        }
        fn els_reply(&mut self, _: u8, _: PortId, _: u8, _: bool) {}
        fn abts_reply(&mut self, _: PortId, _: u16, _: bool) {}
    }

    fn model() -> Box<Model> {
        Box::new(Model::new(FwConfig {
            base_port_id: PortId::new(0x0a0100),
            fw_version: [9, 0, 0],
            max_handle: 0x7ff,
            defer_doorbells: false,
        }))
    }

    fn write(m: &mut Model, r: Reg, v: u32) {
        m.write_reg(&mut NoMem, &mut NoWire, r.offset(), v);
    }

    /// One read cycle as the driver runs it: address with the flag clear, poll the flag
    /// (bounded), then the data register.
    fn read_dword(m: &mut Model, addr: u32) -> Option<u32> {
        write(m, Reg::FlashAddr, addr & !farx::DATA_FLAG);
        (0..10)
            .any(|_| m.read_reg(Reg::FlashAddr.offset()) & farx::DATA_FLAG != 0)
            .then(|| m.read_reg(Reg::FlashData.offset()))
    }

    fn read(m: &mut Model, family: NvramFamily, function: u8) -> Result<Nvram24, String> {
        let loc = nvram_location(family, function).map_err(|e| format!("{e:?}"))?;
        let mut img = [0u8; 512];
        read_image(&loc, &mut img, |a| read_dword(m, a)).map_err(|i| format!("dword {i}"))?;
        Nvram24::parse(&img).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn each_function_reads_its_own_image() {
        for (family, function) in [
            (NvramFamily::Isp24xx, 0),
            (NvramFamily::Isp24xx, 1),
            (NvramFamily::Isp25xx, 0),
            (NvramFamily::Isp25xx, 1),
        ] {
            let mut m = model();
            let img = hand_image();
            m.set_nvram(nvram_location(family, function).unwrap(), &img);
            let nv = read(&mut m, family, function).unwrap();
            assert_eq!(nv.names(), (PORT, NODE), "{family:?} {function}");
            assert_eq!(m.flash_reads(), 128);
            // The other function's address reads erased flash: refused, not made up.
            assert_eq!(
                read(&mut m, family, 1 - function),
                Err("BadId([255, 255, 255, 255])".to_string())
            );
            // Another family's window is not this image either.
            let other = if family == NvramFamily::Isp24xx {
                NvramFamily::Isp25xx
            } else {
                NvramFamily::Isp24xx
            };
            assert!(read(&mut m, other, function).is_err());
        }
    }

    #[test]
    fn nvram_survives_resets_and_reads_in_any_risc_state() {
        let mut m = model();
        let loc = nvram_location(NvramFamily::Isp25xx, 0).unwrap();
        m.set_nvram(loc, &Nvram24::image(PORT, NODE));
        write(&mut m, Reg::CtrlStatus, ctrl_status::ISP_SOFT_RESET);
        write(&mut m, Reg::Hccr, HccrCmd::SetRiscReset as u32);
        assert_eq!(
            read(&mut m, NvramFamily::Isp25xx, 0).map(|n| n.names()),
            Ok((PORT, NODE))
        );
        write(&mut m, Reg::Hccr, HccrCmd::ClrRiscReset as u32);
        assert_eq!(
            read(&mut m, NvramFamily::Isp25xx, 0).map(|n| n.names()),
            Ok((PORT, NODE))
        );
        // Dword 0 is "ISP " little-endian; FLASH_ADDR shows the address with the flag.
        assert_eq!(
            read_dword(&mut m, loc.first),
            Some(u32::from_le_bytes(*b"ISP "))
        );
        assert_eq!(
            m.read_reg(Reg::FlashAddr.offset()),
            loc.first | farx::DATA_FLAG
        );
    }

    #[test]
    fn no_image_stuck_flash_and_corruption_are_refused() {
        let mut m = model();
        assert_eq!(
            read(&mut m, NvramFamily::Isp24xx, 0),
            Err("BadId([255, 255, 255, 255])".to_string())
        );
        let loc = nvram_location(NvramFamily::Isp24xx, 0).unwrap();
        let mut img = Nvram24::image(PORT, NODE);
        img[0x30] ^= 0x80;
        m.set_nvram(loc, &img);
        assert!(read(&mut m, NvramFamily::Isp24xx, 0)
            .unwrap_err()
            .starts_with("BadChecksum"));
        m.set_flash_stuck(true);
        assert_eq!(
            read(&mut m, NvramFamily::Isp24xx, 0),
            Err("dword 0".to_string())
        );
        m.set_flash_stuck(false);
        m.set_nvram(loc, &Nvram24::image(PORT, NODE));
        assert!(read(&mut m, NvramFamily::Isp24xx, 0).is_ok());
    }
}

#[test]
fn families_by_device_id() {
    let t = [
        (0x2422, Some(NvramFamily::Isp24xx)),
        (0x2432, Some(NvramFamily::Isp24xx)),
        (0x2532, Some(NvramFamily::Isp25xx)),
        (0x8001, Some(NvramFamily::Isp81xx)),
        (0x2031, Some(NvramFamily::Isp83xx)),
        (0x2071, Some(NvramFamily::Isp27xx)),
        (0x2289, Some(NvramFamily::Isp28xx)),
        (0x2312, None),
    ];
    for (id, f) in t {
        assert_eq!(NvramFamily::from_device_id(id), f, "{id:#x}");
    }
}
