/* SPDX-License-Identifier: Apache-2.0 */
/* output.c - what the command line prints: terminal-safe text, the text
 * report, and the JSON documents of otabundle-json(5) (jansson). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- terminal-safe text ------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code
 * point; 0 if the bytes there are not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len;
	unsigned long v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points that steer a terminal or reorder what it shows: C0 and C1
 * controls (U+009B is CSI), DEL, bidi embeddings, overrides, isolates and
 * marks, zero-width and line/paragraph separators, the BOM. */
static int unsafe_cp(unsigned long c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb);
}

void cli_put(FILE *f, const char *s, int flags, int indent)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		unsigned long cp;
		size_t len = utf8_seq(p, n, &cp);

		if (len == 0) {
			fprintf(f, "\\x%02x", p[0]); /* not UTF-8: raw C1 bytes too */
			len = 1;
		} else if (cp == '\n' && (flags & CLI_PUT_LINES)) {
			fprintf(f, "\n%*s", indent, "");
		} else if (cp == '\t' && (flags & CLI_PUT_LINES)) {
			fputc('\t', f);
		} else if (cp == '\\' && (flags & CLI_PUT_BACKSLASH)) {
			fputs("\\\\", f);
		} else if (unsafe_cp(cp)) {
			if (cp < 0x80)
				fprintf(f, "\\x%02lx", cp);
			else
				fprintf(f, "\\u%04lx", cp);
		} else {
			fwrite(p, 1, len, f);
		}
		p += len;
		n -= len;
	}
}

/* label padded to the value column, then a value from a bundle or a
 * certificate: escaped, continuation lines indented to the column. */
#define VALUE_COL 18
static void field(FILE *f, const char *label, const char *value)
{
	int w = fprintf(f, "%s", label);

	fprintf(f, "%*s", w < VALUE_COL ? VALUE_COL - w : 1, "");
	cli_put(f, value, CLI_PUT_BACKSLASH | CLI_PUT_LINES, VALUE_COL);
	fputc('\n', f);
}

static void put(FILE *f, const char *s)
{
	cli_put(f, s ? s : "?", CLI_PUT_BACKSLASH, 0);
}

/* ---- the text report --------------------------------------------------- */

static const char *kind_str(enum oab_item_kind k)
{
	return k == OAB_ITEM_PAYLOAD ? "payload" : k == OAB_ITEM_SCRIPT ? "script" : "sbom";
}

static void comp_str(const struct oab_item *it, char *buf, size_t n)
{
	if (it->compression == OAB_COMP_NONE)
		snprintf(buf, n, "none");
	else
		snprintf(buf, n, "zstd:%d", it->level);
}

