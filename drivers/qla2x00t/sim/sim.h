/* SPDX-License-Identifier: GPL-2.0 */
/* ferrule_isp_sim.ko: what sim_glue.c (target HBAs) and sim_ini.c (initiator HBAs) share. */
#ifndef FERRULE_SIM_H
#define FERRULE_SIM_H

#include <linux/types.h>

/* Flags the Rust half returns from write-type calls. */
#define SIM_IRQ (1u << 0)
#define SIM_WORK (1u << 1)

/*
 * Runs fn(model, arg, &flags) under target HBA `hba`'s lock (irqsave), then raises its
 * interrupt / queues its deferred work as the flags ask. fn must not sleep. Returns fn's
 * result, or -ENODEV when there is no such HBA.
 */
typedef int (*sim_tgt_fn)(void *model, void *arg, u32 *flags);
int sim_tgt_call(unsigned int hba, sim_tgt_fn fn, void *arg);
/* Target HBA `hba`'s cable: the firmware model's link and its switch port (process
 * context). 0, -ENODEV, or the model's / switch's refusal. */
int sim_tgt_link(unsigned int hba, bool up);

/* sim_ini.c */
int sim_fabric_init(void);		/* the switch; before any target HBA probes */
void sim_fabric_exit(void);
int sim_ini_target_up(unsigned int hba, u64 wwpn, u64 wwnn, u32 port_id);
void sim_ini_target_down(unsigned int hba);
int sim_ini_init(void);			/* initiator HBAs; after the target HBAs */
void sim_ini_exit(void);
void sim_ini_flush(void);		/* completes finished commands; no locks held */
struct dentry;
void sim_ini_debugfs(struct dentry *root);	/* the "faults" file; after sim_ini_init */

/* ferrule_isp_sim_rs.rs: the target model's fabric side (caller holds the HBA lock) */
int ferrule_sim_rs_plogi(void *s, u8 vp, u32 s_id, u64 wwpn, u64 wwnn, u16 *handle,
			 u32 *flags);
int ferrule_sim_rs_prli(void *s, u8 vp, u32 s_id, u32 *flags);
int ferrule_sim_rs_logo(void *s, u8 vp, u32 s_id, u32 *flags);
int ferrule_sim_rs_port_logout(void *s, u8 vp, u32 s_id, u32 *flags);
int ferrule_sim_rs_abts(void *s, u8 vp, u32 s_id, u16 ox_id, u32 *flags);
int ferrule_sim_rs_fcp_cmnd(void *s, u8 vp, u32 s_id, u16 ox_id, u64 lun, const u8 *cdb,
			    size_t cdb_len, u32 dl, u8 dir, u32 *xaddr, u32 *flags);
/* the switch (caller holds sim_ini_lock) */
void *ferrule_sim_rs_switch_new(void);
void ferrule_sim_rs_switch_free(void *f);
void ferrule_sim_rs_switch_link(void *f, u8 area, bool up);
s32 ferrule_sim_rs_switch_login(void *f, u8 area, u32 phys, u64 wwpn, u64 wwnn, bool target);
int ferrule_sim_rs_switch_logo(void *f, u32 id);
size_t ferrule_sim_rs_switch_targets(void *f, u32 *ids, u64 *wwpns, u64 *wwnns, size_t cap);
u32 ferrule_sim_rs_switch_take_rscn(void *f, u32 id);
/* called by the Rust half's Wire, under a target HBA's lock */
bool ferrule_sim_c_data(u32 hba, u32 s_id, u16 ox_id, u32 xaddr, u32 rel_off, u8 *buf,
			size_t len, bool to_wire);
bool ferrule_sim_c_fcp_rsp(u32 hba, u32 s_id, u16 ox_id, u32 xaddr, u8 status, u8 rsp_code,
			   s64 resid, const u8 *sense, size_t sense_len);
bool ferrule_sim_c_els_reply(u32 hba, u8 vp, u32 s_id, u8 opcode, bool accepted);
bool ferrule_sim_c_abts_reply(u32 hba, u32 s_id, u16 ox_id, bool accepted);

#endif
