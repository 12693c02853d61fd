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
