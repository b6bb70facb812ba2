// SPDX-License-Identifier: GPL-2.0
/*
 * ferrule_isp_sim.ko: simulated FC initiator HBAs on the simulated fabric.
 *
 * Module parameter initiators=N (default 2): N physical initiator ports, each a Scsi_Host
 * with the FC transport class (fc_host, rports, NPIV vports through
 * /sys/class/fc_host/hostN/vport_create and vport_delete). A vport is its own Scsi_Host
 * under its fc_vport, with its own WWPN and an N_Port ID from the switch (FDISC).
 *
 * The fabric: one switch (fabric.rs, behind sim_ini_lock), domain 0x0a. Target HBA n
 * (sim_glue.c) is cabled to switch port n+1 and registered as an FCP target; initiator n
 * to switch port 0x20+n. Logging a port in: FLOGI/FDISC to the switch, name-server query
 * for FCP targets, PLOGI + PRLI to each through that target HBA's firmware model (the
 * target driver answers through its request ring; the model reports LS_ACC/LS_RJT through
 * its Wire), then fc_remote_port_add (FCP target) and a scan.
 *
 * Data path: queuecommand -> FCP_CMND into the target model (OX_ID = the request's tag);
 * the model calls back (under the target HBA's lock) with WRITE data to fill, READ data
 * to copy and the FCP_RSP. Each initiator port keeps an exchange table indexed by OX_ID;
 * an entry is owned by whoever removes it from the table under sim_ini_lock, so a command
 * is completed once. Completions are queued and scsi_done() runs after the HBA lock is
 * dropped (sim_ini_flush).
 *
 * Locks: a target HBA's lock (taken by sim_tgt_call) may be held when sim_ini_lock is
 * taken, never the other way round. sim_ini_lock guards the switch, the port table, the
 * exchange tables and the ELS/ABTS waits. A port's login_mutex serialises its logins.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/completion.h>
#include <linux/llist.h>
#include <linux/scatterlist.h>
#include <linux/workqueue.h>
#include <linux/debugfs.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>
#include <scsi/scsi_tcq.h>
#include <scsi/scsi_transport_fc.h>
#include "sim.h"

#define DRV_NAME "ferrule_isp_sim"
#define INI_MAX_PHYS 4
#define INI_MAX_VPORTS 8
#define INI_MAX_PORTS (INI_MAX_PHYS * (INI_MAX_VPORTS + 1))
#define INI_MAX_TGTS 8
#define INI_QD 64
#define INI_AREA_BASE 0x20
#define INI_ELS_TMO (5 * HZ)
#define ELS_PLOGI 0x03
#define ELS_LOGO 0x05
#define ELS_PRLI 0x20

static unsigned int initiators = 2;
module_param(initiators, uint, 0444);
MODULE_PARM_DESC(initiators, "number of simulated FC initiator HBAs (0..4)");
static unsigned long long ini_wwpn_base = 0x21000024ff7c0000ULL;
module_param(ini_wwpn_base, ullong, 0444);
MODULE_PARM_DESC(ini_wwpn_base, "WWPN of initiator HBA 0; initiator n gets ini_wwpn_base + n");
static bool ini_drop_logo;
module_param(ini_drop_logo, bool, 0644);
MODULE_PARM_DESC(ini_drop_logo, "fault injection: a port going offline (vport delete/disable) loses its LOGOs to the targets; only the switch sees it leave");

/* A target port as one initiator port sees it. */
struct ini_tport {
	bool logged_in;
	unsigned int hba;		/* target HBA index (sim_glue.c) */
	u32 port_id;
	u64 wwpn, wwnn;
	u16 handle;			/* the N_Port handle the target firmware gave us */
	struct fc_rport *rport;
	bool blocked;			/* relogin in progress: commands wait (host busy) */
};

/* An open exchange: OX_ID = index in the table. */
struct ini_xchg {
	struct scsi_cmnd *sc;		/* NULL: free */
	unsigned int hba;
	u32 tgt_id;
	u32 xaddr;			/* exchange address of the target firmware; 0 until known */
	bool aborting;			/* owned by an abort (error handler or injected) */
	bool lost;			/* fault injection: a Data-In frame of it was dropped */
	bool send_pending;		/* fault injection: FCP_CMND held back by `send` */
	u32 seq;			/* bumps per command: a late send finds the slot moved on */
	struct ini_port *ip;
	u16 tag;
	struct delayed_work send;
};

struct ini_port {
	struct Scsi_Host *shost;
	struct ini_port *phys;		/* NULL for a physical port */
	struct fc_vport *vport;
	struct platform_device *pdev;	/* physical ports */
	unsigned int index;		/* physical port number */
	u64 wwpn, wwnn;
	u32 port_id;			/* 0: not logged in to the fabric */
	bool online;			/* commands accepted */
	bool listed;			/* in ini_ports[] */
	struct mutex login_mutex;
	struct ini_tport tports[INI_MAX_TGTS];
	struct ini_xchg xchg[INI_QD];
	/* one ELS at a time (login_mutex), one ABTS at a time (the host's EH thread) */
	struct completion els_done;
	bool els_waiting, els_acc;
	u8 els_op;
	unsigned int els_hba;
	struct completion abts_done;
	struct mutex abts_mutex;	/* one ABTS at a time: error handler and injection */
	bool bouncing;			/* fault injection: link bounce in progress */
	unsigned long tgt_lost;		/* target HBAs whose link went down under our login */
	unsigned long login_only;	/* non-zero: log in only to these target HBAs */
	bool abts_waiting, abts_acc;
	u16 abts_oxid;
	u64 cmds, cmds_done;
};

struct ini_cmd_priv {
	struct llist_node node;
	struct scsi_cmnd *sc;
};

static DEFINE_SPINLOCK(sim_ini_lock);
static void *sim_switch;
static struct ini_port *ini_ports[INI_MAX_PORTS];
static struct ini_port *ini_phys[INI_MAX_PHYS];
static LLIST_HEAD(ini_done);
static struct scsi_transport_template *ini_fc_tt, *ini_fc_vport_tt;

/* ---- fault injection state (debugfs "faults") --------------------------------------- */

enum { DROP_CMND, DROP_DATA, DROP_RSP, DROP_NR };
static const char *const drop_names[DROP_NR] = { "cmnd", "data", "rsp" };
static atomic_t drop_every[DROP_NR];	/* 0: off */
static atomic_t drop_seen[DROP_NR];
static atomic_t delay_ms, delay_every, delay_seen;

enum {
	FLT_DROPPED_CMND, FLT_DROPPED_DATA, FLT_DROPPED_RSP, FLT_DELAYED_CMND,
	FLT_DATA_LOST_CMDS, FLT_EH_ABORTS, FLT_ABTS_INJECTED, FLT_ABTS_ACC, FLT_ABTS_RJT,
	FLT_ABTS_NO_REPLY, FLT_STORM_LOGOS, FLT_STORM_PLOGIS, FLT_STORM_FAILURES,
	FLT_RETRIED_CMDS, FLT_TGT_LINK_DOWNS, FLT_TGT_LINK_UPS, FLT_INI_BOUNCES,
	FLT_EH_TARGET_RESETS, FLT_EH_HOST_RESETS, FLT_NR
};
static const char *const flt_names[FLT_NR] = {
	"dropped_cmnd", "dropped_data", "dropped_rsp", "delayed_cmnd", "data_lost_cmds",
	"eh_aborts", "abts_injected", "abts_ba_acc", "abts_ba_rjt", "abts_no_reply",
	"storm_logos", "storm_plogis", "storm_failures", "retried_cmds", "tgt_link_downs",
	"tgt_link_ups", "ini_bounces", "eh_target_resets", "eh_host_resets",
};
static atomic_t flt_count[FLT_NR];
static struct dentry *faults_dentry;

static void flt_inc(int which)
{
	atomic_inc(&flt_count[which]);
}

/* Every Nth frame of `kind` is lost (N = drop_every[kind]). */
static bool drop_hit(int kind)
{
	unsigned int n = atomic_read(&drop_every[kind]);

	return n && (unsigned int)atomic_inc_return(&drop_seen[kind]) % n == 0;
}

/* Delay of this FCP_CMND in ms (0: send now). */
static unsigned int delay_hit(void)
{
	unsigned int ms = atomic_read(&delay_ms), n = atomic_read(&delay_every);

	if (!ms || !n)
		return 0;
	return (unsigned int)atomic_inc_return(&delay_seen) % n == 0 ? ms : 0;
}

