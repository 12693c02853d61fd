/* SPDX-License-Identifier: Apache-2.0 */
/* manifest_export.c - the manifest's optional `export:` map: settings for
 * the native formats otabundle exports to (otabundle-export(5)), read in
 * source and resolved manifests alike, so they are signed with the rest.
 *
 *   export:
 *     FORMAT:
 *       KEY: VALUE | [VALUE, ...]
 *       items:
 *         ITEM:            # a payload, script or sbom of this manifest
 *           KEY: VALUE | [VALUE, ...]
 *
 * Every format, key and value kind is in the table below; a value goes
 * into another program's configuration syntax (an INI file, libconfig,
 * JSON), so values are one line of printable text and each kind narrows
 * that further. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define EXPORT_VALUE_MAX 1024
#define EXPORT_LIST_MAX 64

enum vkind {
	V_TEXT, /* one line of printable text (no control characters) */
	V_WORD, /* [A-Za-z0-9._+-]+ */
	V_PATH, /* an absolute path: '/' then no whitespace */
};

struct export_key {
	const char *format;
	int per_item;  /* under items.ITEM */
	const char *key;
	int list;      /* a list of values (a single scalar is taken as one) */
	enum vkind kind;
	const char *const *one_of; /* NULL: any value of the kind */
};

static const char *const rauc_formats[] = {"verity", "plain", NULL};
static const char *const rauc_hooks[] = {"pre-install", "install", "post-install", NULL};

/* One section per format; each format's owner keeps its own rows. */
static const struct export_key export_keys[] = {
	/* ---- RAUC (otabundle-export(5) RAUC) ---- */
	{"rauc", 0, "format", 0, V_WORD, rauc_formats},
	{"rauc", 0, "compatible", 0, V_TEXT, NULL},
	{"rauc", 0, "hook-script", 0, V_WORD, NULL},
	{"rauc", 1, "class", 0, V_WORD, NULL},
	{"rauc", 1, "filename", 0, V_WORD, NULL},
	{"rauc", 1, "hooks", 1, V_WORD, rauc_hooks},
	/* ---- SWUpdate (otabundle-export(5) SWUPDATE) ---- */
	{"swupdate", 0, "hardware-compatibility", 1, V_TEXT, NULL},
	{"swupdate", 1, "type", 0, V_WORD, NULL},
	{"swupdate", 1, "device", 0, V_PATH, NULL},
	{"swupdate", 1, "path", 0, V_PATH, NULL},
	{"swupdate", 1, "filesystem", 0, V_WORD, NULL},
	{"swupdate", 1, "volume", 0, V_WORD, NULL},
	/* ---- Mender (otabundle-export(5) MENDER) ---- */
	{"mender", 0, "device-type", 1, V_TEXT, NULL},
	{"mender", 0, "artifact-name", 0, V_TEXT, NULL},
	{"mender", 1, "type", 0, V_WORD, NULL},
	{"mender", 1, "file", 0, V_WORD, NULL},
	{"mender", 1, "provides", 1, V_TEXT, NULL},
};

#define N_KEYS (sizeof(export_keys) / sizeof(export_keys[0]))

static const struct export_key *key_find(const char *format, int per_item, const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(export_keys[i].format, format) == 0 &&
		    export_keys[i].per_item == per_item && strcmp(export_keys[i].key, key) == 0)
			return &export_keys[i];
	return NULL;
}

static int format_known(const char *format)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(export_keys[i].format, format) == 0)
			return 1;
	return 0;
}

/* "a, b, c": the keys (or formats, keys NULL) allowed at this place */
static void allowed_list(const char *format, int per_item, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_KEYS; i++) {
		const char *name = format ? export_keys[i].key : export_keys[i].format;
		int seen = 0;

		if (format && (strcmp(export_keys[i].format, format) || export_keys[i].per_item != per_item))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !format && strcmp(export_keys[j].format, name) == 0;
		if (seen)
			continue;
		len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", len ? ", " : "", name);
	}
	if (format && !per_item && len < n)
		snprintf(buf + len, n - len, "%sitems", len ? ", " : "");
}

