/* SPDX-License-Identifier: Apache-2.0 */
/* manifest_emit.c - the emitter of the resolved manifest that a build
 * signs (oab_manifest_emit): the same schema that manifest.c reads, in a
 * fixed key order and quoting, so that it reads back unchanged. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "internal.h"

struct emit {
	yaml_emitter_t e;
	char *buf;
	size_t len, cap;
	int failed;
};

static int emit_write(void *data, unsigned char *buffer, size_t size)
{
	struct emit *em = data;

	if (em->len + size + 1 > em->cap) {
		size_t ncap = (em->cap ? em->cap : 4096);
		char *nb;

		while (ncap < em->len + size + 1)
			ncap *= 2;
		nb = realloc(em->buf, ncap);
		if (!nb)
			return 0;
		em->buf = nb;
		em->cap = ncap;
	}
	memcpy(em->buf + em->len, buffer, size);
	em->len += size;
	em->buf[em->len] = '\0';
	return 1;
}

static void ev_emit(struct emit *em, yaml_event_t *ev, int ok)
{
	if (em->failed)
		return;
	if (!ok || !yaml_emitter_emit(&em->e, ev))
		em->failed = 1;
}

static void e_scalar(struct emit *em, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	ev_emit(em, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
						      (int)strlen(s), 1, 1, style));
}

static void e_key(struct emit *em, const char *k)
{
	e_scalar(em, k, YAML_PLAIN_SCALAR_STYLE);
}

static void e_str(struct emit *em, const char *k, const char *v)
{
	e_key(em, k);
	e_scalar(em, v, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void e_plain(struct emit *em, const char *k, const char *v)
{
	e_key(em, k);
	e_scalar(em, v, YAML_PLAIN_SCALAR_STYLE);
}

static void e_uint(struct emit *em, const char *k, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	e_plain(em, k, b);
}

static void e_map(struct emit *em, int start)
{
	yaml_event_t ev;

	if (start)
		ev_emit(em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
								      YAML_BLOCK_MAPPING_STYLE));
	else
		ev_emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void e_seq(struct emit *em, int start, yaml_sequence_style_t style)
{
	yaml_event_t ev;

	if (start)
		ev_emit(em, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, style));
	else
		ev_emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void e_item(struct emit *em, const struct oab_item *it)
{
	char b[72];

	e_map(em, 1);
	e_str(em, "name", it->name);
	if (it->type)
		e_plain(em, "type", it->type);
	if (it->slot)
		e_str(em, "slot", it->slot);
	if (it->hook)
		e_plain(em, "hook", it->hook);
	if (it->compression == OAB_COMP_NONE) {
		e_plain(em, "compression", "none");
	} else {
		snprintf(b, sizeof(b), "zstd:%d", it->level);
		e_plain(em, "compression", b);
	}
	e_plain(em, "member", it->member);
	e_uint(em, "size", it->size);
	oab_hex(it->sha256, 32, b);
	e_plain(em, "sha256", b);
	e_uint(em, "stored-size", it->stored_size);
	if (it->compression == OAB_COMP_NONE) {
		oab_hex(it->stored_sha256, 32, b);
		e_plain(em, "stored-sha256", b);
	} else {
		e_uint(em, "stored-chunk-size", it->chunk_size);
		e_key(em, "stored-chunks-sha256");
		e_seq(em, 1, YAML_BLOCK_SEQUENCE_STYLE);
		for (size_t i = 0; i < it->n_chunks; i++) {
			oab_hex(it->chunk_sha256[i], 32, b);
			e_scalar(em, b, YAML_PLAIN_SCALAR_STYLE);
		}
		e_seq(em, 0, YAML_BLOCK_SEQUENCE_STYLE);
	}
	e_map(em, 0);
}

/* The `export:` map, settings grouped as they were read: per format its
 * bundle-level keys, then `items:` with each item's keys. */
static void e_exports(struct emit *em, const struct oab_manifest *m)
{
	const char *format = NULL, *item = NULL;

	if (!m->n_exports)
		return;
	e_key(em, "export");
	e_map(em, 1);
	for (size_t i = 0; i < m->n_exports; i++) {
		const struct oab_export_setting *s = &m->exports[i];

		if (!format || strcmp(format, s->format) != 0) {
			if (item)
				e_map(em, 0), e_map(em, 0); /* the item, items: */
			if (format)
				e_map(em, 0);
			format = s->format;
			item = NULL;
			e_key(em, format);
			e_map(em, 1);
		}
		if (!s->item && item) { /* bundle-level keys written after items: */
			e_map(em, 0), e_map(em, 0);
			item = NULL;
		}
		if (s->item && (!item || strcmp(item, s->item) != 0)) {
			if (item)
				e_map(em, 0);
			else
				e_key(em, "items"), e_map(em, 1);
			item = s->item;
			e_key(em, item);
			e_map(em, 1);
		}
		e_key(em, s->key);
		if (s->list)
			e_seq(em, 1, YAML_FLOW_SEQUENCE_STYLE);
		for (size_t j = 0; j < s->n_values; j++)
			e_scalar(em, s->values[j], YAML_DOUBLE_QUOTED_SCALAR_STYLE);
		if (s->list)
			e_seq(em, 0, 0);
	}
	if (item)
		e_map(em, 0), e_map(em, 0);
	e_map(em, 0);
	e_map(em, 0);
}

