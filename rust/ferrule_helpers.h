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

/* Engine: a read-mostly lock per target (init_rwsem is a macro with a lock class) and the
 * block layer's unique tag of a command (the task tag of the local fabric). */
void ferrule_h_init_rwsem(struct rw_semaphore *sem);
unsigned int ferrule_h_scsi_tag(struct scsi_cmnd *cmd);

#endif
