// SPDX-License-Identifier: GPL-2.0
/* C helpers for static inline kernel functions (see ferrule_helpers.h). */
#include "ferrule_helpers.h"
#include <linux/bvec.h>
#include <linux/uio.h>
#include <linux/moduleparam.h>
#include <linux/export.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/scatterlist.h>
#include <linux/dma-mapping.h>
#include <linux/workqueue.h>

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

/* Segments per vfs_iter_{read,write} call (bvecs on the stack: 64 * 16 bytes; 256 KiB of
 * 4 KiB pages, so a typical command is one call, as in LIO). */
#define FERRULE_FILE_IO_BATCH 64

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

unsigned int ferrule_h_scsi_tag(struct scsi_cmnd *cmd)
{
	return blk_mq_unique_tag(scsi_cmd_to_rq(cmd));
}

struct page *ferrule_h_sg_page(struct scatterlist *sg)
{
	return sg_page(sg);
}

unsigned int ferrule_h_bdev_logical_block_size(struct file *bdev_file)
{
	return bdev_logical_block_size(file_bdev(bdev_file));
}

unsigned int ferrule_h_bdev_dma_alignment(struct file *bdev_file)
{
	return bdev_dma_alignment(file_bdev(bdev_file));
}

unsigned int ferrule_h_bdev_max_discard_sectors(struct file *bdev_file)
{
	return bdev_max_discard_sectors(file_bdev(bdev_file));
}

void ferrule_h_bio_batch_start(struct ferrule_bio_batch *b)
{
	atomic_set(&b->pending, 1);
	atomic_set(&b->error, 0);
	init_completion(&b->done);
	blk_start_plug(&b->plug);
}

/*
 * Submits what the plug holds, drops the submitter's count and waits for the last bio.
 * complete() runs under the completion's lock and wait_for_completion() takes it before
 * returning, so the batch may leave the stack as soon as this returns.
 */
int ferrule_h_bio_batch_wait(struct ferrule_bio_batch *b)
{
	blk_finish_plug(&b->plug);
	if (!atomic_dec_and_test(&b->pending))
		wait_for_completion_io(&b->done);
	return atomic_read(&b->error);
}

static void ferrule_bio_end_io(struct bio *bio)
{
	struct ferrule_bio_batch *b = bio->bi_private;

	if (bio->bi_status)
		atomic_cmpxchg(&b->error, 0, blk_status_to_errno(bio->bi_status));
	bio_put(bio);
	if (atomic_dec_and_test(&b->pending))
		complete(&b->done);
}

struct bio *ferrule_h_bio_alloc(struct block_device *bdev, unsigned short nr_vecs, bool write,
				bool fua, unsigned long long sector, struct ferrule_bio_batch *b)
{
	blk_opf_t opf = write ? REQ_OP_WRITE | REQ_SYNC | (fua ? REQ_FUA : 0) : REQ_OP_READ;
	struct bio *bio = bio_alloc(bdev, nr_vecs, opf, GFP_NOIO);

	if (!bio)
		return NULL;
	bio->bi_iter.bi_sector = sector;
	bio->bi_private = b;
	bio->bi_end_io = ferrule_bio_end_io;
	return bio;
}

unsigned int ferrule_h_bio_size(struct bio *bio)
{
	return bio->bi_iter.bi_size;
}

/* Counts the bio in its batch and submits it; an empty bio is just freed. */
void ferrule_h_bio_submit(struct bio *bio)
{
	struct ferrule_bio_batch *b = bio->bi_private;

	if (!bio->bi_iter.bi_size) {
		bio_put(bio);
		return;
	}
	atomic_inc(&b->pending);
	submit_bio(bio);
}

int ferrule_h_bdev_zeroout(struct block_device *bdev, unsigned long long sector,
			   unsigned long long nr_sects, bool unmap)
{
	return blkdev_issue_zeroout(bdev, sector, nr_sects, GFP_KERNEL,
				    unmap ? 0 : BLKDEV_ZERO_NOUNMAP);
}

struct file *ferrule_h_open_in_dir(struct file *dir, const char *name, int flags,
				   unsigned short mode)
{
	return file_open_root(&dir->f_path, name, flags, mode);
}

void ferrule_h_init_completion(struct completion *c)
{
	init_completion(c);
}

void ferrule_h_reinit_completion(struct completion *c)
{
	reinit_completion(c);
}

