// SPDX-License-Identifier: GPL-2.0
/*
 * ferrule_isp_sim.ko: software ISP24xx-class HBAs for ferrule.ko's qla2x00t driver, through
 * the soft-ISP boundary (rust/ferrule_soft_isp.h). No hardware, no QLogic firmware: the
 * "firmware" is the deterministic model of qla2x00t_proto (ferrule_isp_sim_rs.rs).
 *
 * Per HBA (module parameter hbas=N, default 1):
 *  - a platform device "ferrule_isp_sim.<n>" bound to this module's platform driver (64-bit
 *    DMA mask): the device the driver allocates rings against;
 *  - an irq_sim domain with one line: the HBA's interrupt, raised whenever a register write
 *    leaves an interrupt pending and enabled in the model;
 *  - the register file: the model behind a spinlock (irqsave: the driver's IRQ handler
 *    reads and writes registers);
 *  - a work item running the model's deferred doorbell work (request ring processing);
 *  - debugfs: /sys/kernel/debug/ferrule_isp_sim/hba<n>/fabric (write: link up|link down|
 *    plogi <vp> <s_id> <wwpn>|prli <vp> <s_id>|logo <vp> <s_id>) and .../state (read).
 *
 * Load: platform driver, then the devices; each probe registers its HBA with
 * ferrule_soft_isp_add() (which brings it up: the firmware image must be loadable). Unload:
 * the devices (remove: debugfs off, ferrule_soft_isp_remove(), work cancelled, line and
 * model freed), then the driver.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/dma-mapping.h>
#include <linux/dma-direct.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/irq_sim.h>
#include <linux/interrupt.h>
#include <linux/debugfs.h>
#include <linux/workqueue.h>
#include <linux/spinlock.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/memory_hotplug.h>
#include <linux/uaccess.h>
#include "../../../rust/ferrule_soft_isp.h"
#include "sim.h"

#define DRV_NAME "ferrule_isp_sim"
#define SIM_MAX_HBAS 8
#define SIM_CMD_MAX 128
#define SIM_STATE_MAX 1024

/* ferrule_isp_sim_rs.rs */
void *ferrule_sim_rs_new(u32 index, void *dev, bool link, u32 hang_mailbox);
void ferrule_sim_rs_free(void *s);
u32 ferrule_sim_rs_read32(void *s, u32 off);
u32 ferrule_sim_rs_write32(void *s, u32 off, u32 v);
u16 ferrule_sim_rs_read16(void *s, u32 off);
u32 ferrule_sim_rs_write16(void *s, u32 off, u16 v);
u32 ferrule_sim_rs_run_deferred(void *s);
u32 ferrule_sim_rs_flags(void *s);
int ferrule_sim_rs_fabric(void *s, const u8 *buf, size_t len, u32 *flags);
size_t ferrule_sim_rs_state(void *s, u8 *buf, size_t cap);
u32 ferrule_sim_rs_port_id(void *s);
int ferrule_sim_rs_set_nvram(void *s, u16 device_id, u8 function, u64 port, u64 node,
			     u32 corrupt);
/* called by the Rust half */
bool ferrule_sim_c_dma_access(void *devp, u64 addr, u8 *buf, size_t len, bool write);

static unsigned int hbas = 1;
module_param(hbas, uint, 0444);
MODULE_PARM_DESC(hbas, "number of simulated HBAs (1..8)");
static ushort device_id = 0x2532;
module_param(device_id, ushort, 0444);
MODULE_PARM_DESC(device_id, "PCI device ID the HBAs impersonate (default 0x2532, ISP2532)");
static unsigned long long wwpn_base = 0x21000024ff5a0000ULL;
module_param(wwpn_base, ullong, 0444);
MODULE_PARM_DESC(wwpn_base, "WWPN of HBA 0; HBA n gets wwpn_base + n");
static bool link = true;
module_param(link, bool, 0444);
MODULE_PARM_DESC(link, "cable plugged at load (link up once the firmware runs)");
static unsigned int hang_mailbox;
module_param(hang_mailbox, uint, 0444);
MODULE_PARM_DESC(hang_mailbox, "fault injection: never answer mailbox command number N of each HBA (1-based; 0: off)");
static bool nvram = true;
module_param(nvram, bool, 0444);
MODULE_PARM_DESC(nvram, "HBAs have flash with an NVRAM image holding their names (default 1); 0: the driver takes the names from the soft-ISP struct");
static char *nvram_corrupt = "";
module_param(nvram_corrupt, charp, 0444);
MODULE_PARM_DESC(nvram_corrupt, "fault injection: every HBA's NVRAM is spoilt: checksum|id|version|wwpn (zero port name), or stuck (flash reads never complete)");
/* Indexes are the ferrule_sim_rs_set_nvram knobs (0: intact). */
static const char * const nvram_faults[] = { "", "checksum", "id", "version", "wwpn", "stuck" };
static int nvram_fault;

