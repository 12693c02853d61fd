/* SPDX-License-Identifier: Apache-2.0 */
/* export_rauc_sqfs.c - write the squashfs of a RAUC bundle with libsquashfs
 * (squashfs-tools-ng), as `mksquashfs DIR OUT -all-root -noappend
 * -no-xattrs` makes it for rauc: one folder of regular files, owner 0:0,
 * every time the given build time, zstd blocks of 128 KiB, padded to a
 * multiple of 4096 bytes. File contents are streamed in (the block
 * processor holds a bounded backlog of blocks), so memory does not grow
 * with the images. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>

#include "peer_rauc.h"

#define SQW_MAX_FILES (OAB_RAUC_MAX_IMAGES + 8)
#define SQW_BLOCK_SIZE (128 * 1024)
#define SQW_ZSTD_LEVEL 3

struct sqw_file {
	char *name;
	sqfs_inode_generic_t *inode; /* the block processor's until finish */
};

struct oab_rauc_sqw {
	struct oab_rauc_sqfile f;
	sqfs_super_t super;
	sqfs_compressor_t *cmp, *uncmp;
	sqfs_block_writer_t *bw;
	sqfs_frag_table_t *frag;
	sqfs_block_processor_t *proc;
	sqfs_id_table_t *ids;
	struct sqw_file files[SQW_MAX_FILES];
	size_t n;
	int open_file;
	uint32_t mtime;
};

static int sqw_fail(struct oab_rauc_sqw *w, int code, const char *what, struct oab_err *err)
{
	if (code == SQFS_ERROR_IO && w->f.io_errno)
		return oab_err_set(err, OAB_E_IO, "writing the squashfs (%s): %s", what,
				   strerror(w->f.io_errno));
	if (code == SQFS_ERROR_ALLOC)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	return oab_err_set(err, OAB_E_INTERNAL, "writing the squashfs (%s): %s", what,
			   oab_rauc_sqfs_strerror(code));
}

void oab_rauc_sqw_free(struct oab_rauc_sqw *w)
{
	if (!w)
		return;
	sqfs_destroy(w->proc);
	sqfs_destroy(w->frag);
	sqfs_destroy(w->bw);
	sqfs_destroy(w->ids);
	sqfs_destroy(w->uncmp);
	sqfs_destroy(w->cmp);
	for (size_t i = 0; i < w->n; i++) {
		free(w->files[i].name);
		sqfs_free(w->files[i].inode);
	}
	free(w);
}

int oab_rauc_sqw_open(struct oab_rauc_sqw **out, int fd, int64_t mtime, unsigned threads,
		      struct oab_err *err)
{
	struct oab_rauc_sqw *w = calloc(1, sizeof(*w));
	sqfs_compressor_config_t cfg;
	sqfs_block_processor_desc_t desc;
	int r;

	*out = NULL;
	if (!w)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	oab_rauc_sqfile_init(&w->f, fd, 0, UINT64_MAX, 1);
	w->mtime = mtime < 0 ? 0 : mtime > UINT32_MAX ? UINT32_MAX : (uint32_t)mtime;
	if (sqfs_compressor_config_init(&cfg, SQFS_COMP_ZSTD, SQW_BLOCK_SIZE, 0) != 0) {
		oab_rauc_sqw_free(w);
		return oab_err_set(err, OAB_E_INTERNAL, "libsquashfs has no zstd compressor");
	}
	cfg.level = SQW_ZSTD_LEVEL;
	if ((r = sqfs_compressor_create(&cfg, &w->cmp)) != 0)
		goto fail;
	cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	if ((r = sqfs_compressor_create(&cfg, &w->uncmp)) != 0)
		goto fail;
	if ((r = sqfs_super_init(&w->super, SQW_BLOCK_SIZE, w->mtime, SQFS_COMP_ZSTD)) != 0 ||
	    (r = sqfs_super_write(&w->super, &w->f.base)) != 0)
		goto fail;
	if ((r = w->cmp->write_options(w->cmp, &w->f.base)) < 0)
		goto fail;
	if (r > 0)
		w->super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;
	w->bw = sqfs_block_writer_create(&w->f.base, OAB_RAUC_BLOCK, 0);
	w->frag = sqfs_frag_table_create(0);
	w->ids = sqfs_id_table_create(0);
	if (!w->bw || !w->frag || !w->ids) {
		r = SQFS_ERROR_ALLOC;
		goto fail;
	}
	memset(&desc, 0, sizeof(desc));
	desc.size = sizeof(desc);
	desc.max_block_size = SQW_BLOCK_SIZE;
	desc.num_workers = threads ? threads : 1;
	desc.max_backlog = 8 * desc.num_workers; /* bounded memory: blocks in flight */
	desc.cmp = w->cmp;
	desc.wr = w->bw;
	desc.tbl = w->frag;
	desc.file = &w->f.base;
	desc.uncmp = w->uncmp;
	if ((r = sqfs_block_processor_create_ex(&desc, &w->proc)) != 0)
		goto fail;
	*out = w;
	return 0;
fail:
	sqw_fail(w, r, "setup", err);
	oab_rauc_sqw_free(w);
	return -1;
}