int oab_manifest_emit(const struct oab_manifest *m, char **buf, size_t *len,
		      struct oab_err *err)
{
	struct emit em = {0};
	yaml_event_t ev;
	char tb[32];
	int any;

	*buf = NULL;
	/* a time that does not read back would give a bundle that its own
	 * verifier refuses */
	if (m->created < 0 || m->created > OAB_TIME_MAX ||
	    (m->has_expires && (m->expires < 0 || m->expires > OAB_TIME_MAX)))
		return oab_err_set(err, OAB_E_USAGE,
				   "bundle.%s: %lld is outside 0 to %lld (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)",
				   m->created < 0 || m->created > OAB_TIME_MAX ? "created" : "expires",
				   (long long)(m->created < 0 || m->created > OAB_TIME_MAX ? m->created : m->expires),
				   (long long)OAB_TIME_MAX);
	if (!yaml_emitter_initialize(&em.e))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	yaml_emitter_set_output(&em.e, emit_write, &em);
	yaml_emitter_set_width(&em.e, -1);
	yaml_emitter_set_unicode(&em.e, 1);
	yaml_emitter_set_break(&em.e, YAML_LN_BREAK);
	ev_emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	ev_emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	e_map(&em, 1);
	e_uint(&em, "format", (uint64_t)m->format);
	e_key(&em, "bundle");
	e_map(&em, 1);
	e_str(&em, "name", m->name);
	e_str(&em, "version", m->version);
	e_uint(&em, "security-version", m->security_version);
	e_key(&em, "compatible");
	e_seq(&em, 1, YAML_FLOW_SEQUENCE_STYLE);
	for (size_t i = 0; i < m->n_compatible; i++)
		e_scalar(&em, m->compatible[i], YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	e_seq(&em, 0, 0);
	if (m->description)
		e_str(&em, "description", m->description);
	if (m->has_expires) {
		oab_time_format(m->expires, tb);
		e_plain(&em, "expires", tb);
	}
	oab_time_format(m->created, tb);
	e_plain(&em, "created", tb);
	if (m->n_meta) {
		e_key(&em, "meta");
		e_map(&em, 1);
		for (size_t i = 0; i < m->n_meta; i++) {
			const char *k = m->meta[i].key;

			/* a plain `null:` key would read back as null */
			e_scalar(&em, k, strcmp(k, "null") && strcmp(k, "Null") && strcmp(k, "NULL")
					 ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
			e_scalar(&em, m->meta[i].value, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
		}
		e_map(&em, 0);
	}
	e_map(&em, 0);
	for (int kind = OAB_ITEM_PAYLOAD; kind <= OAB_ITEM_SBOM; kind++) {
		any = 0;
		for (size_t i = 0; i < m->n_items; i++) {
			if ((int)m->items[i].kind != kind)
				continue;
			if (!any && kind != OAB_ITEM_SBOM) {
				e_key(&em, kind == OAB_ITEM_PAYLOAD ? "payloads" : "scripts");
				e_seq(&em, 1, YAML_BLOCK_SEQUENCE_STYLE);
			} else if (kind == OAB_ITEM_SBOM) {
				e_key(&em, "sbom");
			}
			any = 1;
			e_item(&em, &m->items[i]);
		}
		if (any && kind != OAB_ITEM_SBOM)
			e_seq(&em, 0, 0);
	}
	e_exports(&em, m);
	e_map(&em, 0);
	ev_emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1));
	ev_emit(&em, &ev, yaml_stream_end_event_initialize(&ev));
	if (!em.failed && !yaml_emitter_flush(&em.e))
		em.failed = 1;
	yaml_emitter_delete(&em.e);
	if (em.failed || !em.buf) {
		free(em.buf);
		return oab_err_set(err, OAB_E_INTERNAL, "cannot emit the resolved manifest");
	}
	*buf = em.buf;
	*len = em.len;
	return 0;
}