struct sim_hba {
	unsigned int index;
	struct platform_device *pdev;
	spinlock_t lock;		/* the register file (model) */
	void *model;
	bool dead;			/* no more work queued (teardown) */
	struct work_struct work;
	struct fwnode_handle *fwnode;
	struct irq_domain *domain;
	unsigned int irq;
	atomic_t irqs_raised;
	atomic_t irqs_redelivered;
	struct timer_list irq_timer;	/* level-line emulation, see sim_irq_recheck() */
	struct dentry *dir;
	struct ferrule_soft_isp isp;
	bool added;
};

static struct dentry *debug_root;
static struct platform_device *sim_pdevs[SIM_MAX_HBAS];
static int probe_err[SIM_MAX_HBAS];
/* HBAs up and registered with the driver: what the initiator HBAs (sim_ini.c) talk to.
 * Set at the end of probe, cleared first in remove; sim_ini.c's ports are all gone
 * before any HBA is removed (module exit order). */
static struct sim_hba *sim_hbas[SIM_MAX_HBAS];

/*
 * DMA access for the model: `addr` is a DMA address of `dev`; translated to a physical
 * address (x86 without IOMMU: the identity) and copied page by page through the direct map.
 * Every page must be online RAM with a struct page (pfn_to_online_page: pfn_valid plus the
 * memory section online), not reserved (firmware/e820 holes, the kernel image) and not
 * highmem, before anything is copied; otherwise nothing is touched and false is returned (the
 * model counts a DMA error). Lockless: this runs under the HBA's IRQ-safe spinlock
 * (page_is_ram() would take resource_lock, which is not IRQ-safe: lockdep inversion).
 */
bool ferrule_sim_c_dma_access(void *devp, u64 addr, u8 *buf, size_t len, bool write)
{
	struct device *dev = devp;
	u64 a, end;

	if (!len)
		return true;
	if (check_add_overflow(addr, (u64)len, &end))
		return false;
	for (a = addr; a < end; a = (a & PAGE_MASK) + PAGE_SIZE) {
		phys_addr_t phys = dma_to_phys(dev, a);
		unsigned long pfn = PHYS_PFN(phys);

		struct page *page = pfn_to_online_page(pfn);

		if (!page || PageReserved(page) || PageHighMem(page))
			return false;
		if ((a & PAGE_MASK) + PAGE_SIZE < a)	/* last page of the address space */
			break;
	}
	for (a = addr; a < end;) {
		phys_addr_t phys = dma_to_phys(dev, a);
		size_t off = offset_in_page(phys);
		size_t n = min_t(u64, end - a, PAGE_SIZE - off);
		u8 *va = (u8 *)page_address(pfn_to_page(PHYS_PFN(phys))) + off;

		if (write)
			memcpy(va, buf, n);
		else
			memcpy(buf, va, n);
		buf += n;
		a += n;
	}
	return true;
}

/*
 * The ISP's interrupt is a level: it stays asserted until the driver clears RISC_INT. An
 * irq_sim line delivers edges through handle_simple_irq(), which drops an edge raised while
 * the handler runs on another CPU (IRQD_IRQ_INPROGRESS): the model then sits asserted with
 * an ATIO in the ring and nobody called, until the initiator's SCSI timeout aborts the
 * command (seen as 30 s stalls). So while the model is asserted the line is raised again
 * every tick; a real INTx line re-triggers the same way, and MSI has no such window.
 */
static void sim_irq_recheck(struct timer_list *t)
{
	struct sim_hba *h = timer_container_of(h, t, irq_timer);
	unsigned long f;
	bool raise;

	spin_lock_irqsave(&h->lock, f);
	raise = !h->dead && (ferrule_sim_rs_flags(h->model) & SIM_IRQ);
	spin_unlock_irqrestore(&h->lock, f);
	if (!raise)
		return;
	atomic_inc(&h->irqs_redelivered);
	irq_set_irqchip_state(h->irq, IRQCHIP_STATE_PENDING, true);
	mod_timer(&h->irq_timer, jiffies + 1);
}

