/* SPDX-License-Identifier: Apache-2.0 */
/* manifest_tree.c - the strict YAML reader under the manifest schema:
 * libyaml events -> a small tree of scalars, mappings and lists, with
 * limits on depth and nodes, one document only, and no control character
 * in any key or value (oab_ycheck_text). The schema is in manifest.c. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "internal.h"

/* ---- tree ------------------------------------------------------------ */

void oab_ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		oab_ynode_free(n->kid[i]);
	free(n->kid);
	free(n->s);
	free(n);
}

int oab_yfail(struct yctx *c, size_t line, size_t col, const char *fmt, ...)
{
	char msg[OAB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return oab_err_set(c->err, OAB_E_USAGE, "%s:%zu:%zu: %s", c->label, line, col, msg);
}

static int ynode_push(struct yctx *c, struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t ncap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **nk = realloc(parent->kid, ncap * sizeof(*nk));

		if (!nk) { /* -1 in so many words: the caller frees kid */
			oab_err_set(c->err, OAB_E_INTERNAL, "out of memory");
			return -1;
		}
		parent->kid = nk;
		parent->cap = ncap;
	}
	parent->kid[parent->n++] = kid;
	return 0;
}

/* Build the node that starts with event ev (already taken), reading its
 * children from p. */
static int yread_node(struct yctx *c, yaml_parser_t *p, yaml_event_t *ev,
		      int depth, struct ynode **out)
{
	struct ynode *n;
	const char *anchor = NULL, *tag = NULL;
	int implicit = 1;

	*out = NULL;
	if (++c->nodes > OAB_MAX_YAML_NODES)
		return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			     "more than %d YAML nodes", OAB_MAX_YAML_NODES);
	if (depth > OAB_MAX_YAML_DEPTH)
		return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			     "nesting deeper than %d levels", OAB_MAX_YAML_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			     "YAML aliases (*name) are not allowed in a manifest");
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		tag = (const char *)ev->data.scalar.tag;
		implicit = ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		tag = (const char *)ev->data.mapping_start.tag;
		implicit = ev->data.mapping_start.implicit;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		tag = (const char *)ev->data.sequence_start.tag;
		implicit = ev->data.sequence_start.implicit;
		break;
	default:
		return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			     "unexpected YAML structure");
	}
	if (anchor)
		return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			     "YAML anchors (&%s) are not allowed in a manifest", anchor);
	if (tag && !implicit)
		return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			     "YAML tags (%s) are not allowed in a manifest", tag);
	n = calloc(1, sizeof(*n));
	if (!n)
		return oab_err_set(c->err, OAB_E_INTERNAL, "out of memory");
	n->line = ev->start_mark.line + 1;
	n->col = ev->start_mark.column + 1;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = Y_SCALAR;
		n->slen = ev->data.scalar.length;
		if (n->slen > OAB_MAX_SCALAR) {
			free(n);
			return oab_yfail(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
				     "scalar longer than %d bytes", OAB_MAX_SCALAR);
		}
		n->s = malloc(n->slen + 1);
		if (!n->s) {
			free(n);
			return oab_err_set(c->err, OAB_E_INTERNAL, "out of memory");
		}
		memcpy(n->s, ev->data.scalar.value, n->slen);
		n->s[n->slen] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		*out = n;
		return 0;
	}
	n->kind = ev->type == YAML_MAPPING_START_EVENT ? Y_MAP : Y_SEQ;
	for (;;) {
		yaml_event_t kev;
		struct ynode *kid;
		int rc;

		if (!yaml_parser_parse(p, &kev)) {
			oab_yfail(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
			      "invalid YAML: %s", p->problem ? p->problem : "syntax error");
			oab_ynode_free(n);
			return -1;
		}
		if (kev.type == YAML_MAPPING_END_EVENT || kev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		rc = yread_node(c, p, &kev, depth + 1, &kid);
		yaml_event_delete(&kev);
		if (rc < 0 || ynode_push(c, n, kid) < 0) {
			oab_ynode_free(kid);
			oab_ynode_free(n);
			return -1;
		}
	}
	*out = n;
	return 0;
}