static int check_value(struct yctx *y, const struct ynode *v, const struct export_key *k,
		       const char *where)
{
	char esc[256];

	if (v->kind != Y_SCALAR)
		return oab_yfail(y, v->line, v->col, "key '%s': expected a scalar value", where);
	if (v->slen == 0 || v->slen > EXPORT_VALUE_MAX || strlen(v->s) != v->slen)
		return oab_yfail(y, v->line, v->col, "key '%s': expected 1 to %d characters",
				 where, EXPORT_VALUE_MAX);
	if (oab_first_control(v->s, v->slen, 0) >= 0)
		return oab_yfail(y, v->line, v->col,
				 "key '%s': expected one line of printable text (no tab, newline "
				 "or other control character)", where);
	for (size_t i = 0; i < v->slen; i++) {
		unsigned char ch = (unsigned char)v->s[i];
		int ok = k->kind == V_TEXT ||
			 (k->kind == V_WORD && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
						(ch >= '0' && ch <= '9') || strchr("._+-", ch))) ||
			 (k->kind == V_PATH && ch > ' ' && ch < 0x7f && (i || ch == '/'));

		if (!ok) {
			oab_escape(v->s, v->slen, esc, sizeof(esc));
			return oab_yfail(y, v->line, v->col, "key '%s': '%s' is not %s", where, esc,
					 k->kind == V_WORD ? "a word ([A-Za-z0-9._+-])"
							   : "an absolute path without spaces");
		}
	}
	if (k->one_of) {
		char list[128] = "";

		for (const char *const *o = k->one_of; *o; o++)
			if (strcmp(*o, v->s) == 0)
				return 0;
		for (const char *const *o = k->one_of; *o; o++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 *list ? ", " : "", *o);
		oab_escape(v->s, v->slen, esc, sizeof(esc));
		return oab_yfail(y, v->line, v->col, "key '%s': '%s' (expected one of: %s)", where,
				 esc, list);
	}
	return 0;
}

static int add_setting(struct yctx *y, struct oab_manifest *m, const char *format,
		       const char *item, const struct ynode *kn, const struct ynode *v)
{
	const struct export_key *k;
	struct oab_export_setting *s;
	char where[256], list[512];
	const struct ynode *const *vals = &v;
	size_t nv = 1;

	snprintf(where, sizeof(where), "export.%s.%s%s%s", format, item ? "items." : "",
		 item ? item : "", item ? "." : "");
	snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s", kn->s);
	if (!(k = key_find(format, item != NULL, kn->s))) {
		char esc[128];

		allowed_list(format, item != NULL, list, sizeof(list));
		oab_escape(kn->s, kn->slen, esc, sizeof(esc));
		return oab_yfail(y, kn->line, kn->col, "unknown key '%s' in 'export.%s%s%s' "
				 "(expected one of: %s)", esc, format, item ? ".items." : "",
				 item ? item : "", list);
	}
	if (v->kind == Y_SEQ) {
		if (!k->list)
			return oab_yfail(y, v->line, v->col, "key '%s': expected a scalar, found a list",
					 where);
		if (v->n == 0 || v->n > EXPORT_LIST_MAX)
			return oab_yfail(y, v->line, v->col, "key '%s': expected 1 to %d values",
					 where, EXPORT_LIST_MAX);
		vals = (const struct ynode *const *)v->kid;
		nv = v->n;
	}
	for (size_t i = 0; i < nv; i++)
		if (check_value(y, vals[i], k, where) < 0)
			return -1;
	s = &m->exports[m->n_exports];
	memset(s, 0, sizeof(*s));
	s->list = v->kind == Y_SEQ;
	if (!(s->format = strdup(format)) || (item && !(s->item = strdup(item))) ||
	    !(s->key = strdup(kn->s)) || !(s->values = oab_calloc_array(nv, sizeof(char *))))
		goto oom;
	m->n_exports++;
	for (; s->n_values < nv; s->n_values++)
		if (!(s->values[s->n_values] = strdup(vals[s->n_values]->s)))
			return oab_err_set(y->err, OAB_E_INTERNAL, "out of memory");
	return 0;
oom:
	free(s->format);
	free(s->item);
	free(s->key);
	free(s->values);
	return oab_err_set(y->err, OAB_E_INTERNAL, "out of memory");
}

static int want_map(struct yctx *y, const struct ynode *n, const char *where)
{
	if (n->kind != Y_MAP)
		return oab_yfail(y, n->line, n->col, "key '%s': expected a mapping", where);
	return 0;
}

/* Keys are unique within each mapping (the YAML tree keeps duplicates). */
static int unique_keys(struct yctx *y, const struct ynode *map, const char *where)
{
	if (map->n / 2 > OAB_MAX_ITEMS) /* bounds the pairwise comparison below */
		return oab_yfail(y, map->line, map->col, "key '%s': more than %d keys", where,
				 OAB_MAX_ITEMS);
	for (size_t i = 0; i < map->n; i += 2) {
		if (map->kid[i]->kind != Y_SCALAR)
			return oab_yfail(y, map->kid[i]->line, map->kid[i]->col,
					 "'%s': keys must be scalars", where);
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(map->kid[i]->s, map->kid[j]->s) == 0) {
				char esc[128];

				oab_escape(map->kid[i]->s, map->kid[i]->slen, esc, sizeof(esc));
				return oab_yfail(y, map->kid[i]->line, map->kid[i]->col,
						 "duplicate key '%s' in '%s' (first on line %zu)",
						 esc, where, map->kid[j]->line);
			}
	}
	return 0;
}