static void hex32(const unsigned char *in, char out[65])
{
	static const char d[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[64] = '\0';
}

static void tstr(int64_t t, char buf[32])
{
	if (t < 0)
		snprintf(buf, 32, "-");
	else
		oab_time_format(t, buf);
}

static const char *tri(int v, const char *yes, const char *no, const char *unk)
{
	return v > 0 ? yes : v == 0 ? no : unk;
}

/* Did the reader get as far as knowing whether the bundle is signed? A
 * file that is not a bundle at all is neither signed nor UNSIGNED. */
static int sig_known(const struct oab_report *r)
{
	if (r->signed_bundle || r->manifest || r->n_signers)
		return 1;
	for (size_t i = 0; i < r->n_checks; i++)
		if (strcmp(r->checks[i].id, "signature") == 0)
			return 1;
	return 0;
}

static void text_manifest(FILE *f, const struct oab_manifest *m, int judged)
{
	char t1[32], sha[65], comp[32];

	fprintf(f, "bundle:           ");
	put(f, m->name);
	fputc(' ', f);
	put(f, m->version);
	fprintf(f, "%s\n", judged ? "" : " (unverified)");
	fprintf(f, "security-version: %llu\n", (unsigned long long)m->security_version);
	fprintf(f, "compatible:       ");
	for (size_t i = 0; i < m->n_compatible; i++) {
		fputs(i ? ", " : "", f);
		put(f, m->compatible[i]);
	}
	fprintf(f, "\n");
	if (m->description)
		field(f, "description:", m->description);
	tstr(m->created, t1);
	fprintf(f, "created:          %s\n", t1);
	if (m->has_expires) {
		tstr(m->expires, t1);
		fprintf(f, "expires:          %s\n", t1);
	}
	for (size_t i = 0; i < m->n_meta; i++) {
		char label[OAB_MAX_NAME + 16];

		/* keys are names (A-Z a-z 0-9 . _ -), checked by the parser */
		snprintf(label, sizeof(label), "meta.%s:", m->meta[i].key);
		field(f, label, m->meta[i].value);
	}
	fprintf(f, "items:\n");
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];

		comp_str(it, comp, sizeof(comp));
		hex32(it->sha256, sha);
		fprintf(f, "  %-7s ", kind_str(it->kind));
		put(f, it->name);
		if (it->type)
			fputs(" type=", f), put(f, it->type);
		if (it->slot)
			fputs(" slot=", f), put(f, it->slot);
		if (it->hook)
			fputs(" hook=", f), put(f, it->hook);
		fprintf(f, " %s\n          size %llu, stored %llu (", comp,
			(unsigned long long)it->size, (unsigned long long)it->stored_size);
		put(f, it->member);
		fprintf(f, "), sha256 %s\n", sha);
		if (it->compression == OAB_COMP_ZSTD)
			fprintf(f, "          stored in %zu chunk(s) of %u bytes, each hashed\n",
				it->n_chunks, it->chunk_size);
	}
}

/* One signer's revocation status (otabundle(1) REVOCATION). */
static void text_revocation(FILE *f, const struct oab_signer_report *s)
{
	char t[32];

	fprintf(f, "     revocation ");
	switch (s->revocation) {
	case OAB_REV_GOOD:
		tstr(s->crl_next_update, t);
		fprintf(f, "good");
		if (s->crl_issuer) {
			fprintf(f, " (CRL from ");
			put(f, s->crl_issuer);
			fprintf(f, ", next update %s)", t);
		} else if (s->revocation_note) {
			fprintf(f, ": ");
			put(f, s->revocation_note);
		}
		break;
	case OAB_REV_REVOKED:
	case OAB_REV_NO_CRL:
		fprintf(f, s->revocation == OAB_REV_REVOKED ? "REVOKED: " : "no current CRL%s: ",
			s->trusted == 1 ? " (warning)" : "");
		put(f, s->revocation_note);
		break;
	default:
		fprintf(f, "not checked");
	}
	fputc('\n', f);
}

/* The library's time source as the CLI names it: "given" is --now. */
static const char *time_source(const struct oab_signer_report *s)
{
	if (!s->time_source)
		return NULL;
	return strcmp(s->time_source, "given") == 0 ? "--now" : s->time_source;
}

/* The signer's RFC 3161 token and the time its chain was judged at. */
static void text_timestamp(FILE *f, const struct oab_signer_report *s)
{
	char t[32];

	if (s->has_timestamp) {
		tstr(s->ts_time, t);
		fprintf(f, "     timestamp %s by ", t);
		put(f, s->ts_tsa ? s->ts_tsa : "?");
		fprintf(f, " (%s)\n", tri(s->ts_trusted, "trusted", "NOT trusted", "unverified"));
	}
	if (s->time_source) {
		tstr(s->validation_time, t);
		fprintf(f, "     judged at %s (time source: %s)\n", t, time_source(s));
	}
}