int oab_rauc_sqw_begin(struct oab_rauc_sqw *w, const char *name, struct oab_err *err)
{
	struct sqw_file *f;
	int r;

	if (w->open_file || w->n == SQW_MAX_FILES)
		return oab_err_set(err, OAB_E_INTERNAL, "squashfs: too many files");
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->files[i].name, name) == 0)
			return oab_err_set(err, OAB_E_USAGE, "squashfs: two files named '%s'", name);
	f = &w->files[w->n];
	if (!(f->name = strdup(name)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	w->n++;
	if ((r = sqfs_block_processor_begin_file(w->proc, &f->inode, NULL, 0)) != 0)
		return sqw_fail(w, r, name, err);
	w->open_file = 1;
	return 0;
}

int oab_rauc_sqw_append(struct oab_rauc_sqw *w, const void *buf, size_t n, struct oab_err *err)
{
	int r = sqfs_block_processor_append(w->proc, buf, n);

	return r ? sqw_fail(w, r, w->files[w->n - 1].name, err) : 0;
}

int oab_rauc_sqw_end(struct oab_rauc_sqw *w, struct oab_err *err)
{
	int r = sqfs_block_processor_end_file(w->proc);

	w->open_file = 0;
	return r ? sqw_fail(w, r, w->files[w->n - 1].name, err) : 0;
}

int oab_rauc_sqw_add(struct oab_rauc_sqw *w, const char *name, const void *buf, size_t n,
		     struct oab_err *err)
{
	if (oab_rauc_sqw_begin(w, name, err) < 0)
		return -1;
	if (n && oab_rauc_sqw_append(w, buf, n, err) < 0)
		return -1;
	return oab_rauc_sqw_end(w, err);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct sqw_file *const *)a)->name,
		      (*(const struct sqw_file *const *)b)->name);
}

