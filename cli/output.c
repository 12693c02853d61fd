/* output.c - text and JSON (jansson) rendering of reports. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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

void cli_report_text(FILE *f, const struct oab_report *r, int judged)
{
	const struct oab_manifest *m = r->manifest;
	char t1[32], t2[32], t3[32], sha[65], comp[32];

	if (m) {
		fprintf(f, "bundle:           %s %s%s\n", m->name, m->version,
			judged ? "" : " (unverified)");
		fprintf(f, "security-version: %llu\n", (unsigned long long)m->security_version);
		fprintf(f, "compatible:      ");
		for (size_t i = 0; i < m->n_compatible; i++)
			fprintf(f, " %s", m->compatible[i]);
		fprintf(f, "\n");
		if (m->description)
			fprintf(f, "description:      %s\n", m->description);
		tstr(m->created, t1);
		fprintf(f, "created:          %s\n", t1);
		if (m->has_expires) {
			tstr(m->expires, t1);
			fprintf(f, "expires:          %s\n", t1);
		}
		for (size_t i = 0; i < m->n_meta; i++)
			fprintf(f, "meta.%s: %s\n", m->meta[i].key, m->meta[i].value);
		fprintf(f, "items:\n");
		for (size_t i = 0; i < m->n_items; i++) {
			const struct oab_item *it = &m->items[i];

			comp_str(it, comp, sizeof(comp));
			hex32(it->sha256, sha);
			fprintf(f, "  %-7s %s", kind_str(it->kind), it->name);
			if (it->type)
				fprintf(f, " type=%s", it->type);
			if (it->slot)
				fprintf(f, " slot=%s", it->slot);
			if (it->hook)
				fprintf(f, " hook=%s", it->hook);
			fprintf(f, " %s\n          size %llu, stored %llu (%s), sha256 %s\n", comp,
				(unsigned long long)it->size, (unsigned long long)it->stored_size,
				it->member, sha);
			if (it->compression == OAB_COMP_ZSTD)
				fprintf(f, "          stored in %zu chunk(s) of %u bytes, each hashed\n",
					it->n_chunks, it->chunk_size);
		}
	}
	fprintf(f, "signers:%s\n", r->signed_bundle ? (judged ? "" : " (unverified)") : " none (UNSIGNED bundle)");
	for (size_t i = 0; i < r->n_signers; i++) {
		const struct oab_signer_report *s = &r->signers[i];

		tstr(s->signing_time, t1);
		tstr(s->not_before, t2);
		tstr(s->not_after, t3);
		fprintf(f, "  %zu. %s\n     issuer %s, serial %s\n     key %s, id %s\n"
			   "     signed %s, certificate valid %s to %s\n",
			i + 1, s->subject ? s->subject : "?", s->issuer ? s->issuer : "?",
			s->serial ? s->serial : "?", s->key_type ? s->key_type : "?",
			s->key_id ? s->key_id : "?", t1, t2, t3);
		if (judged)
			fprintf(f, "     signature %s, %s%s%s\n",
				tri(s->signature_ok, "valid", "INVALID", "not checked"),
				tri(s->trusted, "trusted", "NOT trusted", "trust not checked"),
				s->note ? ": " : "", s->note ? s->note : "");
	}
	if (judged) {
		fprintf(f, "checks:\n");
		for (size_t i = 0; i < r->n_checks; i++)
			fprintf(f, "  %-4s %s%s%s\n", r->checks[i].ok ? "ok" : "FAIL", r->checks[i].name,
				r->checks[i].detail ? ": " : "",
				r->checks[i].detail ? r->checks[i].detail : "");
	}
}

static json_t *jtime(int64_t t)
{
	char b[32];

	if (t < 0)
		return json_null();
	oab_time_format(t, b);
	return json_string(b);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

json_t *cli_report_json(const struct oab_report *r, int judged, const struct oab_err *err)
{
	json_t *root = json_object(), *sig = json_array();
	const struct oab_manifest *m = r ? r->manifest : NULL;
	char sha[65], comp[32];

	if (!root || !sig)
		return NULL;
	if (m) {
		json_t *b = json_object(), *c = json_array(), *items = json_array(), *meta = json_object();

		json_object_set_new(b, "name", json_string(m->name));
		json_object_set_new(b, "version", json_string(m->version));
		json_object_set_new(b, "security-version", json_integer((json_int_t)m->security_version));
		for (size_t i = 0; i < m->n_compatible; i++)
			json_array_append_new(c, json_string(m->compatible[i]));
		json_object_set_new(b, "compatible", c);
		json_object_set_new(b, "description", jstr(m->description));
		json_object_set_new(b, "created", jtime(m->created));
		json_object_set_new(b, "expires", m->has_expires ? jtime(m->expires) : json_null());
		for (size_t i = 0; i < m->n_meta; i++)
			json_object_set_new(meta, m->meta[i].key, json_string(m->meta[i].value));
		json_object_set_new(b, "meta", meta);
		json_object_set_new(root, "format", json_integer(m->format));
		json_object_set_new(root, "bundle", b);
		for (size_t i = 0; i < m->n_items; i++) {
			const struct oab_item *it = &m->items[i];
			json_t *o = json_object();

			json_object_set_new(o, "kind", json_string(kind_str(it->kind)));
			json_object_set_new(o, "name", json_string(it->name));
			if (it->type)
				json_object_set_new(o, "type", json_string(it->type));
			if (it->kind == OAB_ITEM_PAYLOAD)
				json_object_set_new(o, "slot", jstr(it->slot));
			if (it->hook)
				json_object_set_new(o, "hook", json_string(it->hook));
			comp_str(it, comp, sizeof(comp));
			json_object_set_new(o, "compression", json_string(comp));
			json_object_set_new(o, "member", json_string(it->member));
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
	json_object_set_new(root, "signed", json_boolean(r && r->signed_bundle));
	for (size_t i = 0; r && i < r->n_signers; i++) {
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
		json_array_append_new(sig, o);
	}
	json_object_set_new(root, "signers", sig);
	if (judged) {
		json_t *checks = json_array();

		for (size_t i = 0; r && i < r->n_checks; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "check", json_string(r->checks[i].name));
			json_object_set_new(o, "ok", json_boolean(r->checks[i].ok));
			json_object_set_new(o, "detail", jstr(r->checks[i].detail));
			json_array_append_new(checks, o);
		}
		json_object_set_new(root, "checks", checks);
		json_object_set_new(root, "trusted-keys", json_integer(r ? (json_int_t)r->trusted_keys : 0));
		json_object_set_new(root, "verified", json_boolean(r && r->verified && !err));
		json_object_set_new(root, "error", err ? json_string(err->msg) : json_null());
	} else {
		json_object_set_new(root, "verified", json_false());
	}
	return root;
}

int cli_json_print(json_t *j)
{
	int rc;

	if (!j)
		return -1;
	rc = json_dumpf(j, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF ? 0 : -1;
	json_decref(j);
	return rc;
}