void cli_report_text(FILE *f, const struct oab_report *r, int judged)
{
	char t1[32], t2[32], t3[32];

	if (r->format && strcmp(r->format, "otabundle") != 0) {
		fprintf(f, "bundle format: ");
		put(f, r->format);
		fputc('\n', f);
	}
	if (r->manifest)
		text_manifest(f, r->manifest, judged);
	if (sig_known(r))
		fprintf(f, "signers:%s\n",
			r->signed_bundle ? (judged ? "" : " (unverified)") : " none (UNSIGNED bundle)");
	for (size_t i = 0; i < r->n_signers; i++) {
		const struct oab_signer_report *s = &r->signers[i];

		tstr(s->signing_time, t1);
		tstr(s->not_before, t2);
		tstr(s->not_after, t3);
		fprintf(f, "  %zu. ", i + 1);
		put(f, s->subject);
		fprintf(f, "\n     issuer ");
		put(f, s->issuer);
		fprintf(f, ", serial ");
		put(f, s->serial);
		fprintf(f, "\n     key ");
		put(f, s->key_type);
		fprintf(f, ", id ");
		put(f, s->key_id);
		fprintf(f, "\n     signed %s, certificate valid %s to %s\n", t1, t2, t3);
		text_timestamp(f, s);
		if (judged) {
			fprintf(f, "     signature %s, %s", tri(s->signature_ok, "valid", "INVALID", "not checked"),
				tri(s->trusted, "trusted", "NOT trusted", "trust not checked"));
			if (s->note)
				fputs(": ", f), put(f, s->note);
			fputc('\n', f);
			text_revocation(f, s);
		}
	}
	if (judged && r->n_checks) {
		fprintf(f, "checks:\n");
		for (size_t i = 0; i < r->n_checks; i++) {
			const struct oab_check *c = &r->checks[i];

			fprintf(f, "  %-4s ", c->ok ? "ok" : "FAIL");
			put(f, c->id);
			if (c->subject)
				fputc(' ', f), put(f, c->subject);
			if (c->detail)
				fputs(": ", f), put(f, c->detail);
			fputc('\n', f);
		}
	}
}

/* ---- errors: the library's detail in words and flag hints -------------- */

/* What the JSON document says (see below). */
static struct {
	const char *cmd;
	int json, printed;
	char err[OAB_ERR_MAX + 256];
	struct oab_err first; /* the first library error, for "error" */
	int has_first;
} st;


/* Indexed by enum oab_detail: a stable name (otabundle-json(5)) and what
 * the command line adds to the library's message: the option that
 * changes the outcome. The library never names an option. */
static const struct {
	const char *name, *hint;
} details[] = {
	[OAB_D_NONE] = {"none", NULL},
	[OAB_D_NO_ANCHOR] = {"no-anchor", ": give --ca or --trust"},
	[OAB_D_EXISTS] = {"exists", " (use --force to replace it)"},
	[OAB_D_PASSPHRASE_NEEDED] = {"passphrase-needed",
				     ": give its passphrase with --pass env:VAR, file:PATH or fd:N"},
	[OAB_D_PIN_NEEDED] = {"pin-needed",
			      ": give --pin env:VAR|file:PATH|fd:N or pin-source in the URI"},
	[OAB_D_PIN_IN_URI] = {"pin-in-uri", "; give --pin env:VAR, file:PATH or fd:N, or pin-source"},
	[OAB_D_SECRET_SOURCE] = {"secret-source", NULL},
	[OAB_D_SIGNER_INCOMPLETE] = {"signer-incomplete", " (give --key KEY --cert CERT)"},
	[OAB_D_ALREADY_SIGNED] = {"already-signed", "; use --replace to re-sign"},
	[OAB_D_SIGNER_DROPPED] = {"signer-dropped", "; use --replace to drop it"},
	[OAB_D_WEAK_ALGORITHM] = {"weak-algorithm", " (--allow-weak accepts it)"},
	[OAB_D_ULTRA_NEEDED] = {"ultra-needed", " (give --ultra)"},
	[OAB_D_SOURCE_OUTSIDE] = {"source-outside", " (allow a folder with --source-root DIR)"},
	[OAB_D_SOURCE_CHANGED] = {"source-changed", NULL},
	[OAB_D_OUTPUT_IS_INPUT] = {"output-is-input", NULL},
	[OAB_D_NOT_A_BUNDLE] = {"not-a-bundle", NULL},
	[OAB_D_STRUCTURE] = {"structure", NULL},
	[OAB_D_NOT_SIGNED] = {"not-signed", NULL},
	[OAB_D_SIGNATURE] = {"signature", NULL},
	[OAB_D_UNTRUSTED] = {"untrusted", NULL},
	[OAB_D_POLICY_COMPATIBLE] = {"policy-compatible", NULL},
	[OAB_D_POLICY_SECURITY_VERSION] = {"policy-security-version", NULL},
	[OAB_D_POLICY_EXPIRED] = {"policy-expired", NULL},
	[OAB_D_MEMBER_SIZE] = {"member-size", NULL},
	[OAB_D_CHUNK_HASH] = {"chunk-hash", NULL},
	[OAB_D_CONTENT_HASH] = {"content-hash", NULL},
	[OAB_D_MANIFEST] = {"manifest", NULL},
};
#define N_DETAILS (sizeof(details) / sizeof(details[0]))