/* After a state change: raise the line / queue deferred work as the model asks. */
static void sim_kick(struct sim_hba *h, u32 flags)
{
	unsigned long f;
	bool queue;

	if (flags & SIM_IRQ) {
		atomic_inc(&h->irqs_raised);
		/*
		 * Not from hard-IRQ context (the handler's acknowledge found the next event
		 * pending): irq_sim's loop would call the handler again and again and, under
		 * steady I/O, never leave hard-IRQ context (RCU stalls were seen). The recheck
		 * timer delivers it a tick later; the thread drains whole rings meanwhile.
		 */
		if (!in_hardirq())
			irq_set_irqchip_state(h->irq, IRQCHIP_STATE_PENDING, true);
		if (!timer_pending(&h->irq_timer))
			mod_timer(&h->irq_timer, jiffies + 1);
	}
	if (flags & SIM_WORK) {
		spin_lock_irqsave(&h->lock, f);
		queue = !h->dead;
		spin_unlock_irqrestore(&h->lock, f);
		if (queue)
			schedule_work(&h->work);
	}
	sim_ini_flush();
}

int sim_tgt_call(unsigned int hba, sim_tgt_fn fn, void *arg)
{
	struct sim_hba *h = hba < SIM_MAX_HBAS ? READ_ONCE(sim_hbas[hba]) : NULL;
	unsigned long f;
	u32 flags = 0;
	int ret;

	if (!h)
		return -ENODEV;
	spin_lock_irqsave(&h->lock, f);
	ret = fn(h->model, arg, &flags);
	spin_unlock_irqrestore(&h->lock, f);
	sim_kick(h, flags);
	return ret;
}

int sim_tgt_link(unsigned int hba, bool up)
{
	struct sim_hba *h = hba < SIM_MAX_HBAS ? READ_ONCE(sim_hbas[hba]) : NULL;
	const char *cmd = up ? "link up" : "link down";
	unsigned long f;
	u32 flags = 0, port_id;
	int ret;

	if (!h)
		return -ENODEV;
	if (!up)	/* off the switch first: no initiator reaches a port going down */
		sim_ini_target_down(hba);
	spin_lock_irqsave(&h->lock, f);
	ret = ferrule_sim_rs_fabric(h->model, (const u8 *)cmd, strlen(cmd), &flags);
	port_id = ferrule_sim_rs_port_id(h->model);
	spin_unlock_irqrestore(&h->lock, f);
	sim_kick(h, flags);
	if (up && !ret)
		ret = sim_ini_target_up(hba, h->isp.port_name, h->isp.node_name, port_id);
	return ret;
}

static u32 sim_read32(void *ctx, u32 off)
{
	struct sim_hba *h = ctx;
	unsigned long f;
	u32 v;

	spin_lock_irqsave(&h->lock, f);
	v = ferrule_sim_rs_read32(h->model, off);
	spin_unlock_irqrestore(&h->lock, f);
	return v;
}

static void sim_write32(void *ctx, u32 off, u32 v)
{
	struct sim_hba *h = ctx;
	unsigned long f;
	u32 flags;

	spin_lock_irqsave(&h->lock, f);
	flags = ferrule_sim_rs_write32(h->model, off, v);
	spin_unlock_irqrestore(&h->lock, f);
	sim_kick(h, flags);
}

static u16 sim_read16(void *ctx, u32 off)
{
	struct sim_hba *h = ctx;
	unsigned long f;
	u16 v;

	spin_lock_irqsave(&h->lock, f);
	v = ferrule_sim_rs_read16(h->model, off);
	spin_unlock_irqrestore(&h->lock, f);
	return v;
}

static void sim_write16(void *ctx, u32 off, u16 v)
{
	struct sim_hba *h = ctx;
	unsigned long f;
	u32 flags;

	spin_lock_irqsave(&h->lock, f);
	flags = ferrule_sim_rs_write16(h->model, off, v);
	spin_unlock_irqrestore(&h->lock, f);
	sim_kick(h, flags);
}

static const struct ferrule_soft_isp_ops sim_ops = {
	.read32 = sim_read32,
	.write32 = sim_write32,
	.read16 = sim_read16,
	.write16 = sim_write16,
};

static void sim_work(struct work_struct *w)
{
	struct sim_hba *h = container_of(w, struct sim_hba, work);
	unsigned long f;
	u32 flags;

	spin_lock_irqsave(&h->lock, f);
	flags = ferrule_sim_rs_run_deferred(h->model);
	spin_unlock_irqrestore(&h->lock, f);
	sim_kick(h, flags);
}

