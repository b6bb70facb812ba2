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
};

/* An open exchange: OX_ID = index in the table. */
struct ini_xchg {
	struct scsi_cmnd *sc;		/* NULL: free */
	unsigned int hba;
	u32 tgt_id;
	u32 xaddr;			/* exchange address of the target firmware; 0 until known */
	bool aborting;			/* owned by the error handler */
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
	if (e && !e->aborting) {
		struct scsi_cmnd *sc = e->sc;

		if (to_wire)
			n = sg_pcopy_to_buffer(scsi_sglist(sc), scsi_sg_count(sc), buf, len,
					       rel_off);
		else
			sg_pcopy_from_buffer(scsi_sglist(sc), scsi_sg_count(sc), buf, len,
					     rel_off);
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
	u32 s_id;
	u64 lun;
	u8 dir;
};

static int ini_fcp_fn(void *model, void *arg, u32 *flags)
{
	struct ini_fcp_arg *a = arg;
	struct scsi_cmnd *sc = a->sc;
	unsigned long f;
	u32 xaddr;
	int ret;

	ret = ferrule_sim_rs_fcp_cmnd(model, 0, a->s_id, a->ox_id, a->lun, sc->cmnd, sc->cmd_len,
				      scsi_bufflen(sc), a->dir, &xaddr, flags);
	if (!ret) {
		/* Still under the target HBA's lock: no reply can have come yet. */
		spin_lock_irqsave(&sim_ini_lock, f);
		if (a->ip->xchg[a->ox_id].sc == sc)
			a->ip->xchg[a->ox_id].xaddr = xaddr;
		spin_unlock_irqrestore(&sim_ini_lock, f);
	}
	return ret;
}

static enum scsi_qc_status ini_queuecommand(struct Scsi_Host *sh, struct scsi_cmnd *sc)
{
	struct ini_port *ip = shost_priv(sh);
	struct fc_rport *rport = starget_to_rport(scsi_target(sc->device));
	u32 tag = scsi_cmd_to_rq(sc)->tag;
	struct ini_fcp_arg a = { .ip = ip, .sc = sc, .ox_id = tag };
	struct ini_tport *tp;
	struct scsi_lun sl;
	unsigned long f;
	unsigned int hba;
	bool mine;
	int ret;

	ret = fc_remote_port_chkready(rport);
	if (ret || tag >= INI_QD) {
		sc->result = ret ? ret : DID_ERROR << 16;
		scsi_done(sc);
		return 0;
	}
	spin_lock_irqsave(&sim_ini_lock, f);
	tp = ini_tport_of(ip, rport->port_id);
	if (!ip->online || !tp || !tp->logged_in) {
		spin_unlock_irqrestore(&sim_ini_lock, f);
		sc->result = DID_NO_CONNECT << 16;
		scsi_done(sc);
		return 0;
	}
	if (ip->xchg[tag].sc) {		/* the error handler still holds this OX_ID */
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return SCSI_MLQUEUE_HOST_BUSY;
	}
	hba = tp->hba;
	ip->xchg[tag] = (struct ini_xchg) { .sc = sc, .hba = hba, .tgt_id = tp->port_id };
	a.s_id = ip->port_id;
	ip->cmds++;
	spin_unlock_irqrestore(&sim_ini_lock, f);

	int_to_scsilun(sc->device->lun, &sl);
	a.lun = get_unaligned_be64(sl.scsi_lun);
	a.dir = sc->sc_data_direction == DMA_TO_DEVICE ? 1 :
		sc->sc_data_direction == DMA_FROM_DEVICE ? 2 : 0;
	ret = sim_tgt_call(hba, ini_fcp_fn, &a);
	if (!ret)
		return 0;

	spin_lock_irqsave(&sim_ini_lock, f);
	mine = ip->xchg[tag].sc == sc;
	if (mine) {
		ip->xchg[tag].sc = NULL;
		ip->cmds_done++;
	}
	spin_unlock_irqrestore(&sim_ini_lock, f);
	if (!mine)		/* already failed by a logout */
		return 0;
	if (ret == -EAGAIN || ret == -ENOSPC)
		return SCSI_MLQUEUE_TARGET_BUSY;
	sc->result = (ret == -ENOLINK ? DID_IMM_RETRY : DID_NO_CONNECT) << 16;
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

static int ini_eh_abort(struct scsi_cmnd *sc)
{
	struct ini_port *ip = shost_priv(sc->device->host);
	u32 tag = scsi_cmd_to_rq(sc)->tag;
	struct ini_abts_arg a = { .ox_id = tag };
	struct ini_xchg *e;
	unsigned long f;
	unsigned int hba;
	bool waiting, acc;
	int ret;

	if (tag >= INI_QD)
		return SUCCESS;
	spin_lock_irqsave(&sim_ini_lock, f);
	e = &ip->xchg[tag];
	if (e->sc != sc) {
		spin_unlock_irqrestore(&sim_ini_lock, f);
		return SUCCESS;		/* finished meanwhile */
	}
	e->aborting = true;
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
	spin_unlock_irqrestore(&sim_ini_lock, f);
	shost_printk(KERN_INFO, ip->shost, "ABTS OX_ID %u: %s\n", tag,
		     ret ? "not sent (no login)" : waiting ? "no reply" :
		     acc ? "BA_ACC" : "BA_RJT");
	/* Without a login the target holds no exchange of ours. */
	if (ret)
		return SUCCESS;
	return !waiting && acc ? SUCCESS : FAILED;
}

static const struct scsi_host_template ini_sht = {
	.module = THIS_MODULE,
	.name = "ferrule_isp_sim FC initiator",
	.proc_name = "ferrule_sim_ini",
	.queuecommand = ini_queuecommand,
	.eh_abort_handler = ini_eh_abort,
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
	ip->shost = sh;
	ip->phys = phys;
	ip->index = index;
	ip->wwpn = wwpn;
	ip->wwnn = wwnn;
	mutex_init(&ip->login_mutex);
	init_completion(&ip->els_done);
	init_completion(&ip->abts_done);
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