const char *cli_detail_name(enum oab_detail d)
{
	return (unsigned)d < N_DETAILS && details[d].name ? details[d].name : "unknown";
}

const char *cli_detail_hint(enum oab_detail d)
{
	return (unsigned)d < N_DETAILS ? details[d].hint : NULL;
}

int cli_fail(const struct oab_err *err)
{
	const char *hint = cli_detail_hint(err->detail);
	char msg[OAB_ERR_MAX + 128];

	snprintf(msg, sizeof(msg), "%s%s", err->msg[0] ? err->msg : "unknown failure",
		 hint ? hint : "");
	if (!st.has_first && !st.err[0]) {
		st.first = *err;
		st.has_first = 1;
	}
	cli_note_error(msg);
	fputs("otabundle: error: ", stderr);
	cli_put(stderr, msg, 0, 0);
	fputc('\n', stderr);
	return err->code == OAB_OK ? OAB_E_INTERNAL : (int)err->code;
}

/* ---- JSON (otabundle-json(5)) ------------------------------------------ */


void cli_out_begin(const char *cmd, int json)
{
	st.cmd = cmd;
	st.json = json;
	st.printed = 0;
	st.err[0] = '\0';
	st.has_first = 0;
}

void cli_json_mode(int on)
{
	st.json = on;
}

void cli_note_error(const char *msg)
{
	if (!st.err[0])
		snprintf(st.err, sizeof(st.err), "%s", msg);
}

/* A JSON string; text that is not UTF-8 (a certificate field, a message
 * quoting one) is given with its bytes escaped rather than dropped. */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *esc;
	size_t n, o = 0;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	n = strlen(s);
	esc = malloc(4 * n + 1);
	if (!esc)
		return json_null();
	for (size_t i = 0; i < n; i++) {
		unsigned long cp;
		size_t len = utf8_seq((const unsigned char *)s + i, n - i, &cp);

		if (len == 0) {
			o += (size_t)snprintf(esc + o, 5, "\\x%02x", (unsigned char)s[i]);
		} else {
			memcpy(esc + o, s + i, len);
			o += len;
			i += len - 1;
		}
	}
	esc[o] = '\0';
	j = json_string(esc);
	free(esc);
	return j ? j : json_null();
}

static json_t *jtime(int64_t t)
{
	char b[32];

	if (t < 0)
		return json_null();
	oab_time_format(t, b);
	return json_string(b);
}

/* otabundle-json(5) signers[].revocation */
static json_t *json_revocation(const struct oab_signer_report *s)
{
	static const char *const status[] = {[OAB_REV_NOT_CHECKED] = "not-checked",
					     [OAB_REV_GOOD] = "good",
					     [OAB_REV_REVOKED] = "revoked",
					     [OAB_REV_NO_CRL] = "no-current-crl"};
	json_t *o = json_object();
	unsigned k = (unsigned)s->revocation;

	json_object_set_new(o, "status", cli_jstr(k < 4 ? status[k] : "not-checked"));
	json_object_set_new(o, "crl-issuer", jstr(s->crl_issuer));
	json_object_set_new(o, "next-update", jtime(s->crl_next_update));
	json_object_set_new(o, "revoked-at", jtime(s->revoked_at));
	json_object_set_new(o, "reason", jstr(s->revoked_reason));
	json_object_set_new(o, "note", jstr(s->revocation_note));
	return o;
}

