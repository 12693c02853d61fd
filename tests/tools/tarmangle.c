/* SPDX-License-Identifier: Apache-2.0 */
/* tarmangle - rewrite a tar archive with one hostile change, for the
 * negative tests. Written with libarchive (pax), like real bundles.
 *
 *   tarmangle IN OUT drop NAME            leave member NAME out
 *   tarmangle IN OUT dup NAME             write member NAME twice
 *   tarmangle IN OUT swap A B             exchange the places of A and B
 *   tarmangle IN OUT rename OLD NEW       give OLD the name NEW
 *   tarmangle IN OUT replace NAME FILE    NAME gets FILE's bytes
 *   tarmangle IN OUT append NAME FILE     add member NAME (FILE's bytes) at the end
 *   tarmangle IN OUT symlink NAME TARGET  NAME becomes a symlink to TARGET
 *   tarmangle IN OUT hardlink NAME TARGET NAME becomes a hard link to TARGET
 *   tarmangle IN OUT dir|fifo|chr NAME    NAME becomes a directory/fifo/device
 *   tarmangle IN offsets                  print "NAME DATA_OFFSET SIZE" per member
 *   tarmangle IN rawsize NAME OCTAL       patch NAME's ustar size field in place
 *                                         (checksum fixed up), e.g. 77777777777
 * Raw edits (header bytes libarchive would hide or fix), IN copied to OUT:
 *   tarmangle IN OUT global NAME          a global pax header ('g') before NAME
 *   tarmangle IN OUT volume NAME          a GNU volume header ('V') before NAME
 *   tarmangle IN OUT gnusparse NAME       NAME becomes a GNU sparse member ('S')
 *                                         with one segment covering all its data
 *   tarmangle IN OUT paxsparse NAME       NAME becomes a pax 1.0 sparse member
 *                                         (GNU.sparse.* records, one segment)
 *   tarmangle IN OUT lonezero NAME        one zero block before NAME
 *   tarmangle IN OUT end oneblock|noblock the archive ends after one / no zero block
 *   tarmangle IN OUT end FILE             FILE's bytes after the two zero blocks
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

struct member {
	struct archive_entry *e;
	char *data;
	size_t len;
};

static void die(const char *what, struct archive *a)
{
	fprintf(stderr, "tarmangle: %s: %s\n", what, a ? archive_error_string(a) : "");
	exit(2);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t cap = 0, n = 0, r;

	if (!f) {
		perror(path);
		exit(2);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			b = realloc(b, cap);
			if (!b)
				exit(2);
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return b;
}

static int find(struct member *m, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(archive_entry_pathname(m[i].e), name) == 0)
			return i;
	fprintf(stderr, "tarmangle: no member '%s'\n", name);
	exit(2);
}

static int rawsize(struct archive *a, const char *path, const char *name, const char *octal)
{
	struct archive_entry *e;
	unsigned char h[512];
	unsigned sum = 0;
	long long pos = -1;
	FILE *f;

	while (archive_read_next_header(a, &e) == ARCHIVE_OK)
		if (strcmp(archive_entry_pathname(e), name) == 0) {
			pos = (long long)archive_read_header_position(a);
			break;
		}
	archive_read_free(a);
	if (pos < 0 || strlen(octal) != 11 || !(f = fopen(path, "r+b")))
		return 2;
	if (fseek(f, pos, SEEK_SET) || fread(h, 1, 512, f) != 512)
		return 2;
	memcpy(h + 124, octal, 11);
	h[135] = 0;
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	if (fseek(f, pos, SEEK_SET) || fwrite(h, 1, 512, f) != 512)
		return 2;
	return fclose(f) ? 2 : 0;
}

/* A ustar header block: name, typeflag, size; checksum filled in. */
static void make_hdr(unsigned char *h, const char *name, char type, unsigned long long size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011llo", size);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static void fix_sum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* A pax record "LEN key=value\n" appended to buf. */
static size_t pax_rec(char *buf, size_t at, const char *kv)
{
	size_t d = 1, len;
	char tmp[32];

	/* LEN counts its own digits */
	while ((size_t)snprintf(tmp, sizeof(tmp), "%zu", strlen(kv) + 2 + d) != d)
		d++;
	len = strlen(kv) + 2 + d;
	return at + (size_t)sprintf(buf + at, "%zu %s\n", len, kv);
}

static void put(FILE *f, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, f) != n)
		exit(2);
}