/* ferrule.qla2x00t_fw=<file>: one firmware file for every bound ISP, instead of the
 * per-chip default (ql2400_fw.bin .. ql2800_fw.bin). */
static char *qla2x00t_fw;
module_param(qla2x00t_fw, charp, 0444);
MODULE_PARM_DESC(qla2x00t_fw, "qla2x00t: firmware file to load instead of the per-chip default");

const char *ferrule_h_qla_fw_override(void)
{
	return qla2x00t_fw;
}

/*
 * Soft ISPs (ferrule_soft_isp.h): the exported entry points and the module-level list of
 * attached ones. Bring-up and teardown are Rust (qla2x00t/softbus.rs); the list and its mutex
 * live here so add/remove/unload serialise on one lock.
 */
int ferrule_rs_soft_isp_attach(struct ferrule_soft_isp *isp);
void ferrule_rs_soft_isp_detach(struct ferrule_soft_isp *isp);

struct ferrule_soft_isp_node {
	struct list_head node;
	struct ferrule_soft_isp *isp;
};

static DEFINE_MUTEX(soft_isp_lock);
static LIST_HEAD(soft_isps);

static struct ferrule_soft_isp_node *soft_isp_find(struct ferrule_soft_isp *isp)
{
	struct ferrule_soft_isp_node *n;

	list_for_each_entry(n, &soft_isps, node)
		if (n->isp == isp)
			return n;
	return NULL;
}

int ferrule_soft_isp_add(struct ferrule_soft_isp *isp)
{
	struct ferrule_soft_isp_node *n;
	int ret;

	if (!isp || !isp->ops || !isp->ops->read32 || !isp->ops->write32 ||
	    !isp->ops->read16 || !isp->ops->write16 || !isp->dev)
		return -EINVAL;
	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	n->isp = isp;
	mutex_lock(&soft_isp_lock);
	if (soft_isp_find(isp)) {
		ret = -EEXIST;
	} else {
		isp->driver_priv = NULL;
		ret = ferrule_rs_soft_isp_attach(isp);
		if (!ret)
			list_add_tail(&n->node, &soft_isps);
	}
	mutex_unlock(&soft_isp_lock);
	if (ret)
		kfree(n);
	return ret;
}
EXPORT_SYMBOL_GPL(ferrule_soft_isp_add);

void ferrule_soft_isp_remove(struct ferrule_soft_isp *isp)
{
	struct ferrule_soft_isp_node *n;

	mutex_lock(&soft_isp_lock);
	n = soft_isp_find(isp);
	if (n) {
		list_del(&n->node);
		ferrule_rs_soft_isp_detach(isp);
	}
	mutex_unlock(&soft_isp_lock);
	kfree(n);
}
EXPORT_SYMBOL_GPL(ferrule_soft_isp_remove);

void ferrule_h_soft_isp_remove_all(void)
{
	struct ferrule_soft_isp_node *n, *tmp;

	mutex_lock(&soft_isp_lock);
	list_for_each_entry_safe(n, tmp, &soft_isps, node) {
		list_del(&n->node);
		ferrule_rs_soft_isp_detach(n->isp);
		kfree(n);
	}
	mutex_unlock(&soft_isp_lock);
}

struct scatterlist *ferrule_h_fc_sgl_alloc(unsigned long long len, unsigned int *nents)
{
	return sgl_alloc(len, GFP_KERNEL, nents);
}

void ferrule_h_fc_sgl_free(struct scatterlist *sgl)
{
	sgl_free(sgl);
}

int ferrule_h_fc_dma_map(struct device *dev, struct scatterlist *sgl, unsigned int nents,
			 bool to_device)
{
	return dma_map_sg(dev, sgl, nents, to_device ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
}

void ferrule_h_fc_dma_unmap(struct device *dev, struct scatterlist *sgl, unsigned int nents,
			    bool to_device)
{
	dma_unmap_sg(dev, sgl, nents, to_device ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
}

unsigned long long ferrule_h_sg_dma_address(struct scatterlist *sg)
{
	return sg_dma_address(sg);
}

unsigned int ferrule_h_sg_dma_len(struct scatterlist *sg)
{
	return sg_dma_len(sg);
}

struct scatterlist *ferrule_h_sg_next(struct scatterlist *sg)
{
	return sg_next(sg);
}

struct workqueue_struct *ferrule_h_alloc_fc_wq(unsigned int hba)
{
	return alloc_workqueue("ferrule_fc%u", WQ_UNBOUND | WQ_MEM_RECLAIM, 0, hba);
}