static json_t *jtri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

json_t *cli_json_new(void)
{
	json_t *doc = json_object();

	if (doc) {
		json_object_set_new(doc, "schema", json_integer(CLI_JSON_SCHEMA));
		json_object_set_new(doc, "command", json_string(st.cmd ? st.cmd : "?"));
	}
	return doc;
}

void cli_json_manifest(json_t *root, const struct oab_manifest *m)
{
	json_t *b = json_object(), *c = json_array(), *items = json_array(), *meta = json_object();
	char sha[65], comp[32];

	json_object_set_new(b, "name", jstr(m->name));
	json_object_set_new(b, "version", jstr(m->version));
	json_object_set_new(b, "security-version", json_integer((json_int_t)m->security_version));
	for (size_t i = 0; i < m->n_compatible; i++)
		json_array_append_new(c, jstr(m->compatible[i]));
	json_object_set_new(b, "compatible", c);
	json_object_set_new(b, "description", jstr(m->description));
	json_object_set_new(b, "created", jtime(m->created));
	json_object_set_new(b, "expires", m->has_expires ? jtime(m->expires) : json_null());
	for (size_t i = 0; i < m->n_meta; i++)
		json_object_set_new(meta, m->meta[i].key, jstr(m->meta[i].value));
	json_object_set_new(b, "meta", meta);
	json_object_set_new(root, "format", json_integer(m->format));
	json_object_set_new(root, "bundle", b);
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];
		json_t *o = json_object();

		json_object_set_new(o, "kind", json_string(kind_str(it->kind)));
		json_object_set_new(o, "name", jstr(it->name));
		if (it->type)
			json_object_set_new(o, "type", jstr(it->type));
		if (it->kind == OAB_ITEM_PAYLOAD)
			json_object_set_new(o, "slot", jstr(it->slot));
		if (it->hook)
			json_object_set_new(o, "hook", jstr(it->hook));
		comp_str(it, comp, sizeof(comp));
		json_object_set_new(o, "compression", json_string(comp));
		json_object_set_new(o, "member", jstr(it->member));
		json_object_set_new(o, "size", json_integer((json_int_t)it->size));
		hex32(it->sha256, sha);
		json_object_set_new(o, "sha256", json_string(sha));
		json_object_set_new(o, "stored-size", json_integer((json_int_t)it->stored_size));
		if (it->compression == OAB_COMP_NONE) {
			hex32(it->stored_sha256, sha);
			json_object_set_new(o, "stored-sha256", json_string(sha));
		} else {
			json_t *ch = json_array();

			json_object_set_new(o, "stored-chunk-size",
					    json_integer((json_int_t)it->chunk_size));
			for (size_t k = 0; k < it->n_chunks; k++) {
				hex32(it->chunk_sha256[k], sha);
				json_array_append_new(ch, json_string(sha));
			}
			json_object_set_new(o, "stored-chunks-sha256", ch);
		}
		json_array_append_new(items, o);
	}
	json_object_set_new(root, "items", items);
}