/* Data blocks of n bytes (padded to 512). */
static void put_data(FILE *f, const char *p, size_t n)
{
	static const char zero[512];

	put(f, p, n);
	put(f, zero, (512 - n % 512) % 512);
}

static int raw_edit(struct archive *a, const char *in, const char *out, const char *op,
		    const char *arg)
{
	struct archive_entry *e;
	long long pos = -1, size = 0, end = -1;
	size_t len;
	unsigned char *b, h[512];
	char pax[2048];
	FILE *f;

	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), arg) == 0) {
			pos = (long long)archive_read_header_position(a);
			size = (long long)archive_entry_size(e);
		}
		end = (long long)archive_read_header_position(a) + 512 +
		      (archive_entry_size(e) + 511) / 512 * 512;
	}
	archive_read_free(a);
	b = (unsigned char *)slurp(in, &len);
	if (!(f = fopen(out, "wb")))
		return 2;
	if (strcmp(op, "end") == 0) {
		if (end < 0)
			return 2;
		if (strcmp(arg, "oneblock") == 0) {
			put(f, b, (size_t)end + 512);
		} else if (strcmp(arg, "noblock") == 0) {
			put(f, b, (size_t)end);
		} else {
			size_t tl;
			char *t = slurp(arg, &tl);

			put(f, b, len);
			put(f, t, tl);
			free(t);
		}
		return fclose(f) ? 2 : 0;
	}
	if (pos < 0) {
		fprintf(stderr, "tarmangle: no member '%s'\n", arg);
		return 2;
	}
	put(f, b, (size_t)pos);
	if (strcmp(op, "global") == 0) {
		size_t n = pax_rec(pax, 0, "comment=otabundle test");

		make_hdr(h, "pax_global_header", 'g', n);
		put(f, h, 512);
		put_data(f, pax, n);
		put(f, b + pos, len - (size_t)pos);
	} else if (strcmp(op, "volume") == 0) {
		make_hdr(h, "VOLUME-LABEL", 'V', 0);
		put(f, h, 512);
		put(f, b + pos, len - (size_t)pos);
	} else if (strcmp(op, "lonezero") == 0) {
		memset(h, 0, 512);
		put(f, h, 512);
		put(f, b + pos, len - (size_t)pos);
	} else if (strcmp(op, "gnusparse") == 0) {
		/* old GNU header: sparse[0] {offset, numbytes} at 386, isextended
		 * at 482, realsize at 483; magic "ustar  " */
		memcpy(h, b + pos, 512);
		h[156] = 'S';
		memcpy(h + 257, "ustar  ", 8);
		snprintf((char *)h + 386, 12, "%011o", 0);
		snprintf((char *)h + 398, 12, "%011llo", size);
		h[482] = 0;
		snprintf((char *)h + 483, 12, "%011llo", size);
		fix_sum(h);
		put(f, h, 512);
		put(f, b + pos + 512, len - (size_t)pos - 512);
	} else if (strcmp(op, "paxsparse") == 0) {
		/* pax format 1.0: the map ("1\n0\nSIZE\n", one segment) in
		 * the first data block, the real size and name in records */
		char kv[200], map[512] = {0};
		size_t n = 0;

		n = pax_rec(pax, n, "GNU.sparse.major=1");
		n = pax_rec(pax, n, "GNU.sparse.minor=0");
		snprintf(kv, sizeof(kv), "GNU.sparse.name=%s", arg);
		n = pax_rec(pax, n, kv);
		snprintf(kv, sizeof(kv), "GNU.sparse.realsize=%lld", size);
		n = pax_rec(pax, n, kv);
		make_hdr(h, "PaxHeaders/sparse", 'x', n);
		put(f, h, 512);
		put_data(f, pax, n);
		memcpy(h, b + pos, 512);
		snprintf((char *)h + 124, 12, "%011llo", size + 512);
		fix_sum(h);
		put(f, h, 512);
		snprintf(map, sizeof(map), "1\n0\n%lld\n", size);
		put(f, map, 512);
		put(f, b + pos + 512, len - (size_t)pos - 512);
	} else {
		return 2;
	}
	free(b);
	return fclose(f) ? 2 : 0;
}

