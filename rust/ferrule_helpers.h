/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for static inline kernel functions and macros that Rust cannot call directly.
 * Module-private names (ferrule_h_*); implemented in ferrule_helpers.c.
 */
#ifndef FERRULE_HELPERS_H
#define FERRULE_HELPERS_H

#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_host.h>
#include <linux/scatterlist.h>
#include <linux/configfs.h>
#include <linux/fs.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/completion.h>
#include "ferrule_soft_isp.h"

int ferrule_h_scsi_add_host(struct Scsi_Host *host, struct device *dev);
void *ferrule_h_scsi_cmd_priv(struct scsi_cmnd *cmd);
struct scatterlist *ferrule_h_scsi_sglist(struct scsi_cmnd *cmd);
unsigned int ferrule_h_scsi_sg_count(struct scsi_cmnd *cmd);
unsigned int ferrule_h_scsi_bufflen(struct scsi_cmnd *cmd);
void ferrule_h_scsi_set_resid(struct scsi_cmnd *cmd, unsigned int resid);
void ferrule_h_set_host_byte(struct scsi_cmnd *cmd, unsigned char status);
void ferrule_h_sg_set_buf(struct scatterlist *sg, const void *buf, unsigned int buflen);

/* configfs (static inlines) */
void ferrule_h_configfs_add_default_group(struct config_group *new_group,
					  struct config_group *group);
/* Backing files: i_size of an open regular file (-EINVAL for other kinds), block device open (BLK_OPEN_* are macros) and size */
long long ferrule_h_file_size(struct file *file);
struct file *ferrule_h_bdev_open(const char *path, bool write, void *holder);
long long ferrule_h_bdev_size(struct file *bdev_file);
/* fileio: `len` bytes of a scatterlist (after `skip`) from/to `file` at `pos`, zero-copy */
long ferrule_h_sg_file_io(struct file *file, struct scatterlist *sgl, unsigned int nents,
			  unsigned long skip, unsigned long len, long long pos, bool write);
struct page *ferrule_h_sg_page(struct scatterlist *sg);

/* blockio: the bdev's limits */
unsigned int ferrule_h_bdev_logical_block_size(struct file *bdev_file);
unsigned int ferrule_h_bdev_dma_alignment(struct file *bdev_file);
unsigned int ferrule_h_bdev_max_discard_sectors(struct file *bdev_file);
/*
 * blockio: the bios of one backend call, on the caller's stack. `pending` counts the bios in
 * flight plus one for the submitter; the last one out completes `done`; `error` keeps the
 * first failed bio's errno. The plug batches submission until the wait.
 */
struct ferrule_bio_batch {
	atomic_t pending;
	atomic_t error;
	struct completion done;
	struct blk_plug plug;
};
void ferrule_h_bio_batch_start(struct ferrule_bio_batch *b);
int ferrule_h_bio_batch_wait(struct ferrule_bio_batch *b);
struct bio *ferrule_h_bio_alloc(struct block_device *bdev, unsigned short nr_vecs, bool write,
				bool fua, unsigned long long sector, struct ferrule_bio_batch *b);
unsigned int ferrule_h_bio_size(struct bio *bio);
void ferrule_h_bio_submit(struct bio *bio);
int ferrule_h_bdev_zeroout(struct block_device *bdev, unsigned long long sector,
			   unsigned long long nr_sects, bool unmap);

/* Engine: the block layer's unique tag of a command (the task tag of the local fabric). */
unsigned int ferrule_h_scsi_tag(struct scsi_cmnd *cmd);

/* APTPL images: open `name` relative to an open directory (the worker threads that save
 * them may have another root than the process that configured the target). */
struct file *ferrule_h_open_in_dir(struct file *dir, const char *name, int flags,
				   unsigned short mode);

/* qla2x00t: the mailbox completion (init/reinit are static inlines) and the firmware-name
 * override (a string module parameter; the Rust module! macro has no string type). */
void ferrule_h_init_completion(struct completion *c);
void ferrule_h_reinit_completion(struct completion *c);
const char *ferrule_h_qla_fw_override(void);
/* Soft ISPs (ferrule_soft_isp.h): detach any still attached at module unload. */
void ferrule_h_soft_isp_remove_all(void);

/* qla2x00t data path: one FC command's buffer is a page scatterlist (sgl_alloc), mapped for
 * the HBA with dma_map_sg; the CTIO7 data segments are its DMA addresses and lengths. */
struct scatterlist *ferrule_h_fc_sgl_alloc(unsigned long long len, unsigned int *nents);
void ferrule_h_fc_sgl_free(struct scatterlist *sgl);
int ferrule_h_fc_dma_map(struct device *dev, struct scatterlist *sgl, unsigned int nents,
			 bool to_device);
void ferrule_h_fc_dma_unmap(struct device *dev, struct scatterlist *sgl, unsigned int nents,
			    bool to_device);
unsigned long long ferrule_h_sg_dma_address(struct scatterlist *sg);
unsigned int ferrule_h_sg_dma_len(struct scatterlist *sg);
struct scatterlist *ferrule_h_sg_next(struct scatterlist *sg);
/* An unbound, reclaim-safe workqueue for one HBA's commands. */
struct workqueue_struct *ferrule_h_alloc_fc_wq(unsigned int hba);

#endif