void cli_report_json(json_t *root, const struct oab_report *r, int judged)
{
	json_t *sig = json_array();

	json_object_set_new(root, "bundle-format", jstr(r->format ? r->format : "otabundle"));
	if (r->manifest)
		cli_json_manifest(root, r->manifest);
	if (sig_known(r)) /* a file that is not a bundle is not "unsigned" */
		json_object_set_new(root, "signed", json_boolean(r->signed_bundle));
	for (size_t i = 0; i < r->n_signers; i++) {
		const struct oab_signer_report *s = &r->signers[i];
		json_t *o = json_object();

		json_object_set_new(o, "subject", jstr(s->subject));
		json_object_set_new(o, "issuer", jstr(s->issuer));
		json_object_set_new(o, "serial", jstr(s->serial));
		json_object_set_new(o, "key-type", jstr(s->key_type));
		json_object_set_new(o, "key-id", jstr(s->key_id));
		json_object_set_new(o, "signing-time", jtime(s->signing_time));
		json_object_set_new(o, "not-before", jtime(s->not_before));
		json_object_set_new(o, "not-after", jtime(s->not_after));
		json_object_set_new(o, "signature-valid", jtri(s->signature_ok));
		json_object_set_new(o, "trusted", jtri(s->trusted));
		json_object_set_new(o, "note", jstr(s->note));
		json_object_set_new(o, "revocation", json_revocation(s));
		json_object_set_new(o, "time-source", jstr(time_source(s)));
		json_object_set_new(o, "validation-time", jtime(s->validation_time));
		if (s->has_timestamp) {
			json_t *ts = json_object();

			json_object_set_new(ts, "time", jtime(s->ts_time));
			json_object_set_new(ts, "tsa", jstr(s->ts_tsa));
			json_object_set_new(ts, "trusted", jtri(s->ts_trusted));
			json_object_set_new(o, "timestamp", ts);
		} else {
			json_object_set_new(o, "timestamp", json_null());
		}
		json_array_append_new(sig, o);
	}
	json_object_set_new(root, "signers", sig);
	if (judged) {
		json_t *checks = json_array();

		for (size_t i = 0; i < r->n_checks; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "id", jstr(r->checks[i].id));
			json_object_set_new(o, "subject", jstr(r->checks[i].subject));
			json_object_set_new(o, "ok", json_boolean(r->checks[i].ok));
			json_object_set_new(o, "detail", jstr(r->checks[i].detail));
			json_array_append_new(checks, o);
		}
		json_object_set_new(root, "checks", checks);
		json_object_set_new(root, "trusted-keys", json_integer((json_int_t)r->trusted_keys));
	}
	json_object_set_new(root, "verified", json_boolean(judged && r->verified));
}

/* "error": the message, and what the library said about it. */
static json_t *error_json(void)
{
	json_t *o = json_object();
	const struct oab_err *e = st.has_first ? &st.first : NULL;

	if (!o)
		return json_null();
	json_object_set_new(o, "message", jstr(st.err[0] ? st.err : "failed"));
	json_object_set_new(o, "detail", e && e->detail ? json_string(cli_detail_name(e->detail))
						   : json_null());
	json_object_set_new(o, "member", e && e->member[0] ? jstr(e->member) : json_null());
	json_object_set_new(o, "chunk", e && e->has_chunk ? json_integer((json_int_t)e->chunk)
						  : json_null());
	json_object_set_new(o, "expected", e && e->expected[0] ? jstr(e->expected) : json_null());
	json_object_set_new(o, "found", e && e->found[0] ? jstr(e->found) : json_null());
	return o;
}

json_t *cli_jstr(const char *s)
{
	return jstr(s);
}

/* Non-ASCII is written as \uXXXX: the document is plain ASCII, so no
 * bundle text can reach a terminal that shows it, and nothing is lost. */
int cli_json_emit(json_t *doc, int status)
{
	int rc;

	if (!doc)
		doc = cli_json_new();
	if (!doc)
		return status ? status : OAB_E_INTERNAL;
	if (status != 0 && json_object_get(doc, "verified"))
		json_object_set_new(doc, "verified", json_false());
	json_object_set_new(doc, "ok", json_boolean(status == 0));
	json_object_set_new(doc, "exit-status", json_integer(status));
	json_object_set_new(doc, "error", status == 0 ? json_null() : error_json());
	st.printed = 1;
	rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0 &&
	     fputc('\n', stdout) != EOF;
	json_decref(doc);
	if (!rc) {
		fprintf(stderr, "otabundle: error: writing standard output failed\n");
		return status ? status : OAB_E_IO;
	}
	return status;
}

int cli_json_fallback(int status)
{
	if (!st.json || st.printed)
		return status;
	return cli_json_emit(NULL, status);
}