static const char *els_name(u8 op)
{
	return op == ELS_PLOGI ? "PLOGI" : op == ELS_PRLI ? "PRLI" : op == ELS_LOGO ? "LOGO" : "ELS";
}

/* ---- the switch and target registration ------------------------------------------- */

int sim_fabric_init(void)
{
	sim_switch = ferrule_sim_rs_switch_new();
	return sim_switch ? 0 : -ENOMEM;
}

void sim_fabric_exit(void)
{
	ferrule_sim_rs_switch_free(sim_switch);
	sim_switch = NULL;
}

/* Target HBA `hba` is cabled to switch port hba+1; its firmware model's VP 0 ID must be
 * what the switch assigns there. */
int sim_ini_target_up(unsigned int hba, u64 wwpn, u64 wwnn, u32 port_id)
{
	unsigned long f;
	s32 id;

	spin_lock_irqsave(&sim_ini_lock, f);
	ferrule_sim_rs_switch_link(sim_switch, hba + 1, true);
	id = ferrule_sim_rs_switch_login(sim_switch, hba + 1, 0, wwpn, wwnn, true);
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (id < 0)
		return id;
	if ((u32)id != port_id) {
		pr_err(DRV_NAME ": hba%u: switch assigned %06x, firmware model has %06x\n", hba,
		       id, port_id);
		return -EINVAL;
	}
	return 0;
}

void sim_ini_target_down(unsigned int hba)
{
	unsigned long f;

	spin_lock_irqsave(&sim_ini_lock, f);
	ferrule_sim_rs_switch_link(sim_switch, hba + 1, false);
	spin_unlock_irqrestore(&sim_ini_lock, f);
}

/* ---- completions -------------------------------------------------------------------- */

void sim_ini_flush(void)
{
	struct llist_node *n = llist_del_all(&ini_done);
	struct ini_cmd_priv *p, *t;

	llist_for_each_entry_safe(p, t, n, node)
		scsi_done(p->sc);
}

/* Caller holds sim_ini_lock and has taken `sc` out of its exchange table. */
static void ini_queue_done(struct scsi_cmnd *sc)
{
	struct ini_cmd_priv *p = scsi_cmd_priv(sc);

	p->sc = sc;
	llist_add(&p->node, &ini_done);
}

/* Completes the commands of `ip` (to target `tgt_id`, or all when 0) with `result`;
 * commands the error handler owns are left to it. */