int oab_yparse(struct yctx *c, const char *buf, size_t len, struct ynode **root)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -1, docs = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return oab_err_set(c->err, OAB_E_INTERNAL, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			oab_yfail(c, p.problem_mark.line + 1, p.problem_mark.column + 1,
			      "invalid YAML: %s", p.problem ? p.problem : "syntax error");
			goto out;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				oab_yfail(c, ev.start_mark.line + 1, ev.start_mark.column + 1,
				      "more than one YAML document");
				yaml_event_delete(&ev);
				goto out;
			}
		} else if (ev.type != YAML_STREAM_START_EVENT &&
			   ev.type != YAML_DOCUMENT_END_EVENT) {
			int r = yread_node(c, &p, &ev, 1, root);

			yaml_event_delete(&ev);
			if (r < 0)
				goto out;
			continue;
		}
		yaml_event_delete(&ev);
	}
	if (!*root) {
		oab_yfail(c, 1, 1, "empty manifest");
		goto out;
	}
	rc = 0;
out:
	yaml_parser_delete(&p);
	if (rc < 0) {
		oab_ynode_free(*root);
		*root = NULL;
	}
	return rc;
}

/* ---- text hygiene -------------------------------------------------------- */

/* First control character in s: NUL and the other C0 controls, DEL, and
 * the C1 controls U+0080-U+009F (UTF-8 C2 80 to C2 9F). Tab and newline
 * pass when allow_ws. Returns the code point, or -1 if there is none. */
int oab_first_control(const char *s, size_t len, int allow_ws)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && !(allow_ws && (ch == '\t' || ch == '\n'))) || ch == 0x7f)
			return ch;
		if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return (unsigned char)s[i + 1];
	}
	return -1;
}

/* Every key and every value of the tree, before the schema reads a key:
 * a quoted "size\0evil" must never pass for `size` (C string compares stop
 * at the NUL, another YAML reader would see a different key). Keys hold
 * no control character at all; values may hold tabs and newlines here (the
 * schema allows them only in free text). path names the node's key as the
 * schema does ("payloads[0].name"); keys in it are escaped. */
const char *oab_control_name(int ch, char buf[32])
{
	if (ch == 0)
		return "NUL byte";
	snprintf(buf, 32, "control character %s%02X", ch >= 0x80 ? "U+00" : "0x", (unsigned)ch);
	return buf;
}

int oab_ycheck_text(struct yctx *c, const struct ynode *n, const char *path)
{
	char sub[800], esc[400], what[32];
	int ch;

	if (n->kind == Y_SCALAR) {
		if ((ch = oab_first_control(n->s, n->slen, 1)) < 0)
			return 0;
		return oab_yfail(c, n->line, n->col,
			     "key '%s': %s in the value (NUL and control characters other than tab and newline are not allowed)",
			     *path ? path : "(top level)", oab_control_name(ch, what));
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->kid[i];

		if (n->kind == Y_SEQ) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		} else if (i % 2 == 1) {
			continue; /* values are checked with their key, below */
		} else if (k->kind != Y_SCALAR) {
			snprintf(sub, sizeof(sub), "%s", path); /* refused by the schema */
		} else {
			oab_escape(k->s, k->slen, esc, sizeof(esc));
			if ((ch = oab_first_control(k->s, k->slen, 0)) >= 0)
				return oab_yfail(c, k->line, k->col,
					     "in '%s': key '%s' contains a %s (not allowed in keys)",
					     *path ? path : "(top level)", esc, oab_control_name(ch, what));
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", esc);
		}
		if (oab_ycheck_text(c, k, sub) < 0)
			return -1;
		if (n->kind == Y_MAP && i + 1 < n->n && oab_ycheck_text(c, n->kid[i + 1], sub) < 0)
			return -1;
	}
	return 0;
}
