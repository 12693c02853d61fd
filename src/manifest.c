/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c - the manifest schema: the keys and values of a user's
 * manifest and of the resolved manifest inside a bundle, read from the
 * tree that manifest_tree.c builds.
 *
 * The same schema reads a user's manifest (sources, no hashes) and the
 * resolved manifest inside a bundle (hashes and member names, no sources),
 * so a verifier and the builder can never disagree about a field. The
 * emitter is in manifest_emit.c, times in time.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "internal.h"

/* the tree's located error (file:line:col), under its short name */
#define yfail oab_yfail

/* ---- duplicates ---------------------------------------------------------- */

struct dupent {
	const char *s;
	size_t idx;
};

/* ASCII-only case folding: names are ASCII, and the C library's
 * strcasecmp would follow the program's locale. */
static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		x += (x >= 'A' && x <= 'Z') ? 'a' - 'A' : 0;
		y += (y >= 'A' && y <= 'Z') ? 'a' - 'A' : 0;
		if (x != y || !x)
			return x - y;
	}
}

static int dup_cmp(const void *pa, const void *pb)
{
	const struct dupent *a = pa, *b = pb;
	int r = strcmp(a->s, b->s);

	return r ? r : (a->idx > b->idx) - (a->idx < b->idx);
}

static int dup_cmp_fold(const void *pa, const void *pb)
{
	const struct dupent *a = pa, *b = pb;
	int r = ascii_casecmp(a->s, b->s);

	return r ? r : (a->idx > b->idx) - (a->idx < b->idx);
}

/* The first repeat in document order among strs[0..n-1], compared exactly
 * or ignoring ASCII case (fold): *second is the smallest index whose
 * string equals an earlier one, *first the index of the earliest such one.
 * Sorting keeps this O(n log n) for any input (comparing each string with
 * all earlier ones took seconds for 50,000 meta keys, and a hash table
 * with a fixed hash lets crafted keys collide). Returns 1 if there is a
 * repeat, 0 if not, -1 when out of memory. */
static int find_dup(const char *const *strs, size_t n, int fold, size_t *first,
		    size_t *second)
{
	struct dupent *e;
	int found = 0;

	if (n < 2)
		return 0;
	e = oab_calloc_array(n, sizeof(*e));
	if (!e)
		return -1;
	for (size_t i = 0; i < n; i++)
		e[i] = (struct dupent){strs[i], i};
	qsort(e, n, sizeof(*e), fold ? dup_cmp_fold : dup_cmp);
	for (size_t i = 0; i + 1 < n; i++) {
		size_t g = i; /* e[g] starts a run of equal strings, lowest index first */

		while (i + 1 < n && (fold ? ascii_casecmp(e[g].s, e[i + 1].s)
					  : strcmp(e[g].s, e[i + 1].s)) == 0)
			i++;
		if (i > g && (!found || e[g + 1].idx < *second)) {
			*first = e[g].idx;
			*second = e[g + 1].idx;
			found = 1;
		}
	}
	free(e);
	return found;
}

/* ---- schema helpers ---------------------------------------------------- */

struct sctx {
	struct yctx y;
	enum oab_manifest_mode mode;
	const char *basedir;
};

static const char *kind_name(enum ykind k)
{
	return k == Y_MAP ? "a mapping" : k == Y_SEQ ? "a list" : "a scalar";
}

/* Check that map n holds only keys from allowed (NULL-terminated), no
 * duplicates, and that every required key (prefix '!') is there. Errors
 * come in document order: the first key that is unknown or repeats. */
static int check_keys(struct sctx *c, struct ynode *n, const char *where,
		      const char *const *allowed)
{
	const char **keys;
	size_t first = 0, dup = SIZE_MAX;
	int r;

	for (size_t i = 0; i < n->n; i += 2)
		if (n->kid[i]->kind != Y_SCALAR)
			return yfail(&c->y, n->kid[i]->line, n->kid[i]->col,
				     "'%s': keys must be scalars", where);
	keys = oab_calloc_array(n->n / 2 + 1, sizeof(*keys));
	if (!keys)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n->n; i += 2)
		keys[i / 2] = n->kid[i]->s;
	r = find_dup(keys, n->n / 2, 0, &first, &dup);
	free(keys);
	if (r < 0)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n->n; i += 2) {
		struct ynode *k = n->kid[i];
		int found = 0;

		char esc[400], list[512] = "";

		if (r && i / 2 == dup) {
			oab_escape(k->s, k->slen, esc, sizeof(esc));
			return yfail(&c->y, k->line, k->col,
				     "duplicate key '%s' in '%s' (first on line %zu)",
				     esc, where, n->kid[2 * first]->line);
		}
		for (const char *const *a = allowed; *a && !found; a++)
			found = strcmp(**a == '!' ? *a + 1 : *a, k->s) == 0;
		if (!found) {

			for (const char *const *a = allowed; *a; a++) {
				const char *name = **a == '!' ? *a + 1 : *a;

				if (strlen(list) + strlen(name) + 3 < sizeof(list)) {
					if (*list)
						strcat(list, ", ");
					strcat(list, name);
				}
			}
			oab_escape(k->s, k->slen, esc, sizeof(esc));
			return yfail(&c->y, k->line, k->col,
				     "unknown key '%s' in '%s' (expected one of: %s)",
				     esc, where, list);
		}
	}
	for (const char *const *a = allowed; *a; a++) {
		int found = 0;

		if (**a != '!')
			continue;
		for (size_t i = 0; i < n->n; i += 2)
			if (strcmp(n->kid[i]->s, *a + 1) == 0)
				found = 1;
		if (!found)
			return yfail(&c->y, n->line, n->col, "'%s': missing required key '%s'",
				     where, *a + 1);
	}
	return 0;
}

static struct ynode *get(struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->kid[i]->s, key) == 0)
			return map->kid[i + 1];
	return NULL;
}

