/* reader.c - the streaming bundle reader behind verify, inspect and
 * extract. Order of work: manifest.yaml and manifest.sig (bounded), the
 * signature and trust, then the signed manifest and policy, then each
 * member as it streams past, one stored chunk at a time: a chunk is only
 * decompressed after its SHA-256 matched the signed manifest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>

#include "internal.h"

enum mode { MODE_INSPECT, MODE_VERIFY, MODE_EXTRACT };

struct rd {
	struct archive *a;
	struct archive_entry *e; /* current header (owned by a) */
	const char *label;
	struct oab_report *rep;
	struct oab_err *err;
	unsigned char *buf;
	int at_eof;
};

/* Next header, with the member-level checks every member gets. Returns 1
 * with rd->e set, 0 at the end of the archive, -1 on error. */
static int next_member(struct rd *r)
{
	int st = archive_read_next_header(r->a, &r->e);
	const char *name;
	char esc[400];
	int type;

	if (st == ARCHIVE_EOF) {
		r->at_eof = 1;
		return 0;
	}
	if (st != ARCHIVE_OK)
		return oab_err_set(r->err, OAB_E_REJECTED, "%s: damaged or truncated archive: %s",
				   r->label, archive_error_string(r->a));
	name = archive_entry_pathname(r->e);
	if (!name)
		return oab_err_set(r->err, OAB_E_REJECTED, "%s: member without a name", r->label);
	oab_escape(name, strlen(name), esc, sizeof(esc));
	if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 ||
	    strstr(name, "/../") || (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0) ||
	    strchr(name, '\\'))
		return oab_err_set(r->err, OAB_E_REJECTED, "member '%s': unsafe path", esc);
	type = (int)archive_entry_filetype(r->e);
	if (archive_entry_hardlink(r->e))
		return oab_err_set(r->err, OAB_E_REJECTED, "member '%s': is a hard link", esc);
	if (type != AE_IFREG)
		return oab_err_set(r->err, OAB_E_REJECTED, "member '%s': is a %s, not a regular file",
				   esc, type == AE_IFLNK ? "symbolic link" : type == AE_IFDIR ? "directory"
				   : type == AE_IFCHR || type == AE_IFBLK ? "device"
				   : type == AE_IFIFO ? "fifo" : "special file");
	if (archive_entry_sparse_count(r->e) > 0)
		return oab_err_set(r->err, OAB_E_REJECTED, "member '%s': is a sparse file", esc);
	if (!archive_entry_size_is_set(r->e) || archive_entry_size(r->e) < 0)
		return oab_err_set(r->err, OAB_E_REJECTED, "member '%s': no size", esc);
	return 1;
}

int oab_member_read_small(struct archive *a, struct archive_entry *e, size_t limit,
			  unsigned char **out, size_t *len, struct oab_err *err)
{
	const char *name = archive_entry_pathname(e);
	la_int64_t sz = archive_entry_size(e);
	unsigned char *b;
	la_ssize_t n;

	if (archive_entry_filetype(e) != AE_IFREG || sz < 0)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': not a regular file", name);
	if (sz > (la_int64_t)limit)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': %lld bytes, limit %zu",
				   name, (long long)sz, limit);
	b = malloc((size_t)sz + 1);
	if (!b)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	n = archive_read_data(a, b, (size_t)sz + 1);
	if (n != (la_ssize_t)sz) {
		free(b);
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': bundle truncated or damaged (%s)",
				   name, n < 0 ? archive_error_string(a) : "short read");
	}
	b[sz] = '\0';
	*out = b;
	*len = (size_t)sz;
	return 0;
}

/* Read-ahead for oab_member_chunks: a thread reads and checks chunk k+1
 * while the caller's sink consumes chunk k. */
struct chunk_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct archive *a;
	const struct oab_item *it;
	unsigned char *buf[2];
	size_t len[2];
	int ready[2];
	int status; /* 0 reading, 1 all read, -1 / -2 failed (see rerr) */
	int stop;   /* the consumer gave up */
	struct oab_err rerr;
};