int oab_rauc_sqw_finish(struct oab_rauc_sqw *w, uint64_t *size, struct oab_err *err)
{
	sqfs_meta_writer_t *im = NULL, *dm = NULL;
	sqfs_dir_writer_t *dw = NULL;
	sqfs_inode_generic_t *root = NULL;
	struct sqw_file *sorted[SQW_MAX_FILES];
	sqfs_u64 blk;
	sqfs_u32 off;
	static const unsigned char zero[OAB_RAUC_BLOCK];
	const char *what = "data";
	int r;

	if ((r = sqfs_block_processor_finish(w->proc)) != 0)
		goto fail;
	what = "tables";
	im = sqfs_meta_writer_create(&w->f.base, w->cmp, 0);
	dm = sqfs_meta_writer_create(&w->f.base, w->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
	dw = dm ? sqfs_dir_writer_create(dm, 0) : NULL;
	if (!im || !dm || !dw) {
		r = SQFS_ERROR_ALLOC;
		goto fail;
	}
	/* Entries sorted by name (the kernel looks them up in order);
	 * inodes 1..n for the files, n + 1 for the root, as mksquashfs. */
	for (size_t i = 0; i < w->n; i++)
		sorted[i] = &w->files[i];
	qsort(sorted, w->n, sizeof(sorted[0]), by_name);
	w->super.inode_table_start = w->f.size;
	if ((r = sqfs_dir_writer_begin(dw, 0)) != 0)
		goto fail;
	for (size_t i = 0; i < w->n; i++) {
		sqfs_inode_generic_t *ino = sorted[i]->inode;

		ino->base.mode = 0100644;
		ino->base.mod_time = w->mtime;
		ino->base.inode_number = (sqfs_u32)(i + 1);
		if ((r = sqfs_inode_set_xattr_index(ino, 0xFFFFFFFF)) != 0 ||
		    (r = sqfs_id_table_id_to_index(w->ids, 0, &ino->base.uid_idx)) != 0 ||
		    (r = sqfs_id_table_id_to_index(w->ids, 0, &ino->base.gid_idx)) != 0)
			goto fail;
		sqfs_meta_writer_get_position(im, &blk, &off);
		if ((r = sqfs_meta_writer_write_inode(im, ino)) != 0 ||
		    (r = sqfs_dir_writer_add_entry(dw, sorted[i]->name, (sqfs_u32)(i + 1),
						   (blk << 16) | off, 0100644)) != 0)
			goto fail;
	}
	if ((r = sqfs_dir_writer_end(dw)) != 0)
		goto fail;
	if (!(root = sqfs_dir_writer_create_inode(dw, 0, 0xFFFFFFFF, 0))) {
		r = SQFS_ERROR_ALLOC;
		goto fail;
	}
	if (root->base.type == SQFS_INODE_DIR)
		root->data.dir.nlink = 2;
	else
		root->data.dir_ext.nlink = 2;
	root->base.mode = 040755;
	root->base.mod_time = w->mtime;
	root->base.inode_number = (sqfs_u32)(w->n + 1);
	if ((r = sqfs_id_table_id_to_index(w->ids, 0, &root->base.uid_idx)) != 0 ||
	    (r = sqfs_id_table_id_to_index(w->ids, 0, &root->base.gid_idx)) != 0)
		goto fail;
	sqfs_meta_writer_get_position(im, &blk, &off);
	w->super.root_inode_ref = (blk << 16) | off;
	if ((r = sqfs_meta_writer_write_inode(im, root)) != 0 || (r = sqfs_meta_writer_flush(im)) != 0 ||
	    (r = sqfs_meta_writer_flush(dm)) != 0)
		goto fail;
	w->super.directory_table_start = w->f.size;
	if ((r = sqfs_meta_write_write_to_file(dm)) != 0)
		goto fail;
	w->super.inode_count = (sqfs_u32)(w->n + 1);
	if ((r = sqfs_frag_table_write(w->frag, &w->f.base, &w->super, w->cmp)) != 0 ||
	    (r = sqfs_id_table_write(w->ids, &w->f.base, &w->super, w->cmp)) != 0)
		goto fail;
	w->super.flags |= SQFS_FLAG_NO_XATTRS;
	w->super.flags &= (sqfs_u16)~SQFS_FLAG_EXPORTABLE;
	w->super.xattr_id_table_start = 0xFFFFFFFFFFFFFFFFULL;
	w->super.export_table_start = 0xFFFFFFFFFFFFFFFFULL;
	w->super.bytes_used = w->f.size;
	if ((r = sqfs_super_write(&w->super, &w->f.base)) != 0)
		goto fail;
	/* mksquashfs pads to 4 KiB; RAUC's verity needs it (and > 4096). */
	if (w->f.size % OAB_RAUC_BLOCK &&
	    (r = w->f.base.write_at(&w->f.base, w->f.size, zero,
				    OAB_RAUC_BLOCK - w->f.size % OAB_RAUC_BLOCK)) != 0)
		goto fail;
	if (w->f.size <= OAB_RAUC_BLOCK &&
	    (r = w->f.base.write_at(&w->f.base, w->f.size, zero, OAB_RAUC_BLOCK)) != 0)
		goto fail;
	*size = w->f.size;
	r = 0;
fail:
	sqfs_free(root);
	sqfs_destroy(dw);
	sqfs_destroy(dm);
	sqfs_destroy(im);
	return r ? sqw_fail(w, r, what, err) : 0;
}