static int want_kind(struct sctx *c, struct ynode *n, enum ykind k, const char *key)
{
	if (!n) { /* check_keys requires it: never taken, but never a NULL deref */
		oab_err_set(c->y.err, OAB_E_USAGE, "%s: missing required key '%s'", c->y.label, key);
		return -1;
	}
	if (n->kind != k)
		return yfail(&c->y, n->line, n->col, "key '%s': expected %s, found %s",
			     key, kind_name(k), kind_name(n->kind));
	return 0;
}

static int is_null_scalar(const struct ynode *n)
{
	return n->plain && (n->slen == 0 || strcmp(n->s, "~") == 0 ||
			    strcmp(n->s, "null") == 0 || strcmp(n->s, "Null") == 0 ||
			    strcmp(n->s, "NULL") == 0);
}

/* Bidirectional formatting character at s (UTF-8), or 0: U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069. They make a label read in another
 * order than it is stored ("Trojan Source"). */
static unsigned bidi_at(const unsigned char *s, size_t left)
{
	if (left >= 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 0x61c;
	if (left < 3 || s[0] != 0xe2)
		return 0;
	if (s[1] == 0x80 && (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 0x2000u + (s[2] - 0x80u);
	if (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 0x2040u + (s[2] - 0x80u);
	return 0;
}

/* What get_str lets through besides printable text. */
enum str_kind {
	S_LABEL, /* one line; no bidi formatting (version, compatible, names) */
	S_PATH,  /* one line; bidi allowed (a file name is what it is) */
	S_TEXT,  /* free text: tabs, newlines and bidi (description, meta values) */
};

/* A string: any scalar but null, no NUL bytes, no control characters
 * except in free text (tab/newline). */
static int get_str(struct sctx *c, struct ynode *n, const char *key, size_t max,
		   enum str_kind kind, char **out)
{
	char what[32];
	int ch;

	if (want_kind(c, n, Y_SCALAR, key) < 0)
		return -1;
	if (is_null_scalar(n))
		return yfail(&c->y, n->line, n->col, "key '%s': expected a string, found null", key);
	if (strlen(n->s) != n->slen)
		return yfail(&c->y, n->line, n->col, "key '%s': NUL byte in string", key);
	if (n->slen > max)
		return yfail(&c->y, n->line, n->col, "key '%s': longer than %zu bytes", key, max);
	if ((ch = oab_first_control(n->s, n->slen, kind == S_TEXT)) >= 0)
		return yfail(&c->y, n->line, n->col,
			     "key '%s': %s in string", key, oab_control_name(ch, what));
	for (size_t i = 0; kind == S_LABEL && i < n->slen; i++) {
		unsigned b = bidi_at((const unsigned char *)n->s + i, n->slen - i);

		if (b)
			return yfail(&c->y, n->line, n->col,
				     "key '%s': bidirectional formatting character U+%04X in string (it would make the text read in another order)",
				     key, b);
	}
	*out = strdup(n->s);
	if (!*out)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	return 0;
}

static int get_uint(struct sctx *c, struct ynode *n, const char *key, uint64_t max,
		    uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (want_kind(c, n, Y_SCALAR, key) < 0)
		return -1;
	if (!n->plain || n->slen == 0 || n->s[0] < '0' || n->s[0] > '9')
		goto bad;
	if (n->slen > 1 && n->s[0] == '0')
		goto bad; /* no octal look-alikes */
	errno = 0;
	v = strtoull(n->s, &end, 10);
	if (errno || *end || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return yfail(&c->y, n->line, n->col,
		     "key '%s': expected an integer from 0 to %llu, found '%.40s'", key,
		     (unsigned long long)max, n->s);
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OAB_MAX_NAME)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int get_name(struct sctx *c, struct ynode *n, const char *key, char **out)
{
	if (get_str(c, n, key, 4096, S_LABEL, out) < 0)
		return -1;
	if (!valid_name(*out)) {
		char esc[400];

		oab_escape(n->s, n->slen, esc, sizeof(esc));
		free(*out);
		*out = NULL;
		return yfail(&c->y, n->line, n->col,
			     "key '%s': '%s' is not a valid name (1 to %d characters of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
			     key, esc, OAB_MAX_NAME);
	}
	return 0;
}

static int get_enum(struct sctx *c, struct ynode *n, const char *key,
		    const char *const *values, char **out)
{
	char list[256] = "";

	if (get_str(c, n, key, 64, S_LABEL, out) < 0)
		return -1;
	for (const char *const *v = values; *v; v++) {
		if (strcmp(*v, *out) == 0)
			return 0;
		if (*list)
			strcat(list, " | ");
		strcat(list, *v);
	}
	free(*out);
	*out = NULL;
	return yfail(&c->y, n->line, n->col, "key '%s': expected %s, found '%.40s'", key,
		     list, n->s);
}

static int get_time(struct sctx *c, struct ynode *n, const char *key, int64_t *out)
{
	if (want_kind(c, n, Y_SCALAR, key) < 0)
		return -1;
	if (oab_time_parse(n->s, out) < 0)
		return yfail(&c->y, n->line, n->col,
			     "key '%s': expected an RFC 3339 time such as 2027-06-30T00:00:00Z, found '%.40s'",
			     key, n->s);
	return 0;
}

static int get_sha(struct sctx *c, struct ynode *n, const char *key, unsigned char out[32])
{
	if (want_kind(c, n, Y_SCALAR, key) < 0)
		return -1;
	if (oab_unhex(n->s, out, 32) < 0)
		return yfail(&c->y, n->line, n->col,
			     "key '%s': expected 64 lowercase hex digits", key);
	return 0;
}

static int get_compression(struct sctx *c, struct ynode *n, const char *key,
			   struct oab_item *it)
{
	char *end;
	long lvl;

	if (want_kind(c, n, Y_SCALAR, key) < 0)
		return -1;
	if (strcmp(n->s, "none") == 0) {
		it->compression = OAB_COMP_NONE;
		it->level = 0;
		return 0;
	}
	if (strcmp(n->s, "zstd") == 0) {
		it->compression = OAB_COMP_ZSTD;
		it->level = 3;
		return 0;
	}
	if (strncmp(n->s, "zstd:", 5) == 0 && n->s[5] >= '1' && n->s[5] <= '9') {
		errno = 0;
		lvl = strtol(n->s + 5, &end, 10);
		if (!errno && !*end && lvl >= 1 && lvl <= 22) {
			it->compression = OAB_COMP_ZSTD;
			it->level = (int)lvl;
			return 0;
		}
	}
	return yfail(&c->y, n->line, n->col,
		     "key '%s': expected zstd, zstd:LEVEL (1-22) or none, found '%.40s'", key, n->s);
}

static char *join_path(const char *dir, const char *rel)
{
	char *out;

	if (rel[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
		return strdup(rel);
	if (asprintf(&out, "%s/%s", dir, rel) < 0)
		return NULL;
	return out;
}

/* it->source (joined to the manifest's folder), the path as written
 * (takes src) and where it is written, for the build's confinement. */
static int set_source(struct sctx *c, struct oab_item *it, const struct ynode *n,
		      const char *key, char *src)
{
	it->source = join_path(c->basedir, src);
	it->source_raw = src;
	if (asprintf(&it->source_where, "%s:%zu:%zu: key '%s'", c->y.label, (size_t)n->line,
		     (size_t)n->col, key) < 0)
		it->source_where = NULL;
	if (!it->source || !it->source_where)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	return 0;
}

static const char *kind_dir(enum oab_item_kind k)
{
	return k == OAB_ITEM_PAYLOAD ? "payloads" : k == OAB_ITEM_SCRIPT ? "scripts" : "sbom";
}

static char *member_name(const struct oab_item *it)
{
	char *out;

	if (asprintf(&out, "%s/%s%s", kind_dir(it->kind), it->name,
		     it->delta ? ".zdelta" : it->compression == OAB_COMP_ZSTD ? ".zst" : "") < 0)
		return NULL;
	return out;
}

/* compression none: stored bytes are the content. */
static int parse_stored_plain(struct sctx *c, struct ynode *map, struct oab_item *it,
			      const char *where)
{
	char key[128];

	if ((get(map, "stored-chunk-size") || get(map, "stored-chunks-sha256")))
		return yfail(&c->y, map->line, map->col,
			     "'%s': stored without compression: expected stored-sha256, not stored-chunk-size/stored-chunks-sha256",
			     where);
	if (!get(map, "stored-sha256"))
		return yfail(&c->y, map->line, map->col, "'%s': missing required key 'stored-sha256'",
			     where);
	snprintf(key, sizeof(key), "%s.stored-sha256", where);
	if (get_sha(c, get(map, "stored-sha256"), key, it->stored_sha256) < 0)
		return -1;
	if (it->size != it->stored_size || memcmp(it->sha256, it->stored_sha256, 32) != 0)
		return yfail(&c->y, map->line, map->col,
			     "'%s': stored without compression but stored size/sha256 differ from content",
			     where);
	return 0;
}

/* zstd: stored-chunk-size and one stored-chunks-sha256 entry per chunk. */
static int parse_stored_chunks(struct sctx *c, struct ynode *map, struct oab_item *it,
			       const char *where)
{
	struct ynode *seq = get(map, "stored-chunks-sha256");
	uint64_t cs = 0, want;
	char key[160];

	if (get(map, "stored-sha256"))
		return yfail(&c->y, map->line, map->col,
			     "'%s': compressed: expected stored-chunk-size and stored-chunks-sha256, not stored-sha256",
			     where);
	if (!get(map, "stored-chunk-size") || !seq)
		return yfail(&c->y, map->line, map->col,
			     "'%s': missing required key '%s'", where,
			     seq ? "stored-chunk-size" : "stored-chunks-sha256");
	snprintf(key, sizeof(key), "%s.stored-chunk-size", where);
	if (get_uint(c, get(map, "stored-chunk-size"), key, OAB_CHUNK_MAX, &cs) < 0)
		return -1;
	if (cs < OAB_CHUNK_MIN || (cs & (cs - 1)) != 0) {
		struct ynode *n = get(map, "stored-chunk-size");

		return yfail(&c->y, n->line, n->col,
			     "key '%s': expected a power of two from %d to %d, found %llu", key,
			     OAB_CHUNK_MIN, OAB_CHUNK_MAX, (unsigned long long)cs);
	}
	snprintf(key, sizeof(key), "%s.stored-chunks-sha256", where);
	if (want_kind(c, seq, Y_SEQ, key) < 0)
		return -1;
	want = it->stored_size ? (it->stored_size - 1) / cs + 1 : 0;
	if (seq->n != want)
		return yfail(&c->y, seq->line, seq->col,
			     "key '%s': %zu hashes, expected %llu (%llu stored bytes in chunks of %llu)",
			     key, seq->n, (unsigned long long)want,
			     (unsigned long long)it->stored_size, (unsigned long long)cs);
	it->chunk_size = (uint32_t)cs;
	it->n_chunks = 0;
	it->chunk_sha256 = want ? malloc(seq->n * 32) : NULL;
	if (want && !it->chunk_sha256)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < seq->n; i++) {
		snprintf(key, sizeof(key), "%s.stored-chunks-sha256[%zu]", where, i);
		if (get_sha(c, seq->kid[i], key, it->chunk_sha256[i]) < 0)
			return -1;
		it->n_chunks = i + 1;
	}
	return 0;
}

/* Fields common to payloads, scripts and sbom: compression, and either
 * source (SOURCE mode) or member/hashes (RESOLVED mode). */
static int parse_common(struct sctx *c, struct ynode *map, struct oab_item *it,
			const char *where)
{
	struct ynode *v;
	char key[128];

	it->compression = OAB_COMP_ZSTD;
	it->level = 3;
	if ((v = get(map, "compression"))) {
		snprintf(key, sizeof(key), "%s.compression", where);
		if (get_compression(c, v, key, it) < 0)
			return -1;
		it->level_line = (int)v->line;
		it->level_col = (int)v->col;
	}
	if (c->mode == OAB_MANIFEST_SOURCE) {
		char *src = NULL;

		snprintf(key, sizeof(key), "%s.source", where);
		if (get_str(c, get(map, "source"), key, 4096, S_PATH, &src) < 0)
			return -1;
		if (set_source(c, it, get(map, "source"), key, src) < 0)
			return -1;
	} else {
		char *mem = NULL;
		struct ynode *mn = get(map, "member");

		snprintf(key, sizeof(key), "%s.member", where);
		if (get_str(c, mn, key, 4096, S_LABEL, &mem) < 0)
			return -1;
		it->member = member_name(it);
		if (!it->member) {
			free(mem);
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		}
		if (strcmp(mem, it->member) != 0) {
			char esc[400];

			oab_escape(mem, strlen(mem), esc, sizeof(esc));
			free(mem);
			return yfail(&c->y, mn->line, mn->col, "key '%s': expected '%s', found '%s'",
				     key, it->member, esc);
		}
		free(mem);
		snprintf(key, sizeof(key), "%s.size", where);
		if (get_uint(c, get(map, "size"), key, INT64_MAX, &it->size) < 0)
			return -1;
		snprintf(key, sizeof(key), "%s.sha256", where);
		if (get_sha(c, get(map, "sha256"), key, it->sha256) < 0)
			return -1;
		snprintf(key, sizeof(key), "%s.stored-size", where);
		if (get_uint(c, get(map, "stored-size"), key, INT64_MAX, &it->stored_size) < 0)
			return -1;
		if (it->compression == OAB_COMP_NONE)
			return parse_stored_plain(c, map, it, where);
		return parse_stored_chunks(c, map, it, where);
	}
	return 0;
}

static struct oab_item *add_item(struct sctx *c, struct oab_manifest *m)
{
	if (m->n_items >= OAB_MAX_ITEMS) {
		oab_err_set(c->y.err, OAB_E_USAGE, "%s: more than %d payloads, scripts and sboms",
			    c->y.label, OAB_MAX_ITEMS);
		return NULL;
	}
	/* items is sized up front by the caller */
	return &m->items[m->n_items++];
}

static const char *const res_payload_keys[] = {
	"!name", "!type", "slot", "compression", "!member", "!size", "!sha256",
	"!stored-size", "stored-sha256", "stored-chunk-size", "stored-chunks-sha256", "delta", NULL};
static const char *const src_payload_keys[] = {
	"!name", "!type", "slot", "compression", "!source", "delta-from", NULL};
static const char *const res_script_keys[] = {
	"!name", "!hook", "compression", "!member", "!size", "!sha256",
	"!stored-size", "stored-sha256", "stored-chunk-size", "stored-chunks-sha256", NULL};
static const char *const src_script_keys[] = {"!name", "!hook", "compression", "!source", NULL};
static const char *const res_sbom_keys[] = {
	"!name", "compression", "!member", "!size", "!sha256", "!stored-size",
	"stored-sha256", "stored-chunk-size", "stored-chunks-sha256", NULL};
static const char *const src_sbom_keys[] = {"name", "compression", "!source", NULL};

static const char *const payload_types[] = {"image", "archive", "file", NULL};
static const char *const script_hooks[] = {"pre-install", "post-install", NULL};

static int parse_delta(struct sctx *c, struct ynode *map, struct oab_item *it,
		       const char *where);

static int parse_items(struct sctx *c, struct oab_manifest *m, struct ynode *seq,
		       enum oab_item_kind kind)
{
	const char *what = kind == OAB_ITEM_PAYLOAD ? "payloads" : "scripts";
	int res = c->mode == OAB_MANIFEST_RESOLVED;

	if (want_kind(c, seq, Y_SEQ, what) < 0)
		return -1;
	for (size_t i = 0; i < seq->n; i++) {
		struct ynode *e = seq->kid[i];
		struct oab_item *it;
		char where[64], key[96];

		snprintf(where, sizeof(where), "%s[%zu]", what, i);
		if (want_kind(c, e, Y_MAP, where) < 0)
			return -1;
		if (check_keys(c, e, where,
			       kind == OAB_ITEM_PAYLOAD ? (res ? res_payload_keys : src_payload_keys)
						       : (res ? res_script_keys : src_script_keys)) < 0)
			return -1;
		if (!(it = add_item(c, m)))
			return -1;
		it->kind = kind;
		it->line = (int)e->line;
		snprintf(key, sizeof(key), "%s.name", where);
		if (get_name(c, get(e, "name"), key, &it->name) < 0)
			return -1;
		if (kind == OAB_ITEM_PAYLOAD) {
			snprintf(key, sizeof(key), "%s.type", where);
			if (get_enum(c, get(e, "type"), key, payload_types, &it->type) < 0)
				return -1;
			if (get(e, "slot")) {
				snprintf(key, sizeof(key), "%s.slot", where);
				if (get_name(c, get(e, "slot"), key, &it->slot) < 0)
					return -1;
			}
		} else {
			snprintf(key, sizeof(key), "%s.hook", where);
			if (get_enum(c, get(e, "hook"), key, script_hooks, &it->hook) < 0)
				return -1;
		}
		/* a delta payload's member name says so (parse_common checks it) */
		if (res && get(e, "delta") && !(it->delta = calloc(1, sizeof(*it->delta))))
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		if (parse_common(c, e, it, where) < 0)
			return -1;
		if (get(e, res ? "delta" : "delta-from") && parse_delta(c, e, it, where) < 0)
			return -1;
	}
	return 0;
}

static int parse_sbom(struct sctx *c, struct oab_manifest *m, struct ynode *n)
{
	struct oab_item *it;
	int res = c->mode == OAB_MANIFEST_RESOLVED;

	if (!(it = add_item(c, m)))
		return -1;
	it->kind = OAB_ITEM_SBOM;
	it->line = (int)n->line;
	if (!res && n->kind == Y_SCALAR) {
		/* Short form: `sbom: file`; the name is the file's base name. */
		char *src = NULL;
		const char *base;

		if (get_str(c, n, "sbom", 4096, S_PATH, &src) < 0)
			return -1;
		base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
		it->name = strdup(valid_name(base) ? base : "sbom");
		it->compression = OAB_COMP_ZSTD;
		it->level = 3;
		if (set_source(c, it, n, "sbom", src) < 0)
			return -1;
		if (!it->name)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		return 0;
	}
	if (want_kind(c, n, Y_MAP, "sbom") < 0)
		return -1;
	if (check_keys(c, n, "sbom", res ? res_sbom_keys : src_sbom_keys) < 0)
		return -1;
	if (get(n, "name")) {
		if (get_name(c, get(n, "name"), "sbom.name", &it->name) < 0)
			return -1;
	}
	if (parse_common(c, n, it, "sbom") < 0)
		return -1;
	if (!it->name) {
		const char *base = strrchr(it->source, '/') ? strrchr(it->source, '/') + 1 : it->source;

		it->name = strdup(valid_name(base) ? base : "sbom");
		if (!it->name)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	}
	return 0;
}

static const char *const top_src_keys[] = {"!format", "!bundle", "!payloads", "scripts", "sbom",
					      "export", NULL};
static const char *const bundle_src_keys[] = {
	"!name", "!version", "!security-version", "!compatible", "description",
	"expires", "meta", NULL};
static const char *const bundle_res_keys[] = {
	"!name", "!version", "!security-version", "!compatible", "description",
	"expires", "meta", "!created", NULL};

static int parse_meta(struct sctx *c, struct oab_manifest *m, struct ynode *v);

static int parse_bundle(struct sctx *c, struct oab_manifest *m, struct ynode *b)
{
	struct ynode *v;
	size_t first = 0, dup = 0;
	int res = c->mode == OAB_MANIFEST_RESOLVED;

	if (want_kind(c, b, Y_MAP, "bundle") < 0 ||
	    check_keys(c, b, "bundle", res ? bundle_res_keys : bundle_src_keys) < 0)
		return -1;
	if (get_name(c, get(b, "name"), "bundle.name", &m->name) < 0 ||
	    get_str(c, get(b, "version"), "bundle.version", 128, S_LABEL, &m->version) < 0 ||
	    get_uint(c, get(b, "security-version"), "bundle.security-version", INT64_MAX,
		     &m->security_version) < 0)
		return -1;
	v = get(b, "compatible");
	if (v->kind == Y_SCALAR && !res) {
		m->compatible = calloc(1, sizeof(char *));
		if (!m->compatible)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		m->n_compatible = 1;
		if (get_str(c, v, "bundle.compatible", 256, S_LABEL, &m->compatible[0]) < 0)
			return -1;
		if (!*m->compatible[0])
			return yfail(&c->y, v->line, v->col, "key 'bundle.compatible': empty entry");
	} else {
		if (want_kind(c, v, Y_SEQ, "bundle.compatible") < 0)
			return -1;
		if (v->n == 0 || v->n > 64)
			return yfail(&c->y, v->line, v->col,
				     "key 'bundle.compatible': expected 1 to 64 entries, found %zu", v->n);
		m->compatible = calloc(v->n, sizeof(char *));
		if (!m->compatible)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		for (size_t i = 0; i < v->n; i++) {
			m->n_compatible++;
			if (get_str(c, v->kid[i], "bundle.compatible", 256, S_LABEL, &m->compatible[i]) < 0)
				return -1;
			if (!*m->compatible[i])
				return yfail(&c->y, v->kid[i]->line, v->kid[i]->col,
					     "key 'bundle.compatible': empty entry");
		}
	}
	if (find_dup((const char *const *)m->compatible, m->n_compatible, 0, &first, &dup) > 0) {
		struct ynode *d = v->kind == Y_SEQ ? v->kid[dup] : v;

		return yfail(&c->y, d->line, d->col,
			     "key 'bundle.compatible': duplicate entry (same as entry %zu)", first + 1);
	}
	if ((v = get(b, "description")) &&
	    get_str(c, v, "bundle.description", 4096, S_TEXT, &m->description) < 0)
		return -1;
	if ((v = get(b, "expires"))) {
		if (get_time(c, v, "bundle.expires", &m->expires) < 0)
			return -1;
		m->has_expires = 1;
	}
	if ((v = get(b, "created"))) {
		if (get_time(c, v, "bundle.created", &m->created) < 0)
			return -1;
		m->has_created = 1;
	}
	if ((v = get(b, "meta")))
		return parse_meta(c, m, v);
	return 0;
}

/* bundle.meta: names as keys, unique even ignoring case (an installer may
 * turn them into environment variables or file names), free text values. */
static int parse_meta(struct sctx *c, struct oab_manifest *m, struct ynode *v)
{
	const char **keys;
	size_t first = 0, dup = 0;
	int r;

	if (want_kind(c, v, Y_MAP, "bundle.meta") < 0)
		return -1;
	m->n_meta = 0;
	m->meta = calloc(v->n / 2 + 1, sizeof(*m->meta));
	if (!m->meta)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		if (get_name(c, v->kid[i], "bundle.meta key", &m->meta[m->n_meta].key) < 0)
			return -1;
		m->n_meta++;
	}
	keys = oab_calloc_array(m->n_meta + 1, sizeof(*keys));
	if (!keys)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < m->n_meta; i++)
		keys[i] = m->meta[i].key;
	r = find_dup(keys, m->n_meta, 1, &first, &dup);
	free(keys);
	if (r < 0)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	if (r) {
		struct ynode *k = v->kid[2 * dup];

		if (strcmp(m->meta[first].key, m->meta[dup].key) == 0)
			return yfail(&c->y, k->line, k->col,
				     "duplicate key '%s' in 'bundle.meta' (first on line %zu)",
				     m->meta[dup].key, v->kid[2 * first]->line);
		return yfail(&c->y, k->line, k->col,
			     "key '%s' in 'bundle.meta' differs only in case from '%s' on line %zu",
			     m->meta[dup].key, m->meta[first].key, v->kid[2 * first]->line);
	}
	for (size_t i = 0; i < m->n_meta; i++)
		if (get_str(c, v->kid[2 * i + 1], m->meta[i].key, 4096, S_TEXT, &m->meta[i].value) < 0)
			return -1;
	return 0;
}

/* Item names, and member names, unique even ignoring case: on vfat and
 * other case-folding file systems `Rootfs` and `rootfs` (or `payloads/p.zst`
 * and `payloads/P.ZST`) are one file, and extracting one overwrites the
 * other. Names are ASCII (valid_name), so ASCII folding covers all case
 * pairs, and no Unicode normalisation can make two of them equal. */
static int check_unique(struct sctx *c, struct oab_manifest *m)
{
	const char **s = oab_calloc_array(m->n_items + 1, sizeof(*s));
	size_t first = 0, dup = 0;
	int r;

	if (!s)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < m->n_items; i++)
		s[i] = m->items[i].name;
	r = find_dup(s, m->n_items, 1, &first, &dup);
	if (r > 0) {
		const struct oab_item *a = &m->items[first], *b = &m->items[dup];

		free(s);
		if (strcmp(a->name, b->name) == 0)
			return yfail(&c->y, (size_t)b->line, 1,
				     "duplicate name '%s' (first used on line %d)", b->name, a->line);
		return yfail(&c->y, (size_t)b->line, 1,
			     "names '%s' and '%s' (line %d) differ only in case: they would overwrite each other on case-insensitive file systems",
			     b->name, a->name, a->line);
	}
	for (size_t i = 0; r == 0 && i < m->n_items; i++)
		s[i] = m->items[i].member;
	if (r == 0)
		r = find_dup(s, m->n_items, 1, &first, &dup);
	free(s);
	if (r < 0)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	if (r)
		return yfail(&c->y, (size_t)m->items[dup].line, 1,
			     "'%s' and '%s' would be stored under the same member name ('%s' and '%s' are one file on case-insensitive file systems)",
			     m->items[dup].name, m->items[first].name, m->items[dup].member,
			     m->items[first].member);
	return 0;
}

int oab_manifest_parse(const char *buf, size_t len, const char *label,
		       const char *basedir, enum oab_manifest_mode mode,
		       struct oab_manifest **out, struct oab_err *err)
{
	struct sctx c = {.y = {.label = label ? label : "manifest", .err = err},
			 .mode = mode, .basedir = basedir};
	struct ynode *root = NULL, *v;
	struct oab_manifest *m = NULL;
	uint64_t fmt;
	size_t cap;
	int rc = -1;

	*out = NULL;
	if (len > OAB_MAX_MANIFEST_BYTES)
		return oab_err_set(err, OAB_E_USAGE, "%s: larger than %d bytes", c.y.label,
				   OAB_MAX_MANIFEST_BYTES);
	if (oab_yparse(&c.y, buf, len, &root) < 0)
		return -1;
	if (oab_ycheck_text(&c.y, root, "") < 0)
		goto out;
	if (want_kind(&c, root, Y_MAP, "(top level)") < 0 ||
	    check_keys(&c, root, "(top level)", top_src_keys) < 0)
		goto out;
	v = get(root, "format");
	if (get_uint(&c, v, "format", 1000, &fmt) < 0)
		goto out;
	if (fmt != OAB_FORMAT_VERSION) {
		yfail(&c.y, v->line, v->col, "key 'format': version %llu is not supported (expected %d)",
		      (unsigned long long)fmt, OAB_FORMAT_VERSION);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	m->format = (int)fmt;
	if (mode == OAB_MANIFEST_SOURCE &&
	    !(m->source_dir = strdup(basedir && *basedir ? basedir : "."))) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (parse_bundle(&c, m, get(root, "bundle")) < 0)
		goto out;
	v = get(root, "payloads");
	cap = (v->kind == Y_SEQ ? v->n : 0) + 1;
	if ((v = get(root, "scripts")) && v->kind == Y_SEQ)
		cap += v->n;
	if (cap > OAB_MAX_ITEMS + 1) {
		oab_err_set(err, OAB_E_USAGE, "%s: more than %d payloads, scripts and sboms",
			    c.y.label, OAB_MAX_ITEMS);
		goto out;
	}
	m->items = calloc(cap, sizeof(*m->items));
	if (!m->items) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	v = get(root, "payloads");
	if (parse_items(&c, m, v, OAB_ITEM_PAYLOAD) < 0)
		goto out;
	if (m->n_items == 0) {
		yfail(&c.y, v->line, v->col, "key 'payloads': expected at least one payload");
		goto out;
	}
	if ((v = get(root, "scripts")) && parse_items(&c, m, v, OAB_ITEM_SCRIPT) < 0)
		goto out;
	if ((v = get(root, "sbom")) && parse_sbom(&c, m, v) < 0)
		goto out;
	if ((v = get(root, "export")) && oab_manifest_parse_exports(&c.y, m, v) < 0)
		goto out;
	if (mode == OAB_MANIFEST_RESOLVED && !m->has_created) {
		oab_err_set(err, OAB_E_USAGE, "%s: missing bundle.created", c.y.label);
		goto out;
	}
	for (size_t i = 0; mode == OAB_MANIFEST_SOURCE && i < m->n_items; i++) {
		m->items[i].member = member_name(&m->items[i]);
		if (!m->items[i].member) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
	}
	if (check_unique(&c, m) < 0)
		goto out;
	*out = m;
	m = NULL;
	rc = 0;
out:
	oab_ynode_free(root);
	oab_manifest_free(m);
	return rc;
}

int oab_manifest_load(const char *path, struct oab_manifest **out, struct oab_err *err)
{
	char *buf = NULL, *dir = NULL;
	size_t len;
	int rc;

	if (oab_read_file(path, OAB_MAX_MANIFEST_BYTES, &buf, &len, err) < 0)
		return oab_err_prefix(err, "manifest: ");
	if (strcmp(path, "-") != 0) {
		const char *slash = strrchr(path, '/');

		dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
		if (!dir) {
			free(buf);
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		}
	}
	rc = oab_manifest_parse(buf, len, strcmp(path, "-") == 0 ? "<stdin>" : path,
				dir, OAB_MANIFEST_SOURCE, out, err);
	free(buf);
	free(dir);
	return rc;
}

void oab_manifest_free(struct oab_manifest *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->version);
	free(m->description);
	for (size_t i = 0; i < m->n_compatible; i++)
		free(m->compatible[i]);
	free(m->compatible);
	for (size_t i = 0; i < m->n_meta; i++) {
		free(m->meta[i].key);
		free(m->meta[i].value);
	}
	free(m->meta);
	for (size_t i = 0; i < m->n_items; i++) {
		struct oab_item *it = &m->items[i];

		free(it->name);
		free(it->type);
		free(it->slot);
		free(it->hook);
		free(it->source);
		free(it->source_raw);
		free(it->source_where);
		free(it->member);
		free(it->chunk_sha256);
		oab_delta_free(it->delta);
		free(it->delta_from);
		free(it->delta_from_raw);
		free(it->delta_from_where);
	}
	free(m->items);
	free(m->source_dir);
	oab_exports_free(m);
	free(m);
}

const struct oab_item *oab_manifest_find(const struct oab_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_items; i++)
		if (strcmp(m->items[i].name, name) == 0)
			return &m->items[i];
	return NULL;
}

/* ---- delta payloads (otabundle-format(5) DELTA ENCODING) ------------------ */

/* Grow an array of n entries of size sz to hold one more. */
static int grow(void **arr, size_t n, size_t *cap, size_t sz)
{
	void *q;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 8;
	if (!(q = realloc(*arr, nc * sz)))
		return -1;
	*arr = q;
	*cap = nc;
	return 0;
}

/* A decimal number at *p (no sign, no leading zero unless 0) ended by
 * one of the characters in ends, or by the end of the string if last;
 * *p moves past it (to its end character). */
static int seg_num(const char **p, const char *ends, int last, uint64_t *v)
{
	char *end;

	if (**p < '0' || **p > '9' || ((*p)[0] == '0' && (*p)[1] >= '0' && (*p)[1] <= '9'))
		return -1;
	errno = 0;
	*v = strtoull(*p, &end, 10);
	if (errno || (*end ? !strchr(ends, *end) : !last))
		return -1;
	*p = end;
	return 0;
}

/* One segment: "FRAME-SIZE" then its prefix extents "OFFSET+LENGTH" and
 * its copies "AT=OFFSET+LENGTH", single spaces: every range inside the
 * base, the extents totalling at most prefix-max, the copies in order
 * inside the segment without overlapping. */
static int parse_segment(struct sctx *c, struct ynode *n, const char *key, struct oab_delta *d,
			 struct oab_delta_segment *s, uint64_t seg_len)
{
	const char *p;
	uint64_t total = 0, end_at = 0;
	size_t cap_e = 0, cap_c = 0;

	if (want_kind(c, n, Y_SCALAR, key) < 0)
		return -1;
	p = n->s;
	if (seg_num(&p, " ", 1, &s->frame_size) < 0 || s->frame_size == 0)
		goto bad;
	/* a frame is never larger than zstd's bound for its segment */
	if (s->frame_size > ZSTD_COMPRESSBOUND(seg_len) + 64)
		return yfail(&c->y, n->line, n->col,
			     "key '%s': frame of %llu bytes, more than a %llu-byte segment can take",
			     key, (unsigned long long)s->frame_size, (unsigned long long)seg_len);
	while (*p == ' ') {
		uint64_t a = 0, off, len;
		int copy;

		p++;
		if (seg_num(&p, "=+", 0, &off) < 0)
			goto bad;
		copy = *p == '=';
		if (copy) {
			a = off;
			p++;
			if (seg_num(&p, "+", 0, &off) < 0)
				goto bad;
		}
		p++;
		if (seg_num(&p, " ", 1, &len) < 0 || len == 0)
			goto bad;
		if (off > d->base_size || len > d->base_size - off)
			return yfail(&c->y, n->line, n->col,
				     "key '%s': range %llu+%llu lies outside the %llu-byte base", key,
				     (unsigned long long)off, (unsigned long long)len,
				     (unsigned long long)d->base_size);
		if (copy) {
			if (a < end_at || a > seg_len || len > seg_len - a)
				return yfail(&c->y, n->line, n->col,
					     "key '%s': copy at %llu (%llu bytes) overlaps the one before or leaves the %llu-byte segment",
					     key, (unsigned long long)a, (unsigned long long)len,
					     (unsigned long long)seg_len);
			if (s->n_copies == OAB_DELTA_COPIES_MAX)
				return yfail(&c->y, n->line, n->col, "key '%s': more than %d copies", key,
					     OAB_DELTA_COPIES_MAX);
			if (grow((void **)&s->copies, s->n_copies, &cap_c, sizeof(*s->copies)) < 0)
				return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
			s->copies[s->n_copies++] = (struct oab_delta_copy){a, off, len};
			end_at = a + len;
			continue;
		}
		if (s->n_copies)
			goto bad; /* extents come first */
		if (len > d->prefix_max - total)
			return yfail(&c->y, n->line, n->col,
				     "key '%s': extents total more than prefix-max (%u bytes)", key,
				     d->prefix_max);
		total += len;
		if (s->n_extents == OAB_DELTA_EXTENTS_MAX)
			return yfail(&c->y, n->line, n->col, "key '%s': more than %d extents", key,
				     OAB_DELTA_EXTENTS_MAX);
		if (grow((void **)&s->extents, s->n_extents, &cap_e, sizeof(*s->extents)) < 0)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		s->extents[s->n_extents++] = (struct oab_delta_extent){off, len};
	}
	if (*p)
		goto bad;
	return 0;
bad:
	return yfail(&c->y, n->line, n->col,
		     "key '%s': expected 'FRAME-SIZE OFFSET+LENGTH... AT=OFFSET+LENGTH...' (decimal, single spaces), found '%.40s'",
		     key, n->s);
}

static const char *const delta_keys[] = {"!encoding", "!base-size", "!base-sha256",
					 "!segment-size", "!prefix-max", "!window-log", "level",
					 "!segments", NULL};

static int parse_delta(struct sctx *c, struct ynode *map, struct oab_item *it,
		       const char *where)
{
	struct oab_delta *d = it->delta;
	struct ynode *v, *seq;
	uint64_t u, want, frames = 0;
	char key[160];

	if (it->compression != OAB_COMP_ZSTD) {
		v = get(map, c->mode == OAB_MANIFEST_SOURCE ? "delta-from" : "delta");
		return yfail(&c->y, v ? v->line : (size_t)it->line, v ? v->col : 1,
			     "'%s': a delta payload is zstd frames: compression none is not allowed",
			     where);
	}
	if (c->mode == OAB_MANIFEST_SOURCE) {
		char *src = NULL;

		struct ynode *df = get(map, "delta-from");

		snprintf(key, sizeof(key), "%s.delta-from", where);
		if (!df || get_str(c, df, key, 4096, S_PATH, &src) < 0)
			return df ? -1 : oab_err_set(c->y.err, OAB_E_INTERNAL, "%s: no delta-from", key);
		if (!src)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "%s: no value", key);
		it->delta_from = join_path(c->basedir, src);
		it->delta_from_raw = src;
		if (asprintf(&it->delta_from_where, "%s:%zu:%zu: key '%s'", c->y.label,
			     df->line, df->col, key) < 0)
			it->delta_from_where = NULL;
		if (!it->delta_from || !it->delta_from_where)
			return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
		return 0;
	}
	v = get(map, "delta");
	snprintf(key, sizeof(key), "%s.delta", where);
	if (want_kind(c, v, Y_MAP, key) < 0 || check_keys(c, v, key, delta_keys) < 0)
		return -1;
#define DKEY(k) (snprintf(key, sizeof(key), "%s.delta.%s", where, k), key)
	if (want_kind(c, get(v, "encoding"), Y_SCALAR, DKEY("encoding")) < 0)
		return -1;
	if (strcmp(get(v, "encoding")->s, OAB_DELTA_ENCODING) != 0)
		return yfail(&c->y, get(v, "encoding")->line, get(v, "encoding")->col,
			     "key '%s': expected %s, found '%.40s'", key, OAB_DELTA_ENCODING,
			     get(v, "encoding")->s);
	if (get_uint(c, get(v, "base-size"), DKEY("base-size"), INT64_MAX, &d->base_size) < 0 ||
	    get_sha(c, get(v, "base-sha256"), DKEY("base-sha256"), d->base_sha256) < 0)
		return -1;
	if (get_uint(c, get(v, "segment-size"), DKEY("segment-size"), OAB_DELTA_SEGMENT_MAX, &u) < 0)
		return -1;
	if (u < OAB_DELTA_SEGMENT_MIN || u % 4096)
		return yfail(&c->y, get(v, "segment-size")->line, get(v, "segment-size")->col,
			     "key '%s': expected a multiple of 4096 from %d to %d", key,
			     OAB_DELTA_SEGMENT_MIN, OAB_DELTA_SEGMENT_MAX);
	d->segment_size = (uint32_t)u;
	if (get_uint(c, get(v, "prefix-max"), DKEY("prefix-max"), OAB_DELTA_PREFIX_MAX, &u) < 0)
		return -1;
	d->prefix_max = (uint32_t)u;
	if (get_uint(c, get(v, "window-log"), DKEY("window-log"), OAB_ZSTD_WINDOWLOG_MAX, &u) < 0)
		return -1;
	d->window_log = (int)u;
	if (u < 10 || ((uint64_t)d->prefix_max + d->segment_size) > (UINT64_C(1) << u))
		return yfail(&c->y, get(v, "window-log")->line, get(v, "window-log")->col,
			     "key '%s': expected 10 to %d, and a window of at least prefix-max + segment-size bytes",
			     key, OAB_ZSTD_WINDOWLOG_MAX);
	if (get(v, "level")) {
		if (get_uint(c, get(v, "level"), DKEY("level"), 22, &u) < 0)
			return -1;
		d->level = (int)u;
	}
	seq = get(v, "segments");
	if (want_kind(c, seq, Y_SEQ, DKEY("segments")) < 0)
		return -1;
	want = it->size ? (it->size - 1) / d->segment_size + 1 : 0;
	if (seq->n != want)
		return yfail(&c->y, seq->line, seq->col,
			     "key '%s': %zu segments, expected %llu (%llu bytes in segments of %u)", key,
			     seq->n, (unsigned long long)want, (unsigned long long)it->size,
			     d->segment_size);
	d->segments = oab_calloc_array(seq->n, sizeof(*d->segments));
	if (!d->segments)
		return oab_err_set(c->y.err, OAB_E_INTERNAL, "out of memory");
	d->n_segments = seq->n;
	for (size_t i = 0; i < seq->n; i++) {
		uint64_t at = (uint64_t)i * d->segment_size;
		uint64_t len = it->size - at < d->segment_size ? it->size - at : d->segment_size;

		snprintf(key, sizeof(key), "%s.delta.segments[%zu]", where, i);
		if (parse_segment(c, seq->kid[i], key, d, &d->segments[i], len) < 0)
			return -1;
		frames += d->segments[i].frame_size;
	}
#undef DKEY
	if (frames != it->stored_size)
		return yfail(&c->y, seq->line, seq->col,
			     "'%s': the frames total %llu bytes, stored-size is %llu", where,
			     (unsigned long long)frames, (unsigned long long)it->stored_size);
	return 0;
}
