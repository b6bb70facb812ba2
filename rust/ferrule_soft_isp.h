/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The soft-ISP boundary between ferrule.ko (the qla2x00t driver) and a module that plays an
 * ISP24xx-class HBA in software (ferrule_isp_sim.ko). Hardware-shaped on purpose
 * (ARCHITECTURE.md §3): the driver sees registers, an interrupt line and a DMA device, exactly
 * what a PCI function gives it, and runs the same bring-up and interrupt code on it.
 *
 * Register space: the 24xx register window (offsets as in qla2x00t_proto::regs::Reg, 0x00..0xFF),
 * 32-bit registers through read32/write32, the 16-bit mailboxes (0x80 + 2n) through
 * read16/write16. Queue in/out pointers are always at their 24xx-window offsets, whatever
 * device_id says (the soft ISP has no MQ page).
 *
 * Contract:
 *  - The provider fills every field but driver_priv, then calls ferrule_soft_isp_add() from
 *    process context. The struct, its ops, ctx, dev and irq must stay valid until
 *    ferrule_soft_isp_remove() for the same struct has returned.
 *  - ops are called from any context, hard-IRQ included, possibly concurrently on several CPUs:
 *    they must not sleep and must serialise themselves (the simulator uses a spinlock, irqsave).
 *  - dev: a device bound to the provider's driver for the whole registration, with a DMA mask
 *    set; the driver allocates rings and buffers against it.
 *  - irq: a Linux IRQ number the driver request_threaded_irq()s (not shared) during add and
 *    frees during remove. The provider raises it like an MSI vector (edge) whenever the
 *    register file has an interrupt pending and enabled (host_status RISC_INT + ICTRL enable).
 *  - ferrule_soft_isp_add() brings the HBA up (RISC reset, firmware load via request_firmware
 *    against dev, the names, INITIALIZE FIRMWARE, GET ADAPTER ID). Returns 0 or a negative
 *    errno; on error nothing of the driver's remains and driver_priv is NULL.
 *  - Names: with has_nvram the driver reads them from the NVRAM behind the flash registers
 *    (FLASH_ADDR/FLASH_DATA, 0x00/0x04) exactly as on a PCI function, for PCI function
 *    `function`; an NVRAM it reads and refuses fails the add (-EINVAL, -ETIMEDOUT). port_name/
 *    node_name are used only without has_nvram, or for a device_id whose NVRAM the driver
 *    cannot locate (families that need the Flash Layout Table).
 *    -EEXIST if this struct is already added.
 *  - ferrule_soft_isp_remove() (process context, may sleep) quiesces the HBA (interrupts off,
 *    RISC reset: no DMA after it returns), frees the IRQ and everything the driver allocated.
 *    Removing a struct that is not added is a no-op. The provider frees its struct after it.
 *  - ferrule.ko cannot be unloaded while a provider module that links these symbols is
 *    loaded; if it still holds soft ISPs at unload (a provider that never removed), it
 *    removes them itself.
 */
#ifndef FERRULE_SOFT_ISP_H
#define FERRULE_SOFT_ISP_H

#include <linux/types.h>

struct device;

struct ferrule_soft_isp_ops {
	u32 (*read32)(void *ctx, u32 off);
	void (*write32)(void *ctx, u32 off, u32 v);
	u16 (*read16)(void *ctx, u32 off);
	void (*write16)(void *ctx, u32 off, u16 v);
};

struct ferrule_soft_isp {
	const struct ferrule_soft_isp_ops *ops;
	void *ctx;                /* passed back to every op */
	struct device *dev;       /* bound device for DMA */
	unsigned int irq;         /* the HBA's one interrupt line */
	u16 device_id;            /* PCI device ID it impersonates (e.g. 0x2532) */
	u64 port_name;            /* what NVRAM would hold */
	u64 node_name;
	bool has_nvram;           /* flash registers hold an NVRAM image (see above) */
	u8 function;              /* PCI function it impersonates: which NVRAM copy (0 or 1) */
	void *driver_priv;        /* ferrule.ko's; NULL while not added */
};

int ferrule_soft_isp_add(struct ferrule_soft_isp *isp);
void ferrule_soft_isp_remove(struct ferrule_soft_isp *isp);

#endif