/* Read chunk k (want bytes) into buf and check it; 0, -1 or -2. */
static int read_chunk(struct chunk_pipe *p, size_t k, uint64_t at, size_t want,
		      unsigned char *buf)
{
	const struct oab_item *it = p->it;
	unsigned char md[32];
	size_t fill = 0;

	while (fill < want) {
		la_ssize_t n = archive_read_data(p->a, buf + fill, want - fill);

		if (n < 0)
			return oab_err_set(&p->rerr, OAB_E_REJECTED,
					   "member '%s': bundle truncated or damaged (%s)", it->member,
					   archive_error_string(p->a));
		if (n == 0)
			return oab_err_set(&p->rerr, OAB_E_REJECTED,
					   "member '%s': truncated (%llu of %llu bytes)", it->member,
					   (unsigned long long)(at + fill),
					   (unsigned long long)it->stored_size);
		fill += (size_t)n;
	}
	if (k >= it->n_chunks)
		return oab_err_set(&p->rerr, OAB_E_INTERNAL, "member '%s': chunk list too short",
				   it->member);
	if (!EVP_Digest(buf, want, md, NULL, EVP_sha256(), NULL))
		return oab_err_ssl(&p->rerr, OAB_E_INTERNAL, "SHA-256 failed");
	if (CRYPTO_memcmp(md, it->chunk_sha256[k], 32) != 0) {
		char w[65], h[65];

		oab_hex(it->chunk_sha256[k], 32, w);
		oab_hex(md, 32, h);
		oab_err_set(&p->rerr, OAB_E_REJECTED,
			    "member '%s': stored chunk %zu (bytes %llu-%llu) sha256 mismatch (manifest %s, bundle %s)",
			    it->member, k, (unsigned long long)at, (unsigned long long)(at + want - 1),
			    w, h);
		return -2;
	}
	return 0;
}