static ssize_t fabric_write(struct file *file, const char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	struct sim_hba *h = file->private_data;
	char buf[SIM_CMD_MAX];
	unsigned long f;
	u32 flags = 0;
	int ret;

	if (count == 0 || count >= SIM_CMD_MAX) {
		pr_err(DRV_NAME ": hba%u: fabric: command of %zu bytes (1..%d)\n", h->index,
		       count, SIM_CMD_MAX - 1);
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	spin_lock_irqsave(&h->lock, f);
	ret = ferrule_sim_rs_fabric(h->model, buf, count, &flags);
	spin_unlock_irqrestore(&h->lock, f);
	sim_kick(h, flags);
	return ret ? ret : count;
}

static const struct file_operations fabric_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = fabric_write,
};

static ssize_t state_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct sim_hba *h = file->private_data;
	unsigned long f;
	size_t len, extra;
	ssize_t ret;
	u8 *buf;

	buf = kzalloc(SIM_STATE_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	spin_lock_irqsave(&h->lock, f);
	len = ferrule_sim_rs_state(h->model, buf, SIM_STATE_MAX);
	spin_unlock_irqrestore(&h->lock, f);
	extra = scnprintf(buf + len, SIM_STATE_MAX - len,
			  "irqs_raised: %d\nirqs_redelivered: %d\nirq: %u\n",
			  atomic_read(&h->irqs_raised), atomic_read(&h->irqs_redelivered), h->irq);
	ret = simple_read_from_buffer(ubuf, count, ppos, buf, len + extra);
	kfree(buf);
	return ret;
}

static const struct file_operations state_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = state_read,
	.llseek = default_llseek,
};

static void sim_hba_free(struct sim_hba *h)
{
	unsigned long f;

	if (sim_hbas[h->index] == h) {
		WRITE_ONCE(sim_hbas[h->index], NULL);
		sim_ini_target_down(h->index);
	}
	debugfs_remove_recursive(h->dir);	/* waits for running fabric/state calls */
	h->dir = NULL;
	if (h->added)
		ferrule_soft_isp_remove(&h->isp);	/* driver quiesced, irq freed */
	h->added = false;
	spin_lock_irqsave(&h->lock, f);
	h->dead = true;
	spin_unlock_irqrestore(&h->lock, f);
	cancel_work_sync(&h->work);
	timer_delete_sync(&h->irq_timer);	/* dead: it does not re-arm */
	if (h->irq)
		irq_dispose_mapping(h->irq);
	if (h->domain)
		irq_domain_remove_sim(h->domain);
	if (h->fwnode)
		irq_domain_free_fwnode(h->fwnode);
	ferrule_sim_rs_free(h->model);
	kfree(h);
}

static int sim_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	unsigned int idx = pdev->id;
	struct sim_hba *h;
	char name[16];
	int ret;

	if (idx >= SIM_MAX_HBAS)
		return -EINVAL;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		goto out;
	ret = -ENOMEM;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		goto out;
	h->index = idx;
	h->pdev = pdev;
	spin_lock_init(&h->lock);
	INIT_WORK(&h->work, sim_work);
	timer_setup(&h->irq_timer, sim_irq_recheck, 0);
	h->model = ferrule_sim_rs_new(idx, dev, link, hang_mailbox);
	if (!h->model)
		goto fail;

	h->fwnode = irq_domain_alloc_named_id_fwnode(DRV_NAME, idx);
	if (!h->fwnode)
		goto fail;
	h->domain = irq_domain_create_sim(h->fwnode, 1);
	if (IS_ERR(h->domain)) {
		ret = PTR_ERR(h->domain);
		h->domain = NULL;
		goto fail;
	}
	ret = -ENXIO;
	h->irq = irq_create_mapping(h->domain, 0);
	if (!h->irq)
		goto fail;

	snprintf(name, sizeof(name), "hba%u", idx);
	h->dir = debugfs_create_dir(name, debug_root);
	debugfs_create_file("fabric", 0200, h->dir, h, &fabric_fops);
	debugfs_create_file("state", 0444, h->dir, h, &state_fops);

	h->isp = (struct ferrule_soft_isp) {
		.ops = &sim_ops,
		.ctx = h,
		.dev = dev,
		.irq = h->irq,
		.device_id = device_id,
		.port_name = wwpn_base + idx,
		.node_name = ((wwpn_base + idx) & 0x0000ffffffffffffULL) | 0x2000000000000000ULL,
		/* HBA n plays PCI function n % 2 of a dual-port card: both NVRAM copies. */
		.function = idx & 1,
	};
	if (nvram) {
		ret = ferrule_sim_rs_set_nvram(h->model, device_id, h->isp.function,
					       h->isp.port_name, h->isp.node_name, nvram_fault);
		if (ret && ret != -EOPNOTSUPP)
			goto fail;
		/*
		 * -EOPNOTSUPP: NVRAM of this family sits where only the Flash Layout Table says,
		 * which the driver does not read: no image, and it falls back to the names above.
		 */
		h->isp.has_nvram = true;
		if (!ret && nvram_fault)
			dev_info(dev, "hba%u: fault injection: NVRAM %s\n", idx,
				 nvram_faults[nvram_fault]);
	}
	dev_info(dev, "hba%u: ISP%04x WWPN %016llx irq %u\n", idx, device_id,
		 h->isp.port_name, h->irq);
	ret = ferrule_soft_isp_add(&h->isp);
	if (ret) {
		dev_err(dev, "hba%u: ferrule_soft_isp_add failed: %d\n", idx, ret);
		goto fail;
	}
	h->added = true;
	platform_set_drvdata(pdev, h);
	ret = sim_ini_target_up(idx, h->isp.port_name, h->isp.node_name,
				ferrule_sim_rs_port_id(h->model));
	if (ret)
		dev_warn(dev, "hba%u: not on the simulated switch: %d\n", idx, ret);
	else
		WRITE_ONCE(sim_hbas[idx], h);
	probe_err[idx] = 0;
	return 0;