int main(int argc, char **argv)
{
	struct archive *a = archive_read_new(), *w;
	struct archive_entry *e;
	struct member m[256];
	int n = 0, dupidx = -1;
	const char *op;

	if (argc < 3)
		return 2;
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, argv[1], 65536) != ARCHIVE_OK)
		die("open", a);
	if (strcmp(argv[2], "rawsize") == 0 && argc > 4)
		return rawsize(a, argv[1], argv[3], argv[4]);
	if (argc > 4 && (strcmp(argv[3], "global") == 0 || strcmp(argv[3], "volume") == 0 ||
			 strcmp(argv[3], "gnusparse") == 0 || strcmp(argv[3], "paxsparse") == 0 ||
			 strcmp(argv[3], "lonezero") == 0 || strcmp(argv[3], "end") == 0))
		return raw_edit(a, argv[1], argv[2], argv[3], argv[4]);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK && n < 256) {
		la_int64_t sz = archive_entry_size(e);

		if (strcmp(argv[2], "offsets") == 0) {
			/* Our writer puts no pax header before short names: data
			 * follows the 512-byte ustar header. */
			printf("%s %lld %lld\n", archive_entry_pathname(e),
			       (long long)archive_read_header_position(a) + 512, (long long)sz);
			continue;
		}
		m[n].e = archive_entry_clone(e);
		m[n].len = (size_t)sz;
		m[n].data = malloc(m[n].len + 1);
		if (archive_read_data(a, m[n].data, m[n].len) != (la_ssize_t)m[n].len)
			die("read", a);
		n++;
	}
	if (strcmp(argv[2], "offsets") == 0)
		return 0;
	archive_read_free(a);
	if (argc < 5)
		return 2;
	op = argv[3];
	if (strcmp(op, "drop") == 0) {
		int i = find(m, n, argv[4]);

		memmove(&m[i], &m[i + 1], (size_t)(n - i - 1) * sizeof(m[0]));
		n--;
	} else if (strcmp(op, "dup") == 0) {
		dupidx = find(m, n, argv[4]);
	} else if (strcmp(op, "swap") == 0 && argc > 5) {
		int i = find(m, n, argv[4]), j = find(m, n, argv[5]);
		struct member t = m[i];

		m[i] = m[j];
		m[j] = t;
	} else if (strcmp(op, "rename") == 0 && argc > 5) {
		archive_entry_set_pathname(m[find(m, n, argv[4])].e, argv[5]);
	} else if (strcmp(op, "replace") == 0 && argc > 5) {
		int i = find(m, n, argv[4]);

		free(m[i].data);
		m[i].data = slurp(argv[5], &m[i].len);
		archive_entry_set_size(m[i].e, (la_int64_t)m[i].len);
	} else if (strcmp(op, "append") == 0 && argc > 5) {
		m[n].e = archive_entry_clone(m[0].e);
		archive_entry_set_pathname(m[n].e, argv[4]);
		m[n].data = slurp(argv[5], &m[n].len);
		archive_entry_set_size(m[n].e, (la_int64_t)m[n].len);
		n++;
	} else if ((strcmp(op, "symlink") == 0 || strcmp(op, "hardlink") == 0) && argc > 5) {
		int i = find(m, n, argv[4]);

		if (op[0] == 's') {
			archive_entry_set_filetype(m[i].e, AE_IFLNK);
			archive_entry_set_symlink(m[i].e, argv[5]);
		} else {
			archive_entry_set_hardlink(m[i].e, argv[5]);
		}
		archive_entry_set_size(m[i].e, 0);
		m[i].len = 0;
	} else if (strcmp(op, "dir") == 0 || strcmp(op, "fifo") == 0 || strcmp(op, "chr") == 0) {
		int i = find(m, n, argv[4]);

		archive_entry_set_filetype(m[i].e, op[0] == 'd' ? AE_IFDIR : op[0] == 'f' ? AE_IFIFO : AE_IFCHR);
		archive_entry_set_size(m[i].e, 0);
		m[i].len = 0;
	} else {
		fprintf(stderr, "tarmangle: unknown operation '%s'\n", op);
		return 2;
	}
	w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	if (archive_write_open_filename(w, argv[2]) != ARCHIVE_OK)
		die("create", w);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < (i == dupidx ? 2 : 1); k++) {
			if (archive_write_header(w, m[i].e) != ARCHIVE_OK)
				die("write header", w);
			if (m[i].len && archive_write_data(w, m[i].data, m[i].len) != (la_ssize_t)m[i].len)
				die("write data", w);
		}
	}
	archive_write_close(w);
	archive_write_free(w);
	for (int i = 0; i < n; i++) {
		archive_entry_free(m[i].e);
		free(m[i].data);
	}
	return 0;
}