static void ini_fail_cmds(struct ini_port *ip, u32 tgt_id, int result)
{
	unsigned long f;
	int i;

	spin_lock_irqsave(&sim_ini_lock, f);
	for (i = 0; i < INI_QD; i++) {
		struct ini_xchg *e = &ip->xchg[i];

		if (!e->sc || e->aborting || (tgt_id && e->tgt_id != tgt_id))
			continue;
		e->sc->result = result;
		ini_queue_done(e->sc);
		e->sc = NULL;
		ip->cmds_done++;
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	sim_ini_flush();
}

/* ---- Wire callbacks (under a target HBA's lock) ------------------------------------- */

static struct ini_port *ini_by_id(u32 s_id)
{
	int i;

	if (!s_id)
		return NULL;
	for (i = 0; i < INI_MAX_PORTS; i++)
		if (ini_ports[i] && ini_ports[i]->port_id == s_id)
			return ini_ports[i];
	return NULL;
}

static struct ini_xchg *ini_xchg_find(struct ini_port **ipp, u32 hba, u32 s_id, u16 ox_id,
				      u32 xaddr)
{
	struct ini_port *ip = ini_by_id(s_id);
	struct ini_xchg *e;

	if (!ip || ox_id >= INI_QD)
		return NULL;
	e = &ip->xchg[ox_id];
	if (!e->sc || e->hba != hba || e->xaddr != xaddr)
		return NULL;
	*ipp = ip;
	return e;
}

bool ferrule_sim_c_data(u32 hba, u32 s_id, u16 ox_id, u32 xaddr, u32 rel_off, u8 *buf,
			size_t len, bool to_wire)
{
	struct ini_port *ip;
	struct ini_xchg *e;
	unsigned long f;
	size_t n = 0;

	spin_lock_irqsave(&sim_ini_lock, f);
	e = ini_xchg_find(&ip, hba, s_id, ox_id, xaddr);
	/* An aborting command's buffer stays valid until its abort completes it: frames
	 * already on the wire carry the real data, never zeros the target would write. */
	if (e) {
		struct scsi_cmnd *sc = e->sc;

		if (to_wire) {
			n = sg_pcopy_to_buffer(scsi_sglist(sc), scsi_sg_count(sc), buf, len,
					       rel_off);
		} else if (drop_hit(DROP_DATA)) {
			/* Lost Data-In frame: the initiator notices at the FCP_RSP. */
			e->lost = true;
			flt_inc(FLT_DROPPED_DATA);
		} else {
			sg_pcopy_from_buffer(scsi_sglist(sc), scsi_sg_count(sc), buf, len,
					     rel_off);
		}
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (!e)
		return false;
	if (to_wire && n < len)
		memset(buf + n, 0, len - n);
	return true;
}

bool ferrule_sim_c_fcp_rsp(u32 hba, u32 s_id, u16 ox_id, u32 xaddr, u8 status, u8 rsp_code,
			   s64 resid, const u8 *sense, size_t sense_len)
{
	struct ini_port *ip;
	struct ini_xchg *e;
	struct scsi_cmnd *sc;
	unsigned long f;

	spin_lock_irqsave(&sim_ini_lock, f);
	e = ini_xchg_find(&ip, hba, s_id, ox_id, xaddr);
	if (!e) {
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return false;
	}
	if (!e->aborting && drop_hit(DROP_RSP)) {
		/* Lost FCP_RSP: the target is done, the command times out here (ABTS). */
		flt_inc(FLT_DROPPED_RSP);
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return true;
	}
	sc = e->sc;
	e->sc = NULL;
	ip->cmds_done++;
	if (e->aborting) {
		/* The error handler owns it; the abort finds the exchange finished. */
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return true;
	}
	if (rsp_code) {
		sc->result = DID_ERROR << 16;
	} else if (e->lost) {
		/* Data-In bytes missing (qla2xxx's "dropped frame(s) detected"). Retried
		 * without using up the command's retries (DID_ERROR would), bounded by the
		 * midlayer's (retries + 1) * timeout. */
		sc->result = DID_IMM_RETRY << 16;
		flt_inc(FLT_DATA_LOST_CMDS);
	} else {
		sc->result = status;
		if (sense_len)
			memcpy(sc->sense_buffer, sense, min_t(size_t, sense_len,
							      SCSI_SENSE_BUFFERSIZE));
		if (resid > 0)
			scsi_set_resid(sc, min_t(s64, resid, scsi_bufflen(sc)));
		else if (resid < 0)
			sc->result = DID_ERROR << 16;	/* overrun */
	}
	ini_queue_done(sc);
	spin_unlock_irqrestore(&sim_ini_lock, f);
	return true;
}

bool ferrule_sim_c_els_reply(u32 hba, u8 vp, u32 s_id, u8 opcode, bool accepted)
{
	struct ini_port *ip;
	unsigned long f;

	spin_lock_irqsave(&sim_ini_lock, f);
	ip = ini_by_id(s_id);
	if (ip && ip->els_waiting && ip->els_op == opcode && ip->els_hba == hba && vp == 0) {
		ip->els_waiting = false;
		ip->els_acc = accepted;
		complete(&ip->els_done);
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	return ip != NULL;
}

bool ferrule_sim_c_abts_reply(u32 hba, u32 s_id, u16 ox_id, bool accepted)
{
	struct ini_port *ip;
	unsigned long f;

	spin_lock_irqsave(&sim_ini_lock, f);
	ip = ini_by_id(s_id);
	if (ip && ip->abts_waiting && ip->abts_oxid == ox_id) {
		ip->abts_waiting = false;
		ip->abts_acc = accepted;
		complete(&ip->abts_done);
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	return ip != NULL;
}

/* ---- ELS to a target ---------------------------------------------------------------- */

struct ini_els_arg {
	u8 op;
	u32 s_id;
	u64 wwpn, wwnn;
	u16 handle;
};

static int ini_els_fn(void *model, void *arg, u32 *flags)
{
	struct ini_els_arg *a = arg;

	switch (a->op) {
	case ELS_PLOGI:
		return ferrule_sim_rs_plogi(model, 0, a->s_id, a->wwpn, a->wwnn, &a->handle,
					    flags);
	case ELS_PRLI:
		return ferrule_sim_rs_prli(model, 0, a->s_id, flags);
	default:
		return ferrule_sim_rs_logo(model, 0, a->s_id, flags);
	}
}

/* Sends ELS `op` from `ip` to `tp` and waits for LS_ACC (0) / LS_RJT (-EACCES). */
static int ini_els(struct ini_port *ip, struct ini_tport *tp, u8 op)
{
	struct ini_els_arg a = { .op = op, .s_id = ip->port_id, .wwpn = ip->wwpn,
				 .wwnn = ip->wwnn };
	unsigned long f;
	bool waiting;
	int ret;

	spin_lock_irqsave(&sim_ini_lock, f);
	reinit_completion(&ip->els_done);
	ip->els_waiting = true;
	ip->els_op = op;
	ip->els_hba = tp->hba;
	spin_unlock_irqrestore(&sim_ini_lock, f);

	ret = sim_tgt_call(tp->hba, ini_els_fn, &a);
	if (!ret) {
		if (op == ELS_PLOGI)
			tp->handle = a.handle;
		wait_for_completion_timeout(&ip->els_done, INI_ELS_TMO);
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	waiting = ip->els_waiting;
	ip->els_waiting = false;
	if (!ret)
		ret = waiting ? -ETIMEDOUT : ip->els_acc ? 0 : -EACCES;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (ret)
		shost_printk(KERN_INFO, ip->shost, "%s %06x -> %06x: %d\n", els_name(op),
			     ip->port_id, tp->port_id, ret);
	return ret;
}

/* ---- logins ------------------------------------------------------------------------- */

static struct ini_tport *ini_tport_of(struct ini_port *ip, u32 port_id)
{
	int i;

	for (i = 0; i < INI_MAX_TGTS; i++)
		if (ip->tports[i].port_id == port_id)
			return &ip->tports[i];
	return NULL;
}

/* Name-server query, then PLOGI + PRLI to every FCP target not logged in yet. */
static void ini_login_targets(struct ini_port *ip)
{
	u32 ids[INI_MAX_TGTS];
	u64 wwpns[INI_MAX_TGTS], wwnns[INI_MAX_TGTS];
	unsigned long f;
	size_t n, i;

	lockdep_assert_held(&ip->login_mutex);
	if (!ip->port_id)
		return;
	spin_lock_irqsave(&sim_ini_lock, f);
	n = ferrule_sim_rs_switch_targets(sim_switch, ids, wwpns, wwnns, INI_MAX_TGTS);
	spin_unlock_irqrestore(&sim_ini_lock, f);

	for (i = 0; i < n; i++) {
		struct fc_rport_identifiers rid = {};
		struct ini_tport *tp = ini_tport_of(ip, ids[i]);
		unsigned int hba = ((ids[i] >> 8) & 0xff) - 1;

		if (tp && tp->logged_in)
			continue;
		if (ip->login_only && (hba >= BITS_PER_LONG || !(ip->login_only & BIT(hba))))
			continue;
		if (!tp)
			tp = ini_tport_of(ip, 0);
		if (!tp)
			break;
		tp->port_id = ids[i];
		tp->wwpn = wwpns[i];
		tp->wwnn = wwnns[i];
		tp->hba = hba;
		if (ini_els(ip, tp, ELS_PLOGI)) {
			tp->port_id = 0;
			continue;
		}
		if (ini_els(ip, tp, ELS_PRLI)) {
			ini_els(ip, tp, ELS_LOGO);
			tp->port_id = 0;
			continue;
		}
		spin_lock_irqsave(&sim_ini_lock, f);
		tp->logged_in = true;
		spin_unlock_irqrestore(&sim_ini_lock, f);
		rid.node_name = tp->wwnn;
		rid.port_name = tp->wwpn;
		rid.port_id = tp->port_id;
		rid.roles = FC_RPORT_ROLE_FCP_TARGET;
		tp->rport = fc_remote_port_add(ip->shost, 0, &rid);
		shost_printk(KERN_INFO, ip->shost,
			     "logged in to target %016llx at %06x (handle %u) as %016llx at %06x\n",
			     tp->wwpn, tp->port_id, tp->handle, ip->wwpn, ip->port_id);
		if (tp->rport)
			scsi_scan_target(&tp->rport->dev, 0, tp->rport->scsi_target_id,
					 SCAN_WILD_CARD, SCSI_SCAN_RESCAN);
	}
}

/* FLOGI (physical) or FDISC (vport) to the switch, then the targets. */
static int ini_port_online(struct ini_port *ip)
{
	unsigned long f;
	s32 id;

	lockdep_assert_held(&ip->login_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	if (ip->phys)
		id = ip->phys->port_id ?
			ferrule_sim_rs_switch_login(sim_switch, 0, ip->phys->port_id, ip->wwpn,
						    ip->wwnn, false) : -ENOLINK;
	else
		id = ferrule_sim_rs_switch_login(sim_switch, INI_AREA_BASE + ip->index, 0,
						 ip->wwpn, ip->wwnn, false);
	if (id > 0) {
		ip->port_id = id;
		ip->online = true;
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (id < 0) {
		shost_printk(KERN_ERR, ip->shost, "%s %016llx refused by the switch: %d\n",
			     ip->phys ? "FDISC" : "FLOGI", ip->wwpn, id);
		return id;
	}
	fc_host_port_id(ip->shost) = id;
	shost_printk(KERN_INFO, ip->shost, "%s: %016llx is N_Port %06x\n",
		     ip->phys ? "FDISC" : "FLOGI", ip->wwpn, id);
	ini_login_targets(ip);
	return 0;
}

/* LOGO to every target, outstanding commands failed, rports deleted (unless the caller
 * removes the whole fc_host), LOGO to the switch (the N_Port ID is free for reuse). */
static void ini_port_offline(struct ini_port *ip, bool delete_rports)
{
	unsigned long f;
	int i;

	lockdep_assert_held(&ip->login_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	ip->online = false;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	for (i = 0; i < INI_MAX_TGTS; i++) {
		struct ini_tport *tp = &ip->tports[i];

		if (!tp->port_id)
			continue;
		if (tp->logged_in && !READ_ONCE(ini_drop_logo))
			ini_els(ip, tp, ELS_LOGO);
		else if (tp->logged_in)
			shost_printk(KERN_INFO, ip->shost,
				     "fault injection: LOGO %06x -> %06x lost\n", ip->port_id,
				     tp->port_id);
		spin_lock_irqsave(&sim_ini_lock, f);
		tp->logged_in = false;
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	/* The target dropped our exchanges with the logins. */
	ini_fail_cmds(ip, 0, DID_NO_CONNECT << 16);
	for (i = 0; i < INI_MAX_TGTS; i++) {
		struct ini_tport *tp = &ip->tports[i];

		if (tp->rport && delete_rports)
			fc_remote_port_delete(tp->rport);
		tp->rport = NULL;
		tp->port_id = 0;
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	if (ip->port_id)
		ferrule_sim_rs_switch_logo(sim_switch, ip->port_id);
	ip->port_id = 0;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	fc_host_port_id(ip->shost) = 0;
}

/* ---- SCSI host ---------------------------------------------------------------------- */

struct ini_fcp_arg {
	struct ini_port *ip;
	struct scsi_cmnd *sc;
	u16 ox_id;
	u32 seq;
	u32 s_id;
	u64 lun;
	u8 dir;
};

/* The command in slot `a->ox_id` is still `a`'s, not being aborted. Caller holds
 * sim_ini_lock. */
static bool ini_still_mine(const struct ini_fcp_arg *a)
{
	const struct ini_xchg *e = &a->ip->xchg[a->ox_id];

	return e->sc == a->sc && e->seq == a->seq && !e->aborting;
}

static int ini_fcp_fn(void *model, void *arg, u32 *flags)
{
	struct ini_fcp_arg *a = arg;
	struct scsi_cmnd *sc = a->sc;
	unsigned long f;
	bool mine;
	u32 xaddr;
	int ret;

	/* Checked under the target HBA's lock, which an ABTS also takes: an abort that
	 * started before this FCP_CMND goes out finds it unsent; one after finds it open. */
	spin_lock_irqsave(&sim_ini_lock, f);
	mine = ini_still_mine(a);
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (!mine)
		return -ESTALE;
	ret = ferrule_sim_rs_fcp_cmnd(model, 0, a->s_id, a->ox_id, a->lun, sc->cmnd, sc->cmd_len,
				      scsi_bufflen(sc), a->dir, &xaddr, flags);
	if (!ret) {
		/* Still under the target HBA's lock: no reply can have come yet. */
		spin_lock_irqsave(&sim_ini_lock, f);
		if (ini_still_mine(a))
			a->ip->xchg[a->ox_id].xaddr = xaddr;
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	return ret;
}

/*
 * Sends the FCP_CMND of `a` to target HBA `hba`. 0: sent (or no longer ours). Else the
 * command is taken back out of the table and the return value is what to do with it:
 * 1 busy (requeue), or a host byte to complete it with.
 */
static int ini_send_cmnd(struct ini_fcp_arg *a, unsigned int hba)
{
	struct ini_port *ip = a->ip;
	unsigned long f;
	bool mine;
	int ret;

	ret = sim_tgt_call(hba, ini_fcp_fn, a);
	if (!ret || ret == -ESTALE)
		return 0;
	spin_lock_irqsave(&sim_ini_lock, f);
	mine = ip->xchg[a->ox_id].sc == a->sc && ip->xchg[a->ox_id].seq == a->seq;
	if (mine) {
		ip->xchg[a->ox_id].sc = NULL;
		ip->cmds_done++;
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (!mine)		/* already failed by a logout, or an abort owns it */
		return 0;
	if (ret == -EAGAIN || ret == -ENOSPC)
		return 1;
	return ret == -ENOLINK ? DID_IMM_RETRY : DID_NO_CONNECT;
}

static void ini_fcp_arg_fill(struct ini_fcp_arg *a)
{
	struct scsi_cmnd *sc = a->sc;
	struct scsi_lun sl;

	int_to_scsilun(sc->device->lun, &sl);
	a->lun = get_unaligned_be64(sl.scsi_lun);
	a->dir = sc->sc_data_direction == DMA_TO_DEVICE ? 1 :
		sc->sc_data_direction == DMA_FROM_DEVICE ? 2 : 0;
}

/* Fault injection: a held-back FCP_CMND goes out now (if its command is still waiting). */
static void ini_delayed_send(struct work_struct *w)
{
	struct ini_xchg *e = container_of(to_delayed_work(w), struct ini_xchg, send);
	struct ini_port *ip = e->ip;
	struct ini_fcp_arg a = { .ip = ip, .ox_id = e->tag };
	unsigned int hba;
	unsigned long f;
	int ret;

	spin_lock_irqsave(&sim_ini_lock, f);
	if (!e->sc || !e->send_pending || e->aborting) {
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return;
	}
	e->send_pending = false;
	a.sc = e->sc;
	a.seq = e->seq;
	a.s_id = ip->port_id;
	hba = e->hba;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	ini_fcp_arg_fill(&a);
	ret = ini_send_cmnd(&a, hba);
	if (ret) {
		a.sc->result = (ret == 1 ? DID_IMM_RETRY : ret) << 16;
		scsi_done(a.sc);
	}
}

static enum scsi_qc_status ini_queuecommand(struct Scsi_Host *sh, struct scsi_cmnd *sc)
{
	struct ini_port *ip = shost_priv(sh);
	struct fc_rport *rport = starget_to_rport(scsi_target(sc->device));
	u32 tag = scsi_cmd_to_rq(sc)->tag;
	struct ini_fcp_arg a = { .ip = ip, .sc = sc, .ox_id = tag };
	struct ini_tport *tp;
	struct ini_xchg *e;
	unsigned long f;
	unsigned int hba, ms;
	int ret;

	ret = fc_remote_port_chkready(rport);
	if (ret || tag >= INI_QD) {
		sc->result = ret ? ret : DID_ERROR << 16;
		scsi_done(sc);
		return 0;
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	tp = ini_tport_of(ip, rport->port_id);
	if (ip->bouncing || (tp && tp->blocked)) {	/* relogin or link bounce: wait */
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return SCSI_MLQUEUE_TARGET_BUSY;
	}
	if (!ip->online || !tp || !tp->logged_in) {
		spin_unlock_irqrestore(&sim_ini_lock, f);
		sc->result = DID_NO_CONNECT << 16;
		scsi_done(sc);
		return 0;
	}
	e = &ip->xchg[tag];
	if (e->sc) {		/* the error handler still holds this OX_ID */
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return SCSI_MLQUEUE_HOST_BUSY;
	}
	hba = tp->hba;
	e->sc = sc;
	e->hba = hba;
	e->tgt_id = tp->port_id;
	e->xaddr = 0;
	e->aborting = false;
	e->lost = false;
	e->send_pending = false;
	e->seq++;
	a.seq = e->seq;
	a.s_id = ip->port_id;
	ip->cmds++;
	ms = 0;
	if (drop_hit(DROP_CMND)) {
		/* Lost FCP_CMND: the exchange stays open here; the SCSI timeout aborts it. */
		flt_inc(FLT_DROPPED_CMND);
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return 0;
	}
	ms = delay_hit();
	if (ms) {
		e->send_pending = true;
		flt_inc(FLT_DELAYED_CMND);
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (ms) {
		/* Already pending for an earlier command of this slot: it sends this one. */
		schedule_delayed_work(&e->send, msecs_to_jiffies(ms));
		return 0;
	}

	ini_fcp_arg_fill(&a);
	ret = ini_send_cmnd(&a, hba);
	if (!ret)
		return 0;
	if (ret == 1)
		return SCSI_MLQUEUE_TARGET_BUSY;
	sc->result = ret << 16;
	scsi_done(sc);
	return 0;
}

struct ini_abts_arg {
	u32 s_id;
	u16 ox_id;
};

static int ini_abts_fn(void *model, void *arg, u32 *flags)
{
	struct ini_abts_arg *a = arg;

	return ferrule_sim_rs_abts(model, 0, a->s_id, a->ox_id, flags);
}

/*
 * ABTS for `sc` in slot `tag`, which the caller marked aborting (so nobody else completes
 * it). Caller holds ip->abts_mutex. Takes `sc` out of the table; returns 0 BA_ACC,
 * 1 BA_RJT, -ENOTCONN not sent (no login), -ETIMEDOUT no reply.
 */
static int ini_abts(struct ini_port *ip, struct scsi_cmnd *sc, u16 tag)
{
	struct ini_xchg *e = &ip->xchg[tag];
	struct ini_abts_arg a = { .ox_id = tag };
	unsigned long f;
	unsigned int hba;
	bool waiting, acc;
	int ret;

	lockdep_assert_held(&ip->abts_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	hba = e->hba;
	a.s_id = ip->port_id;
	reinit_completion(&ip->abts_done);
	ip->abts_waiting = true;
	ip->abts_oxid = tag;
	spin_unlock_irqrestore(&sim_ini_lock, f);

	ret = sim_tgt_call(hba, ini_abts_fn, &a);
	if (!ret)
		wait_for_completion_timeout(&ip->abts_done, INI_ELS_TMO);
	spin_lock_irqsave(&sim_ini_lock, f);
	waiting = ip->abts_waiting;
	acc = ip->abts_acc;
	ip->abts_waiting = false;
	if (e->sc == sc) {
		e->sc = NULL;
		ip->cmds_done++;
	}
	e->aborting = false;
	e->send_pending = false;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (ret)
		ret = -ENOTCONN;
	else if (waiting)
		ret = -ETIMEDOUT;
	else
		ret = acc ? 0 : 1;
	flt_inc(ret == 0 ? FLT_ABTS_ACC : ret == 1 ? FLT_ABTS_RJT : FLT_ABTS_NO_REPLY);
	shost_printk(KERN_INFO, ip->shost, "ABTS OX_ID %u: %s\n", tag,
		     ret == -ENOTCONN ? "not sent (no login)" : ret == -ETIMEDOUT ? "no reply" :
		     ret ? "BA_RJT" : "BA_ACC");
	return ret;
}

static int ini_eh_abort(struct scsi_cmnd *sc)
{
	struct ini_port *ip = shost_priv(sc->device->host);
	u32 tag = scsi_cmd_to_rq(sc)->tag;
	struct ini_xchg *e;
	unsigned long f;
	bool unsent;
	int ret;

	if (tag >= INI_QD)
		return SUCCESS;
	flt_inc(FLT_EH_ABORTS);
	mutex_lock(&ip->abts_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	e = &ip->xchg[tag];
	if (e->sc != sc) {
		spin_unlock_irqrestore(&sim_ini_lock, f);
		mutex_unlock(&ip->abts_mutex);
		return SUCCESS;		/* finished meanwhile */
	}
	unsent = e->send_pending;
	if (unsent) {		/* held back here: the target never saw it */
		e->sc = NULL;
		e->send_pending = false;
		ip->cmds_done++;
	} else {
		e->aborting = true;
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	ret = unsent ? 0 : ini_abts(ip, sc, tag);
	mutex_unlock(&ip->abts_mutex);
	/* BA_RJT: the target holds no such exchange (the FCP_CMND or FCP_RSP was lost),
	 * so nothing of it can still arrive; without a login it holds none of ours. */
	return ret == -ETIMEDOUT ? FAILED : SUCCESS;
}

static int ini_tport_relogin(struct ini_port *ip, struct ini_tport *tp, bool logo);

/*
 * Error handler escalation (a command timed out again after its abort, or a TEST UNIT
 * READY after it failed): a target reset is a new login (LOGO + PLOGI + PRLI), which ends
 * every exchange of ours at the target; a host reset does that for every target.
 */
static int ini_eh_target_reset(struct scsi_cmnd *sc)
{
	struct ini_port *ip = shost_priv(sc->device->host);
	struct fc_rport *rport = starget_to_rport(scsi_target(sc->device));
	struct ini_tport *tp;
	int err = -ENOTCONN;

	flt_inc(FLT_EH_TARGET_RESETS);
	mutex_lock(&ip->login_mutex);
	tp = ip->port_id && rport->port_id ? ini_tport_of(ip, rport->port_id) : NULL;
	if (tp && tp->logged_in)
		err = ini_tport_relogin(ip, tp, true);
	mutex_unlock(&ip->login_mutex);
	shost_printk(KERN_INFO, ip->shost, "target reset %06x (new login): %d\n",
		     rport->port_id, err);
	return err ? FAILED : SUCCESS;
}

static int ini_eh_host_reset(struct scsi_cmnd *sc)
{
	struct ini_port *ip = shost_priv(sc->device->host);
	int i, err = ip->port_id ? 0 : -ENOLINK;

	flt_inc(FLT_EH_HOST_RESETS);
	mutex_lock(&ip->login_mutex);
	for (i = 0; i < INI_MAX_TGTS && !err; i++)
		if (ip->tports[i].port_id && ip->tports[i].logged_in)
			err = ini_tport_relogin(ip, &ip->tports[i], true);
	mutex_unlock(&ip->login_mutex);
	shost_printk(KERN_INFO, ip->shost, "host reset (new logins): %d\n", err);
	return err ? FAILED : SUCCESS;
}

static const struct scsi_host_template ini_sht = {
	.module = THIS_MODULE,
	.name = "ferrule_isp_sim FC initiator",
	.proc_name = "ferrule_sim_ini",
	.queuecommand = ini_queuecommand,
	.eh_abort_handler = ini_eh_abort,
	.eh_target_reset_handler = ini_eh_target_reset,
	.eh_host_reset_handler = ini_eh_host_reset,
	.can_queue = INI_QD,
	.cmd_per_lun = 32,
	.this_id = -1,
	.sg_tablesize = 128,
	.max_sectors = 1024,
	.cmd_size = sizeof(struct ini_cmd_priv),
};

/* ---- FC transport ------------------------------------------------------------------- */

static void ini_get_port_state(struct Scsi_Host *sh)
{
	struct ini_port *ip = shost_priv(sh);

	fc_host_port_state(sh) = READ_ONCE(ip->port_id) ? FC_PORTSTATE_ONLINE :
		FC_PORTSTATE_LINKDOWN;
}

static void ini_set_dev_loss_tmo(struct fc_rport *rport, u32 timeout)
{
	rport->dev_loss_tmo = timeout ? timeout : 1;
}

static void ini_terminate_rport_io(struct fc_rport *rport)
{
	ini_fail_cmds(shost_priv(rport_to_shost(rport)), rport->port_id, DID_NO_CONNECT << 16);
}

static void ini_dev_loss_tmo_callbk(struct fc_rport *rport)
{
	struct ini_port *ip = shost_priv(rport_to_shost(rport));
	int i;

	for (i = 0; i < INI_MAX_TGTS; i++)
		if (ip->tports[i].rport == rport)
			ip->tports[i].rport = NULL;
}

/* issue_lip: log in again to every target the name server lists and we lack. */
static int ini_issue_lip(struct Scsi_Host *sh)
{
	struct ini_port *ip = shost_priv(sh);

	mutex_lock(&ip->login_mutex);
	if (ip->port_id)
		ini_login_targets(ip);
	mutex_unlock(&ip->login_mutex);
	return 0;
}

static void ini_host_attrs(struct ini_port *ip)
{
	struct Scsi_Host *sh = ip->shost;

	fc_host_node_name(sh) = ip->wwnn;
	fc_host_port_name(sh) = ip->wwpn;
	fc_host_supported_classes(sh) = FC_COS_CLASS3;
	fc_host_supported_speeds(sh) = FC_PORTSPEED_16GBIT;
	fc_host_speed(sh) = FC_PORTSPEED_16GBIT;
	fc_host_port_type(sh) = ip->phys ? FC_PORTTYPE_NPIV : FC_PORTTYPE_NPORT;
	fc_host_port_id(sh) = 0;
	fc_host_max_npiv_vports(sh) = ip->phys ? 0 : INI_MAX_VPORTS;
	fc_host_dev_loss_tmo(sh) = 10;
}

/* Before scsi_add_host (the fc_host attributes only exist after it). */
static void ini_host_limits(struct Scsi_Host *sh)
{
	sh->max_id = 16;
	sh->max_lun = 256;
	sh->max_channel = 0;
	sh->max_cmd_len = 16;
}

static void ini_port_init(struct ini_port *ip, struct Scsi_Host *sh, struct ini_port *phys,
			  unsigned int index, u64 wwpn, u64 wwnn)
{
	int i;

	ip->shost = sh;
	ip->phys = phys;
	ip->index = index;
	ip->wwpn = wwpn;
	ip->wwnn = wwnn;
	mutex_init(&ip->login_mutex);
	mutex_init(&ip->abts_mutex);
	init_completion(&ip->els_done);
	init_completion(&ip->abts_done);
	for (i = 0; i < INI_QD; i++) {
		ip->xchg[i].ip = ip;
		ip->xchg[i].tag = i;
		INIT_DELAYED_WORK(&ip->xchg[i].send, ini_delayed_send);
	}
}

/* Before the port's memory goes: no held-back FCP_CMND may still fire. Its commands are
 * all completed by then (ini_port_offline). */
static void ini_port_quiesce(struct ini_port *ip)
{
	int i;

	for (i = 0; i < INI_QD; i++)
		cancel_delayed_work_sync(&ip->xchg[i].send);
}

static int ini_port_list(struct ini_port *ip)
{
	unsigned long f;
	int i, ret = -ENOSPC;

	spin_lock_irqsave(&sim_ini_lock, f);
	for (i = 0; i < INI_MAX_PORTS; i++) {
		if (!ini_ports[i]) {
			ini_ports[i] = ip;
			ip->listed = true;
			ret = 0;
			break;
		}
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	return ret;
}

static void ini_port_unlist(struct ini_port *ip)
{
	unsigned long f;
	int i;

	spin_lock_irqsave(&sim_ini_lock, f);
	for (i = 0; i < INI_MAX_PORTS; i++)
		if (ini_ports[i] == ip)
			ini_ports[i] = NULL;
	ip->listed = false;
	spin_unlock_irqrestore(&sim_ini_lock, f);
}

static int ini_vport_create(struct fc_vport *fv, bool disable)
{
	struct ini_port *pip = shost_priv(fv->shost);
	struct ini_port *vip;
	struct Scsi_Host *vh;
	int ret;

	vh = scsi_host_alloc(&ini_sht, sizeof(*vip));
	if (!vh)
		return -ENOMEM;
	vip = shost_priv(vh);
	ini_port_init(vip, vh, pip, pip->index, fv->port_name, fv->node_name);
	vip->vport = fv;
	vh->transportt = ini_fc_vport_tt;
	ini_host_limits(vh);
	ret = scsi_add_host_with_dma(vh, &fv->dev, &pip->pdev->dev);
	if (ret)
		goto put;
	ini_host_attrs(vip);
	ret = ini_port_list(vip);
	if (ret)
		goto remove;
	*(struct ini_port **)fv->dd_data = vip;
	if (disable) {
		fc_vport_set_state(fv, FC_VPORT_DISABLED);
		return 0;
	}
	mutex_lock(&vip->login_mutex);
	ret = ini_port_online(vip);
	mutex_unlock(&vip->login_mutex);
	if (ret)
		goto unlist;
	fc_vport_set_state(fv, FC_VPORT_ACTIVE);
	return 0;
unlist:
	ini_port_unlist(vip);
remove:
	fc_remove_host(vh);
	scsi_remove_host(vh);
	ini_port_quiesce(vip);
put:
	scsi_host_put(vh);
	return ret;
}

static int ini_vport_disable(struct fc_vport *fv, bool disable)
{
	struct ini_port *vip = *(struct ini_port **)fv->dd_data;
	int ret = 0;

	mutex_lock(&vip->login_mutex);
	if (disable) {
		ini_port_offline(vip, true);
		fc_vport_set_state(fv, FC_VPORT_DISABLED);
	} else if (!vip->port_id) {
		ret = ini_port_online(vip);
		fc_vport_set_state(fv, ret ? FC_VPORT_FAILED : FC_VPORT_ACTIVE);
	}
	mutex_unlock(&vip->login_mutex);
	return ret;
}

static int ini_vport_delete(struct fc_vport *fv)
{
	struct ini_port *vip = *(struct ini_port **)fv->dd_data;
	struct Scsi_Host *vh = vip->shost;

	mutex_lock(&vip->login_mutex);
	ini_port_offline(vip, false);
	mutex_unlock(&vip->login_mutex);
	fc_remove_host(vh);
	scsi_remove_host(vh);
	ini_port_unlist(vip);
	ini_port_quiesce(vip);
	shost_printk(KERN_INFO, vh, "vport %016llx deleted\n", vip->wwpn);
	scsi_host_put(vh);
	return 0;
}

#define INI_FC_COMMON							\
	.show_host_node_name = 1,					\
	.show_host_port_name = 1,					\
	.show_host_supported_classes = 1,				\
	.show_host_supported_speeds = 1,				\
	.show_host_port_id = 1,						\
	.show_host_port_type = 1,					\
	.get_host_port_state = ini_get_port_state,			\
	.show_host_port_state = 1,					\
	.show_host_speed = 1,						\
	.show_rport_supported_classes = 1,				\
	.set_rport_dev_loss_tmo = ini_set_dev_loss_tmo,			\
	.show_rport_dev_loss_tmo = 1,					\
	.show_starget_node_name = 1,					\
	.show_starget_port_name = 1,					\
	.show_starget_port_id = 1,					\
	.dev_loss_tmo_callbk = ini_dev_loss_tmo_callbk,			\
	.terminate_rport_io = ini_terminate_rport_io,			\
	.issue_fc_host_lip = ini_issue_lip

static struct fc_function_template ini_fc_fns = {
	INI_FC_COMMON,
	.vport_create = ini_vport_create,
	.vport_disable = ini_vport_disable,
	.vport_delete = ini_vport_delete,
	.dd_fcvport_size = sizeof(struct ini_port *),
};

static struct fc_function_template ini_fc_vport_fns = {
	INI_FC_COMMON,
};

/* ---- fault injection actions -------------------------------------------------------- */

/* A listed, live port by "hostN" or WWPN (hex, optional 0x and colons); with a reference on
 * its Scsi_Host (scsi_host_put when done). */
static struct ini_port *ini_port_get(const char *name)
{
	struct ini_port *ip, *found = NULL;
	unsigned int host_no = UINT_MAX;
	unsigned long f;
	char hex[17];
	u64 wwpn = 0;
	int i, n = 0;

	if (!strncmp(name, "host", 4)) {
		if (kstrtouint(name + 4, 10, &host_no))
			return NULL;
	} else {
		if (!strncmp(name, "0x", 2))
			name += 2;
		for (; *name && n < 16; name++)
			if (*name != ':')
				hex[n++] = *name;
		hex[n] = '\0';
		if (*name || !n || kstrtou64(hex, 16, &wwpn) || !wwpn)
			return NULL;
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	for (i = 0; i < INI_MAX_PORTS && !found; i++) {
		ip = ini_ports[i];
		if (ip && (ip->shost->host_no == host_no || ip->wwpn == wwpn) &&
		    scsi_host_get(ip->shost))
			found = ip;
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	return found;
}

static void ini_port_put(struct ini_port *ip)
{
	scsi_host_put(ip->shost);
}

/* PLOGI + PRLI to `tp`, a few tries (the target may be busy with the previous login). */
static int ini_tport_login(struct ini_port *ip, struct ini_tport *tp)
{
	int ret = -EIO, i;

	for (i = 0; i < 3 && ret; i++) {
		if (i)
			msleep(100);
		ret = ini_els(ip, tp, ELS_PLOGI);
		if (!ret)
			ret = ini_els(ip, tp, ELS_PRLI);
	}
	return ret;
}

/*
 * `tp` again: LOGO + PLOGI + PRLI (`logo`) or PLOGI + PRLI (an implicit logout). The target
 * drops the login's exchanges, so commands still open are completed for a retry; new ones
 * wait meanwhile. Caller holds login_mutex.
 */
static int ini_tport_relogin(struct ini_port *ip, struct ini_tport *tp, bool logo)
{
	unsigned long f;
	int err;

	lockdep_assert_held(&ip->login_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	tp->blocked = true;
	tp->logged_in = false;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	/* Open commands are failed only once the target let go of the login (LS_ACC to
	 * LOGO / a new PLOGI): no frame of theirs follows. */
	if (logo) {
		ini_els(ip, tp, ELS_LOGO);
		ini_fail_cmds(ip, tp->port_id, DID_IMM_RETRY << 16);
		err = ini_tport_login(ip, tp);
	} else {
		err = ini_els(ip, tp, ELS_PLOGI);
		ini_fail_cmds(ip, tp->port_id, DID_IMM_RETRY << 16);
		if (!err)
			err = ini_els(ip, tp, ELS_PRLI);
		if (err)
			err = ini_tport_login(ip, tp);
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	tp->logged_in = !err;
	tp->blocked = false;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (err)
		shost_printk(KERN_ERR, ip->shost, "relogin to %06x failed: %d\n", tp->port_id,
			     err);
	return err;
}

/* LOGO storm (`logo`) / PLOGI storm: `rounds` times, every target `ip` is logged in to
 * gets logged in again (ini_tport_relogin). */
static int ini_storm(struct ini_port *ip, bool logo, unsigned int rounds)
{
	unsigned int r;
	int i, ret = 0;

	for (r = 0; r < rounds && !ret; r++) {
		mutex_lock(&ip->login_mutex);
		if (!ip->listed || !ip->port_id)
			ret = -ENOLINK;
		for (i = 0; i < INI_MAX_TGTS && !ret; i++) {
			struct ini_tport *tp = &ip->tports[i];

			if (!tp->port_id || !tp->logged_in)
				continue;
			flt_inc(logo ? FLT_STORM_LOGOS : FLT_STORM_PLOGIS);
			ret = ini_tport_relogin(ip, tp, logo);
			if (ret)
				flt_inc(FLT_STORM_FAILURES);
		}
		mutex_unlock(&ip->login_mutex);
		msleep(20);	/* let the requeued commands run between rounds */
	}
	return ret;
}

/* The initiator aborts one random command of `ip` the target holds (ABTS); the command is
 * then completed for a retry. -ENOENT when none is in flight. */
static int ini_inject_abts(struct ini_port *ip)
{
	struct scsi_cmnd *sc = NULL;
	struct ini_xchg *e = NULL;
	unsigned int start = get_random_u32_below(INI_QD), k;
	unsigned long f;
	int ret;

	mutex_lock(&ip->abts_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	for (k = 0; k < INI_QD && !sc; k++) {
		e = &ip->xchg[(start + k) % INI_QD];
		if (e->sc && !e->aborting && !e->send_pending && e->xaddr) {
			sc = e->sc;
			e->aborting = true;
		}
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (!sc) {
		mutex_unlock(&ip->abts_mutex);
		return -ENOENT;
	}
	flt_inc(FLT_ABTS_INJECTED);
	ret = ini_abts(ip, sc, e->tag);
	mutex_unlock(&ip->abts_mutex);
	/* Ours since it was marked aborting: nobody else completed it. */
	sc->result = DID_IMM_RETRY << 16;
	flt_inc(FLT_RETRIED_CMDS);
	scsi_done(sc);
	return ret < 0 ? ret : 0;
}

struct ini_plogo_arg {
	u32 s_id;
};

static int ini_port_logout_fn(void *model, void *arg, u32 *flags)
{
	struct ini_plogo_arg *a = arg;

	return ferrule_sim_rs_port_logout(model, 0, a->s_id, flags);
}

/* Link lost under `ip`: no LOGO goes out; each target's firmware logs it out (the switch's
 * RSCN), rports are blocked and open commands completed for a retry once it is back. */
static void ini_port_link_down(struct ini_port *ip)
{
	struct ini_plogo_arg a;
	unsigned long f;
	int i;

	mutex_lock(&ip->login_mutex);
	spin_lock_irqsave(&sim_ini_lock, f);
	ip->bouncing = true;
	ip->online = false;
	a.s_id = ip->port_id;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	/* Back up, it logs in only where it was logged in (a real HBA tries every target
	 * the name server lists), so session tables stay comparable. The top bit only keeps
	 * the mask non-zero. */
	ip->login_only = BIT(BITS_PER_LONG - 1);
	for (i = 0; i < INI_MAX_TGTS; i++)
		if (ip->tports[i].logged_in && ip->tports[i].hba < BITS_PER_LONG - 1)
			ip->login_only |= BIT(ip->tports[i].hba);
	for (i = 0; i < INI_MAX_TGTS; i++)
		if (ip->tports[i].rport)
			fc_remote_port_delete(ip->tports[i].rport);	/* blocks its devices */
	for (i = 0; i < INI_MAX_TGTS; i++) {
		struct ini_tport *tp = &ip->tports[i];

		if (tp->logged_in && a.s_id)
			sim_tgt_call(tp->hba, ini_port_logout_fn, &a);
		spin_lock_irqsave(&sim_ini_lock, f);
		tp->logged_in = false;
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	ini_fail_cmds(ip, 0, DID_IMM_RETRY << 16);
	for (i = 0; i < INI_MAX_TGTS; i++) {
		ip->tports[i].rport = NULL;
		ip->tports[i].port_id = 0;
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	if (ip->port_id)
		ferrule_sim_rs_switch_logo(sim_switch, ip->port_id);
	ip->port_id = 0;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	fc_host_port_id(ip->shost) = 0;
	if (ip->vport)
		fc_vport_set_state(ip->vport, FC_VPORT_LINKDOWN);
	mutex_unlock(&ip->login_mutex);
}

/* Link back: FLOGI/FDISC and the target logins again (fc_remote_port_add unblocks). */
static int ini_port_link_up(struct ini_port *ip)
{
	unsigned long f;
	int ret = -ENODEV;

	mutex_lock(&ip->login_mutex);
	/* Before the logins: the scan after fc_remote_port_add sends commands. The rports
	 * stay blocked until then, so nothing else reaches queuecommand meanwhile. */
	spin_lock_irqsave(&sim_ini_lock, f);
	ip->bouncing = false;
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (ip->listed)
		ret = ini_port_online(ip);
	ip->login_only = 0;
	if (ip->vport)
		fc_vport_set_state(ip->vport, ret ? FC_VPORT_FAILED : FC_VPORT_ACTIVE);
	mutex_unlock(&ip->login_mutex);
	return ret;
}

/*
 * Initiator link bounce: `ip` (a physical port takes its vports with it: they lose their
 * FDISC logins) goes down for `ms` and comes back.
 */
static int ini_bounce(struct ini_port *ip, unsigned int ms)
{
	struct ini_port *vps[INI_MAX_VPORTS];
	unsigned int nv = 0, i;
	unsigned long f;
	int ret;

	if (!ip->phys) {
		spin_lock_irqsave(&sim_ini_lock, f);
		for (i = 0; i < INI_MAX_PORTS && nv < INI_MAX_VPORTS; i++) {
			struct ini_port *v = ini_ports[i];

			if (v && v->phys == ip && v->port_id && scsi_host_get(v->shost))
				vps[nv++] = v;
		}
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	flt_inc(FLT_INI_BOUNCES);
	for (i = 0; i < nv; i++)
		ini_port_link_down(vps[i]);
	ini_port_link_down(ip);
	if (!ip->phys) {
		spin_lock_irqsave(&sim_ini_lock, f);
		ferrule_sim_rs_switch_link(sim_switch, INI_AREA_BASE + ip->index, false);
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	msleep(ms);
	if (!ip->phys) {
		spin_lock_irqsave(&sim_ini_lock, f);
		ferrule_sim_rs_switch_link(sim_switch, INI_AREA_BASE + ip->index, true);
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	ret = ini_port_link_up(ip);
	for (i = 0; i < nv; i++) {
		int r = ini_port_link_up(vps[i]);

		if (!ret)
			ret = r;
		scsi_host_put(vps[i]->shost);
	}
	return ret;
}

static bool ini_logged_in_to(struct ini_port *ip, unsigned int hba)
{
	int t;

	for (t = 0; t < INI_MAX_TGTS; t++)
		if (ip->tports[t].logged_in && ip->tports[t].hba == hba)
			return true;
	return false;
}

/* Every port that lost target HBA `hba` with its link logs in to it again; retried for up
 * to 5 s (the target's driver needs a moment after LOOP UP before it takes logins). */
static int ini_relogin_all(unsigned int hba)
{
	unsigned long f;
	int tries, i;

	for (tries = 0; tries < 50; tries++) {
		int missing = 0;

		for (i = 0; i < INI_MAX_PORTS; i++) {
			struct ini_port *ip = NULL;

			spin_lock_irqsave(&sim_ini_lock, f);
			if (ini_ports[i] && (ini_ports[i]->tgt_lost & BIT(hba)) &&
			    scsi_host_get(ini_ports[i]->shost))
				ip = ini_ports[i];
			spin_unlock_irqrestore(&sim_ini_lock, f);
			if (!ip)
				continue;
			mutex_lock(&ip->login_mutex);
			if (ip->port_id)
				ini_login_targets(ip);
			if (!ip->port_id || ini_logged_in_to(ip, hba))
				ip->tgt_lost &= ~BIT(hba);	/* back, or nothing to wait for */
			else
				missing++;
			mutex_unlock(&ip->login_mutex);
			scsi_host_put(ip->shost);
		}
		if (!missing)
			return 0;
		msleep(100);
	}
	return -ETIMEDOUT;
}

/* Target HBA `hba`'s link down: the switch and its firmware lose every login; each
 * initiator's rport for it is blocked and its open commands completed for a retry. */
static int ini_tgt_link_down(unsigned int hba)
{
	int i, t, ret;
	unsigned long f;

	ret = sim_tgt_link(hba, false);
	if (ret)
		return ret;
	flt_inc(FLT_TGT_LINK_DOWNS);
	for (i = 0; i < INI_MAX_PORTS; i++) {
		struct ini_port *ip = NULL;

		spin_lock_irqsave(&sim_ini_lock, f);
		if (ini_ports[i] && scsi_host_get(ini_ports[i]->shost))
			ip = ini_ports[i];
		spin_unlock_irqrestore(&sim_ini_lock, f);
		if (!ip)
			continue;
		mutex_lock(&ip->login_mutex);
		if (ini_logged_in_to(ip, hba))
			ip->tgt_lost |= BIT(hba);
		for (t = 0; t < INI_MAX_TGTS; t++) {
			struct ini_tport *tp = &ip->tports[t];

			if (!tp->port_id || tp->hba != hba)
				continue;
			if (tp->rport)
				fc_remote_port_delete(tp->rport);
			spin_lock_irqsave(&sim_ini_lock, f);
			tp->logged_in = false;
			spin_unlock_irqrestore(&sim_ini_lock, f);
			ini_fail_cmds(ip, tp->port_id, DID_IMM_RETRY << 16);
			tp->rport = NULL;
			tp->port_id = 0;
		}
		mutex_unlock(&ip->login_mutex);
		scsi_host_put(ip->shost);
	}
	return 0;
}

static int ini_tgt_link_up(unsigned int hba)
{
	int ret = sim_tgt_link(hba, true);

	if (ret)
		return ret;
	flt_inc(FLT_TGT_LINK_UPS);
	return ini_relogin_all(hba);
}

/* ---- debugfs: /sys/kernel/debug/ferrule_isp_sim/faults ------------------------------ */

#define FAULTS_USAGE "drop cmnd|data|rsp N | delay MS [N] | off | logo_storm PORT K | " \
	"plogi_storm PORT K | abts PORT [N] | tgt_link HBA down|up | ini_bounce PORT [MS]"

static int faults_cmd(char *line)
{
	char cmd[16], a1[40], a2[24], a3[8];
	unsigned int n = 0, i;
	struct ini_port *ip;
	int k, ret;

	k = sscanf(line, "%15s %39s %23s %7s", cmd, a1, a2, a3);
	if (k < 1 || k > 3)
		return -EINVAL;
	if (!strcmp(cmd, "off") && k == 1) {
		for (i = 0; i < DROP_NR; i++)
			atomic_set(&drop_every[i], 0);
		atomic_set(&delay_ms, 0);
		return 0;
	}
	if (!strcmp(cmd, "drop") && k == 3) {
		for (i = 0; i < DROP_NR; i++)
			if (!strcmp(a1, drop_names[i]))
				break;
		if (i == DROP_NR || kstrtouint(a2, 10, &n))
			return -EINVAL;
		atomic_set(&drop_seen[i], 0);
		atomic_set(&drop_every[i], n);
		return 0;
	}
	if (!strcmp(cmd, "delay") && k >= 2) {
		unsigned int every = 1;

		if (kstrtouint(a1, 10, &n) || n > 10000 ||
		    (k == 3 && (kstrtouint(a2, 10, &every) || !every)))
			return -EINVAL;
		atomic_set(&delay_seen, 0);
		atomic_set(&delay_every, every);
		atomic_set(&delay_ms, n);
		return 0;
	}
	if (!strcmp(cmd, "tgt_link") && k == 3) {
		if (kstrtouint(a1, 10, &n))
			return -EINVAL;
		if (!strcmp(a2, "down"))
			return ini_tgt_link_down(n);
		if (!strcmp(a2, "up"))
			return ini_tgt_link_up(n);
		return -EINVAL;
	}
	if (k < 2)
		return -EINVAL;
	if (!strcmp(cmd, "logo_storm") || !strcmp(cmd, "plogi_storm")) {
		if (k != 3 || kstrtouint(a2, 10, &n) || !n || n > 1000)
			return -EINVAL;
	} else if (!strcmp(cmd, "abts")) {
		n = 1;
		if (k == 3 && (kstrtouint(a2, 10, &n) || !n || n > 1000))
			return -EINVAL;
	} else if (!strcmp(cmd, "ini_bounce")) {
		n = 200;
		if (k == 3 && (kstrtouint(a2, 10, &n) || n > 5000))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	ip = ini_port_get(a1);
	if (!ip)
		return -ENODEV;
	if (!strcmp(cmd, "abts")) {
		/* Count the ones that found a command; none in flight is not an error. */
		for (i = 0, ret = 0; i < n && !ret; i++)
			ret = ini_inject_abts(ip);
		if (ret == -ENOENT || ret == -ENOTCONN)
			ret = 0;
	} else if (!strcmp(cmd, "ini_bounce")) {
		ret = ini_bounce(ip, n);
	} else {
		ret = ini_storm(ip, cmd[0] == 'l', n);
	}
	ini_port_put(ip);
	return ret;
}

static ssize_t faults_write(struct file *file, const char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	char buf[96];
	int ret;

	if (count == 0 || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	ret = faults_cmd(buf);
	if (ret == -EINVAL)
		pr_err(DRV_NAME ": faults: bad command '%s' (expected %s)\n", strim(buf),
		       FAULTS_USAGE);
	else if (ret)
		pr_err(DRV_NAME ": faults: '%s' failed: %d\n", strim(buf), ret);
	return ret ? ret : count;
}

static ssize_t faults_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	size_t cap = 1024, len = 0;
	ssize_t ret;
	char *buf;
	int i;

	buf = kzalloc(cap, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < DROP_NR; i++)
		len += scnprintf(buf + len, cap - len, "drop_%s_every: %d\n", drop_names[i],
				 atomic_read(&drop_every[i]));
	len += scnprintf(buf + len, cap - len, "delay_ms: %d\ndelay_every: %d\n",
			 atomic_read(&delay_ms), atomic_read(&delay_every));
	for (i = 0; i < FLT_NR; i++)
		len += scnprintf(buf + len, cap - len, "%s: %d\n", flt_names[i],
				 atomic_read(&flt_count[i]));
	ret = simple_read_from_buffer(ubuf, count, ppos, buf, len);
	kfree(buf);
	return ret;
}

static const struct file_operations faults_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = faults_read,
	.write = faults_write,
	.llseek = default_llseek,
};

void sim_ini_debugfs(struct dentry *root)
{
	faults_dentry = debugfs_create_file("faults", 0600, root, NULL, &faults_fops);
}

/* ---- physical initiator HBAs -------------------------------------------------------- */

static void ini_phys_remove(struct ini_port *ip)
{
	struct Scsi_Host *sh = ip->shost;
	struct platform_device *pdev = ip->pdev;

	mutex_lock(&ip->login_mutex);
	ini_port_offline(ip, false);
	mutex_unlock(&ip->login_mutex);
	fc_remove_host(sh);	/* deletes the vports (ini_vport_delete) and rports */
	scsi_remove_host(sh);
	ini_port_unlist(ip);
	ini_port_quiesce(ip);
	scsi_host_put(sh);
	platform_device_unregister(pdev);
}

static int ini_phys_add(unsigned int i)
{
	u64 wwpn = ini_wwpn_base + i;
	u64 wwnn = (wwpn & 0x0000ffffffffffffULL) | 0x2000000000000000ULL;
	struct platform_device *pdev;
	struct Scsi_Host *sh;
	struct ini_port *ip;
	unsigned long f;
	int ret;

	pdev = platform_device_register_simple("ferrule_sim_ini", i, NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto unreg;
	ret = -ENOMEM;
	sh = scsi_host_alloc(&ini_sht, sizeof(*ip));
	if (!sh)
		goto unreg;
	ip = shost_priv(sh);
	ini_port_init(ip, sh, NULL, i, wwpn, wwnn);
	ip->pdev = pdev;
	sh->transportt = ini_fc_tt;
	ini_host_limits(sh);
	ret = scsi_add_host(sh, &pdev->dev);
	if (ret)
		goto put;
	ini_host_attrs(ip);
	ret = ini_port_list(ip);
	if (ret)
		goto remove;
	ini_phys[i] = ip;
	spin_lock_irqsave(&sim_ini_lock, f);
	ferrule_sim_rs_switch_link(sim_switch, INI_AREA_BASE + i, true);
	spin_unlock_irqrestore(&sim_ini_lock, f);
	mutex_lock(&ip->login_mutex);
	ini_port_online(ip);	/* a refusal leaves the port offline, not the load failed */
	mutex_unlock(&ip->login_mutex);
	return 0;
remove:
	fc_remove_host(sh);
	scsi_remove_host(sh);
put:
	scsi_host_put(sh);
unreg:
	platform_device_unregister(pdev);
	return ret;
}

int sim_ini_init(void)
{
	unsigned int i;
	int ret;

	if (initiators > INI_MAX_PHYS) {
		pr_err(DRV_NAME ": initiators=%u out of range 0..%d\n", initiators,
		       INI_MAX_PHYS);
		return -EINVAL;
	}
	ini_fc_tt = fc_attach_transport(&ini_fc_fns);
	if (!ini_fc_tt)
		return -ENOMEM;
	ini_fc_vport_tt = fc_attach_transport(&ini_fc_vport_fns);
	if (!ini_fc_vport_tt) {
		fc_release_transport(ini_fc_tt);
		return -ENOMEM;
	}
	for (i = 0; i < initiators; i++) {
		ret = ini_phys_add(i);
		if (ret) {
			sim_ini_exit();
			return ret;
		}
	}
	if (initiators)
		pr_info(DRV_NAME ": %u simulated FC initiator HBA(s)\n", initiators);
	return 0;
}

void sim_ini_exit(void)
{
	int i;

	debugfs_remove(faults_dentry);	/* waits for a running fault command */
	faults_dentry = NULL;
	for (i = INI_MAX_PHYS - 1; i >= 0; i--) {
		if (ini_phys[i])
			ini_phys_remove(ini_phys[i]);
		ini_phys[i] = NULL;
	}
	if (ini_fc_vport_tt)
		fc_release_transport(ini_fc_vport_tt);
	if (ini_fc_tt)
		fc_release_transport(ini_fc_tt);
	ini_fc_vport_tt = NULL;
	ini_fc_tt = NULL;
}