fail:
	sim_hba_free(h);
out:
	probe_err[idx] = ret;
	return ret;
}

static void sim_remove(struct platform_device *pdev)
{
	struct sim_hba *h = platform_get_drvdata(pdev);

	if (h)
		sim_hba_free(h);
	platform_set_drvdata(pdev, NULL);
}

static struct platform_driver sim_driver = {
	.driver = { .name = DRV_NAME },
	.probe = sim_probe,
	.remove = sim_remove,
};

static void sim_unregister_devices(void)
{
	int i;

	for (i = SIM_MAX_HBAS - 1; i >= 0; i--) {
		if (sim_pdevs[i])
			platform_device_unregister(sim_pdevs[i]);
		sim_pdevs[i] = NULL;
	}
}

static int __init sim_init(void)
{
	unsigned int i;
	int ret;

	if (hbas < 1 || hbas > SIM_MAX_HBAS) {
		pr_err(DRV_NAME ": hbas=%u out of range 1..%d\n", hbas, SIM_MAX_HBAS);
		return -EINVAL;
	}
	nvram_fault = match_string(nvram_faults, ARRAY_SIZE(nvram_faults), nvram_corrupt);
	if (nvram_fault < 0) {
		pr_err(DRV_NAME ": nvram_corrupt='%s' (expected checksum|id|version|wwpn|stuck)\n",
		       nvram_corrupt);
		return -EINVAL;
	}
	ret = sim_fabric_init();
	if (ret)
		return ret;
	debug_root = debugfs_create_dir(DRV_NAME, NULL);
	ret = platform_driver_register(&sim_driver);
	if (ret)
		goto out_debugfs;
	for (i = 0; i < hbas; i++) {
		struct platform_device *pdev;

		probe_err[i] = -ENODEV;
		pdev = platform_device_register_simple(DRV_NAME, i, NULL, 0);
		if (IS_ERR(pdev)) {
			ret = PTR_ERR(pdev);
			goto out_devices;
		}
		sim_pdevs[i] = pdev;
		/* Probe ran synchronously; a failed bring-up fails the load. */
		if (probe_err[i]) {
			ret = probe_err[i];
			goto out_devices;
		}
	}
	pr_info(DRV_NAME ": %u simulated HBA(s) up\n", hbas);
	ret = sim_ini_init();
	if (ret)
		goto out_devices;
	sim_ini_debugfs(debug_root);
	return 0;
out_devices:
	sim_unregister_devices();
	platform_driver_unregister(&sim_driver);
out_debugfs:
	debugfs_remove_recursive(debug_root);
	sim_fabric_exit();
	return ret;
}

static void __exit sim_exit(void)
{
	sim_ini_exit();
	sim_unregister_devices();
	platform_driver_unregister(&sim_driver);
	debugfs_remove_recursive(debug_root);
	sim_fabric_exit();
	pr_info(DRV_NAME ": unloaded\n");
}

module_init(sim_init);
module_exit(sim_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Ferrule: simulated ISP24xx-class FC HBAs for the qla2x00t driver");
MODULE_AUTHOR("Ferrule developers");
