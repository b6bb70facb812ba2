// SPDX-License-Identifier: GPL-2.0
/* C helpers for static inline kernel functions (see ferrule_helpers.h). */
#include "ferrule_helpers.h"
#include <linux/bvec.h>
#include <linux/uio.h>

int ferrule_h_scsi_add_host(struct Scsi_Host *host, struct device *dev)
{
	return scsi_add_host(host, dev);
}

void *ferrule_h_scsi_cmd_priv(struct scsi_cmnd *cmd)
{
	return scsi_cmd_priv(cmd);
}

struct scatterlist *ferrule_h_scsi_sglist(struct scsi_cmnd *cmd)
{
	return scsi_sglist(cmd);
}

unsigned int ferrule_h_scsi_sg_count(struct scsi_cmnd *cmd)
{
	return scsi_sg_count(cmd);
}

unsigned int ferrule_h_scsi_bufflen(struct scsi_cmnd *cmd)
{
	return scsi_bufflen(cmd);
}

void ferrule_h_scsi_set_resid(struct scsi_cmnd *cmd, unsigned int resid)
{
	scsi_set_resid(cmd, resid);
}

void ferrule_h_set_host_byte(struct scsi_cmnd *cmd, unsigned char status)
{
	set_host_byte(cmd, status);
}

void ferrule_h_sg_set_buf(struct scatterlist *sg, const void *buf, unsigned int buflen)
{
	sg_set_buf(sg, buf, buflen);
}

void ferrule_h_configfs_add_default_group(struct config_group *new_group,
					  struct config_group *group)
{
	configfs_add_default_group(new_group, group);
}

long long ferrule_h_file_size(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	return i_size_read(inode);
}

struct file *ferrule_h_bdev_open(const char *path, bool write, void *holder)
{
	blk_mode_t mode = BLK_OPEN_READ | (write ? BLK_OPEN_WRITE : 0);

	return bdev_file_open_by_path(path, mode, holder, NULL);
}

long long ferrule_h_bdev_size(struct file *bdev_file)
{
	return bdev_nr_bytes(file_bdev(bdev_file));
}

/* Segments per vfs_iter_{read,write} call (bvecs on the stack: 16 * 16 bytes). */
#define FERRULE_FILE_IO_BATCH 16

/*
 * Up to FERRULE_FILE_IO_BATCH scatterlist segments per vfs_iter_{read,write} call, as bvecs:
 * the page cache copies straight to/from the command's pages (no bounce buffer). Returns the
 * bytes done (short on EOF) or a negative errno.
 */
long ferrule_h_sg_file_io(struct file *file, struct scatterlist *sgl, unsigned int nents,
			  unsigned long skip, unsigned long len, long long pos, bool write)
{
	struct bio_vec bv[FERRULE_FILE_IO_BATCH];
	struct scatterlist *sg;
	unsigned long done = 0, batch = 0;
	unsigned int i, n = 0;
	loff_t off = pos;

	for_each_sg(sgl, sg, nents, i) {
		unsigned long seg = sg->length, at = sg->offset;

		if (done + batch >= len)
			break;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		at += skip;
		seg -= skip;
		skip = 0;
		if (seg > len - done - batch)
			seg = len - done - batch;
		bvec_set_page(&bv[n++], sg_page(sg), seg, at);
		batch += seg;
		if (n == FERRULE_FILE_IO_BATCH) {
			struct iov_iter it;
			ssize_t r;

			iov_iter_bvec(&it, write ? ITER_SOURCE : ITER_DEST, bv, n, batch);
			r = write ? vfs_iter_write(file, &it, &off, 0) :
				    vfs_iter_read(file, &it, &off, 0);
			if (r < 0)
				return r;
			done += r;
			if ((unsigned long)r != batch)
				return done;
			n = 0;
			batch = 0;
		}
	}
	if (n) {
		struct iov_iter it;
		ssize_t r;

		iov_iter_bvec(&it, write ? ITER_SOURCE : ITER_DEST, bv, n, batch);
		r = write ? vfs_iter_write(file, &it, &off, 0) : vfs_iter_read(file, &it, &off, 0);
		if (r < 0)
			return r;
		done += r;
	}
	return done;
}

void ferrule_h_init_rwsem(struct rw_semaphore *sem)
{
	init_rwsem(sem);
}

unsigned int ferrule_h_scsi_tag(struct scsi_cmnd *cmd)
{
	return blk_mq_unique_tag(scsi_cmd_to_rq(cmd));
}