static void *chunk_reader(void *arg)
{
	struct chunk_pipe *p = arg;
	const struct oab_item *it = p->it;
	uint64_t at = 0;
	int st = 1;

	for (size_t k = 0; at < it->stored_size; k++) {
		size_t want = it->stored_size - at < it->chunk_size ? (size_t)(it->stored_size - at)
								    : it->chunk_size;
		int slot = (int)(k % 2), rc;

		pthread_mutex_lock(&p->mu);
		while (p->ready[slot] && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		pthread_mutex_unlock(&p->mu);
		rc = read_chunk(p, k, at, want, p->buf[slot]);
		pthread_mutex_lock(&p->mu);
		if (rc < 0) {
			p->status = rc;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		p->len[slot] = want;
		p->ready[slot] = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		at += want;
	}
	pthread_mutex_lock(&p->mu);
	p->status = st;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int oab_member_chunks(struct archive *a, const struct oab_item *it, oab_chunk_sink sink,
		      void *arg, oab_progress_fn progress, void *parg, struct oab_err *err)
{
	struct chunk_pipe p = {.a = a, .it = it};
	pthread_t th;
	uint64_t done = 0;
	int rc = 0;

	p.buf[0] = malloc(it->chunk_size);
	p.buf[1] = malloc(it->chunk_size);
	if (!p.buf[0] || !p.buf[1]) {
		free(p.buf[0]);
		free(p.buf[1]);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	if (pthread_create(&th, NULL, chunk_reader, &p) != 0) {
		rc = oab_err_set(err, OAB_E_INTERNAL, "cannot start a reading thread");
		goto out;
	}
	for (size_t k = 0;; k++) {
		int slot = (int)(k % 2);

		pthread_mutex_lock(&p.mu);
		while (!p.ready[slot] && p.status == 0)
			pthread_cond_wait(&p.cv, &p.mu);
		if (!p.ready[slot]) { /* everything read, or the reader failed */
			rc = p.status < 0 ? p.status : 0;
			pthread_mutex_unlock(&p.mu);
			if (rc < 0)
				*err = p.rerr;
			break;
		}
		pthread_mutex_unlock(&p.mu);
		rc = sink(arg, p.buf[slot], p.len[slot], err);
		done += p.len[slot];
		pthread_mutex_lock(&p.mu);
		p.ready[slot] = 0;
		if (rc < 0)
			p.stop = 1;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		if (rc < 0)
			break;
		if (progress)
			progress(parg, it->name, done, it->stored_size);
	}
	pthread_join(th, NULL);
out:
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	free(p.buf[0]);
	free(p.buf[1]);
	return rc;
}

static int sink_unpack(void *arg, const unsigned char *p, size_t n, struct oab_err *err)
{
	return oab_unpack_feed(arg, p, n, err) < 0 ? -3 : 0;
}

/* Check one member as it streams past. Compressed: chunk by chunk, each
 * stored chunk checked before it is decompressed; stored as is: hashed
 * as it is written (the extract temp file is only linked if it matched).
 * Returns 0 if it checked out, -2 if its bytes are wrong but the archive
 * is still in step (the next member can be checked), -1 otherwise. */
static int check_member(struct rd *r, const struct oab_item *it, int out_fd,
			oab_progress_fn progress, void *parg)
{
	const char *name = archive_entry_pathname(r->e);
	struct oab_unpack *u = NULL;
	char want[65], check[OAB_MAX_NAME + 64];
	int rc = -1;

	snprintf(check, sizeof(check), "member %s", it->member);
	if (strcmp(name, it->member) != 0) {
		char esc[400];

		oab_escape(name, strlen(name), esc, sizeof(esc));
		oab_report_check(r->rep, 0, check, "found '%s' in its place", esc);
		return oab_err_set(r->err, OAB_E_REJECTED,
				   "member '%s': unexpected here (expected '%s': members missing, extra or out of order)",
				   esc, it->member);
	}
	if ((uint64_t)archive_entry_size(r->e) != it->stored_size) {
		oab_report_check(r->rep, 0, check, "stored size: manifest %llu, bundle %lld",
				 (unsigned long long)it->stored_size, (long long)archive_entry_size(r->e));
		return oab_err_set(r->err, OAB_E_REJECTED,
				   "member '%s': stored size mismatch (manifest %llu, bundle %lld)",
				   it->member, (unsigned long long)it->stored_size,
				   (long long)archive_entry_size(r->e));
	}
	u = oab_unpack_new(it, out_fd, r->err);
	if (!u)
		goto out;
	if (it->compression == OAB_COMP_ZSTD) {
		int st = oab_member_chunks(r->a, it, sink_unpack, u, progress, parg, r->err);

		if (st == -3 || st == -2)
			goto fail_content;
		if (st < 0) {
			oab_report_check(r->rep, 0, check, "%s", r->err->msg);
			goto out;
		}
	} else {
		uint64_t got = 0;

		for (;;) {
			la_ssize_t n = archive_read_data(r->a, r->buf, OAB_IO_BUF);

			if (n < 0) {
				oab_err_set(r->err, OAB_E_REJECTED,
					    "member '%s': bundle truncated or damaged (%s)", it->member,
					    archive_error_string(r->a));
				goto out;
			}
			if (n == 0)
				break;
			got += (uint64_t)n;
			if (oab_unpack_feed(u, r->buf, (size_t)n, r->err) < 0)
				goto fail_content;
			if (progress)
				progress(parg, it->name, got, it->stored_size);
		}
		if (got != it->stored_size) {
			oab_report_check(r->rep, 0, check, "truncated");
			oab_err_set(r->err, OAB_E_REJECTED, "member '%s': truncated (%llu of %llu bytes)",
				    it->member, (unsigned long long)got,
				    (unsigned long long)it->stored_size);
			goto out;
		}
	}
	if (oab_unpack_finish(u, r->err) < 0)
		goto fail_content;
	oab_hex(it->sha256, 32, want);
	oab_report_check(r->rep, 1, check, "%llu bytes, sha256 %s",
			 (unsigned long long)it->size, want);
	rc = 0;
	goto out;
fail_content:
	oab_report_check(r->rep, 0, check, "%s", r->err->msg);
	if (r->err->code == OAB_E_REJECTED)
		rc = -2;
out:
	oab_unpack_free(u);
	return rc;
}

static int wanted(const struct oab_extract_opts *xo, const char *name)
{
	if (!xo->n_names)
		return 1;
	for (size_t i = 0; i < xo->n_names; i++)
		if (strcmp(xo->names[i], name) == 0)
			return 1;
	return 0;
}

static int process(int fd, const char *label, enum mode mode, const struct oab_verify_opts *vo,
		   const struct oab_extract_opts *xo, struct oab_report **report,
		   struct oab_err *err)
{
	struct oab_report *rep = oab_report_new();
	struct rd r = {.label = label ? label : "bundle", .rep = rep, .err = err};
	unsigned char *yaml = NULL, *sig = NULL;
	size_t ylen = 0, siglen = 0;
	CMS_ContentInfo *cms = NULL;
	int64_t now;
	int rc = -1, st, dirfd = -1, *outs = NULL, pending = 0;
	struct oab_manifest *m;

	if (report)
		*report = NULL;
	if (!rep)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	now = vo && vo->now >= 0 ? vo->now : (int64_t)time(NULL);
	if (mode != MODE_INSPECT && (!vo || oab_trust_count(vo->trust) == 0)) {
		oab_err_set(err, OAB_E_USAGE, "no trust anchor given (use --ca or --trust)");
		goto out;
	}
	r.buf = malloc(OAB_IO_BUF);
	r.a = archive_read_new();
	if (!r.buf || !r.a) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	/* Plain tar only: no decompression filters, no other formats. */
	archive_read_support_format_tar(r.a);
	if (archive_read_open_fd(r.a, fd, OAB_IO_BUF) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_REJECTED, "%s: not a bundle: %s", r.label,
			    archive_error_string(r.a));
		goto out;
	}
	st = next_member(&r);
	if (st <= 0) {
		if (st == 0)
			oab_err_set(err, OAB_E_REJECTED, "%s: empty archive, not a bundle", r.label);
		oab_report_check(rep, 0, "member manifest.yaml", "missing");
		goto out;
	}
	if (strcmp(archive_entry_pathname(r.e), "manifest.yaml") != 0) {
		oab_report_check(rep, 0, "member manifest.yaml", "not the first member");
		oab_err_set(err, OAB_E_REJECTED, "%s: first member is not 'manifest.yaml', not a bundle",
			    r.label);
		goto out;
	}
	if (oab_member_read_small(r.a, r.e, OAB_MAX_MANIFEST_BYTES, &yaml, &ylen, err) < 0)
		goto out;
	st = next_member(&r);
	if (st < 0)
		goto out;
	if (st == 1 && strcmp(archive_entry_pathname(r.e), "manifest.sig") == 0) {
		if (oab_member_read_small(r.a, r.e, OAB_MAX_SIG_BYTES, &sig, &siglen, err) < 0)
			goto out;
		rep->signed_bundle = 1;
	} else if (st == 1) {
		pending = 1; /* unsigned: this header is the first payload's */
	}
	if (sig) {
		cms = oab_cms_parse(sig, siglen, err);
		if (!cms) {
			oab_report_check(rep, 0, "signature", "%s", err->msg);
			goto out;
		}
	}
	if (mode == MODE_INSPECT) {
		if (cms && oab_trust_evaluate(NULL, cms, yaml, ylen, now, 1, 0, rep, err) < 0)
			goto out;
		if (oab_manifest_parse((char *)yaml, ylen, "manifest.yaml", NULL,
				       OAB_MANIFEST_RESOLVED, &rep->manifest, err) < 0) {
			err->code = OAB_E_REJECTED;
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!cms) {
		oab_report_check(rep, 0, "signature", "bundle is not signed");
		oab_err_set(err, OAB_E_REJECTED, "%s: bundle is not signed (no member 'manifest.sig')",
			    r.label);
		goto out;
	}
	if (oab_trust_evaluate(vo->trust, cms, yaml, ylen, now, vo->threshold,
			       vo->allow_weak, rep, err) < 0)
		goto out;
	/* Only now are the manifest's bytes trusted enough to parse. */
	if (oab_manifest_parse((char *)yaml, ylen, "manifest.yaml", NULL, OAB_MANIFEST_RESOLVED,
			       &rep->manifest, err) < 0) {
		err->code = OAB_E_REJECTED;
		oab_report_check(rep, 0, "manifest", "%s", err->msg);
		goto out;
	}
	m = rep->manifest;
	oab_report_check(rep, 1, "manifest", "%s %s, %zu items", m->name, m->version, m->n_items);
	if (oab_policy_check(m, vo, now, rep, err) < 0 && mode == MODE_EXTRACT)
		goto out;

	if (mode == MODE_EXTRACT) {
		for (size_t i = 0; i < xo->n_names; i++) {
			const struct oab_item *it = oab_manifest_find(m, xo->names[i]);

			if (!it) {
				oab_err_set(err, OAB_E_USAGE, "%s: no payload, script or sbom named '%s'",
					    r.label, xo->names[i]);
				goto out;
			}
		}
		dirfd = open(xo->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			oab_err_set(err, OAB_E_IO, "extract folder '%s': %s", xo->dir, strerror(errno));
			goto out;
		}
		for (size_t i = 0; !xo->force && i < m->n_items; i++) {
			struct stat sst;

			if (wanted(xo, m->items[i].name) &&
			    fstatat(dirfd, m->items[i].name, &sst, AT_SYMLINK_NOFOLLOW) == 0) {
				oab_err_set(err, OAB_E_IO,
					    "'%s/%s' already exists (use --force to replace it)",
					    xo->dir, m->items[i].name);
				goto out;
			}
		}
		outs = oab_xcalloc(m->n_items, sizeof(*outs));
		if (!outs) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < m->n_items; i++)
			outs[i] = -1;
	}
	{
		struct oab_err first = {0};
		int failed = err->code != OAB_OK; /* policy failure, keep checking members */
		int cr;

		if (failed)
			first = *err;
		for (size_t i = 0; i < m->n_items; i++) {
			const struct oab_item *it = &m->items[i];

			if (!pending) {
				st = next_member(&r);
				if (st <= 0) {
					if (st == 0) {
						oab_report_check(rep, 0, "member", "'%s' missing", it->member);
						oab_err_set(err, OAB_E_REJECTED,
							    "member '%s': missing (bundle ends early)", it->member);
					}
					goto stop;
				}
			}
			pending = 0;
			if (outs && wanted(xo, it->name)) {
				outs[i] = oab_anon_tmpfile(xo->dir, err);
				if (outs[i] < 0)
					goto stop;
				fchmod(outs[i], it->kind == OAB_ITEM_SCRIPT ? 0755 : 0644);
			}
			cr = check_member(&r, it, outs ? outs[i] : -1, vo->progress,
					  vo->progress_arg);
			if (cr < 0) {
				/* A content mismatch leaves the archive in step: go
				 * on so the report names every bad member. */
				if (cr == -1)
					goto stop;
				if (!failed)
					first = *err;
				failed = 1;
			}
		}
		st = next_member(&r);
		if (st > 0) {
			char esc[400];
			const char *name = archive_entry_pathname(r.e);

			oab_escape(name, strlen(name), esc, sizeof(esc));
			oab_report_check(rep, 0, "end of bundle", "extra member '%s'", esc);
			oab_err_set(err, OAB_E_REJECTED, "member '%s': not listed in the manifest", esc);
			goto stop;
		}
		if (st < 0)
			goto stop;
		oab_report_check(rep, 1, "end of bundle", "no extra members");
		if (failed) {
			*err = first;
			goto out;
		}
		goto done;
stop:
		if (failed && err->code == OAB_OK)
			*err = first;
		goto out;
	}
done:
	if (mode == MODE_EXTRACT) {
		for (size_t i = 0; i < m->n_items; i++) {
			if (outs[i] < 0)
				continue;
			if (fsync(outs[i]) < 0 ||
			    oab_link_tmpfile(outs[i], dirfd, m->items[i].name, xo->force, err) < 0) {
				if (err->code == OAB_OK)
					oab_err_set(err, OAB_E_IO, "'%s': fsync: %s", m->items[i].name,
						    strerror(errno));
				oab_err_prefix(err, "extract folder '%s': ", xo->dir);
				goto out;
			}
		}
		fsync(dirfd);
	}
	rep->verified = 1;
	for (size_t i = 0; i < rep->n_checks; i++)
		if (!rep->checks[i].ok)
			rep->verified = 0;
	rc = rep->verified ? 0 : -1;
	if (rc < 0 && err->code == OAB_OK)
		oab_err_set(err, OAB_E_REJECTED, "%s: verification failed", r.label);
out:
	if (r.a)
		archive_read_free(r.a);
	for (size_t i = 0; outs && rep->manifest && i < rep->manifest->n_items; i++)
		if (outs[i] >= 0)
			close(outs[i]);
	free(outs);
	if (dirfd >= 0)
		close(dirfd);
	CMS_ContentInfo_free(cms);
	free(r.buf);
	free(yaml);
	free(sig);
	if (rc < 0)
		rep->verified = 0;
	if (report)
		*report = rep;
	else
		oab_report_free(rep);
	return rc;
}

int oab_verify(int fd, const char *label, const struct oab_verify_opts *opts,
	       struct oab_report **report, struct oab_err *err)
{
	return process(fd, label, MODE_VERIFY, opts, NULL, report, err);
}

int oab_inspect(int fd, const char *label, struct oab_report **report, struct oab_err *err)
{
	return process(fd, label, MODE_INSPECT, NULL, NULL, report, err);
}

int oab_extract(int fd, const char *label, const struct oab_verify_opts *opts,
		const struct oab_extract_opts *xo, struct oab_report **report,
		struct oab_err *err)
{
	if (!xo || !xo->dir)
		return oab_err_set(err, OAB_E_USAGE, "no extract folder given (-C DIR)");
	return process(fd, label, MODE_EXTRACT, opts, xo, report, err);
}