static size_t count_settings(const struct ynode *v)
{
	size_t n = 0;

	for (size_t i = 0; v->kind == Y_MAP && i + 1 < v->n; i += 2) {
		const struct ynode *f = v->kid[i + 1];

		for (size_t j = 0; f->kind == Y_MAP && j + 1 < f->n; j += 2) {
			const struct ynode *items = f->kid[j + 1];

			if (strcmp(f->kid[j]->s, "items") || items->kind != Y_MAP) {
				n++;
				continue;
			}
			for (size_t k = 0; k + 1 < items->n; k += 2)
				if (items->kid[k + 1]->kind == Y_MAP)
					n += items->kid[k + 1]->n / 2;
		}
	}
	return n;
}

int oab_manifest_parse_exports(struct yctx *y, struct oab_manifest *m, const struct ynode *v)
{
	char where[160], list[256];
	size_t n;

	if (want_map(y, v, "export") < 0 || unique_keys(y, v, "export") < 0)
		return -1;
	n = count_settings(v);
	if (!(m->exports = oab_calloc_array(n + 1, sizeof(*m->exports))))
		return oab_err_set(y->err, OAB_E_INTERNAL, "out of memory");
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *fk = v->kid[i], *f = v->kid[i + 1];
		const char *format = fk->s;

		if (!format_known(format)) {
			char esc[128];

			allowed_list(NULL, 0, list, sizeof(list));
			oab_escape(fk->s, fk->slen, esc, sizeof(esc));
			return oab_yfail(y, fk->line, fk->col,
					 "unknown key '%s' in 'export' (expected one of: %s)", esc, list);
		}
		snprintf(where, sizeof(where), "export.%s", format);
		if (want_map(y, f, where) < 0 || unique_keys(y, f, where) < 0)
			return -1;
		for (size_t j = 0; j + 1 < f->n; j += 2) {
			const struct ynode *items = f->kid[j + 1];

			if (strcmp(f->kid[j]->s, "items") != 0) {
				if (add_setting(y, m, format, NULL, f->kid[j], items) < 0)
					return -1;
				continue;
			}
			snprintf(where, sizeof(where), "export.%s.items", format);
			if (want_map(y, items, where) < 0 || unique_keys(y, items, where) < 0)
				return -1;
			for (size_t k = 0; k + 1 < items->n; k += 2) {
				const struct ynode *ik = items->kid[k], *iv = items->kid[k + 1];

				if (!oab_manifest_find(m, ik->s)) {
					char esc[128];

					oab_escape(ik->s, ik->slen, esc, sizeof(esc));
					return oab_yfail(y, ik->line, ik->col,
							 "key 'export.%s.items': '%s' is not a payload, "
							 "script or sbom of this manifest", format, esc);
				}
				snprintf(where, sizeof(where), "export.%s.items.%s", format, ik->s);
				if (want_map(y, iv, where) < 0 || unique_keys(y, iv, where) < 0)
					return -1;
				for (size_t l = 0; l + 1 < iv->n; l += 2)
					if (add_setting(y, m, format, ik->s, iv->kid[l], iv->kid[l + 1]) < 0)
						return -1;
			}
		}
	}
	return 0;
}

void oab_exports_free(struct oab_manifest *m)
{
	for (size_t i = 0; i < m->n_exports; i++) {
		struct oab_export_setting *s = &m->exports[i];

		free(s->format);
		free(s->item);
		free(s->key);
		for (size_t j = 0; j < s->n_values; j++)
			free(s->values[j]);
		free(s->values);
	}
	free(m->exports);
	m->exports = NULL;
	m->n_exports = 0;
}

const struct oab_export_setting *oab_export_find(const struct oab_manifest *m,
						 const char *format, const char *item,
						 const char *key)
{
	for (size_t i = 0; m && i < m->n_exports; i++) {
		const struct oab_export_setting *s = &m->exports[i];

		if (strcmp(s->format, format) == 0 && strcmp(s->key, key) == 0 &&
		    (item ? s->item && strcmp(s->item, item) == 0 : !s->item))
			return s;
	}
	return NULL;
}
