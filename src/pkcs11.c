/* SPDX-License-Identifier: Apache-2.0 */
/* pkcs11.c - keys and certificates on tokens (RFC 7512 "pkcs11:" URIs)
 * through OpenSSL's pkcs11 engine (libp11), so that token keys sign on
 * the same OpenSSL path as file keys. Debian 12's OpenSSL 3.0 has no
 * PKCS#11 provider; the engine is the supported route there. libp11 is
 * used directly only to explain failures (which tokens and objects exist,
 * locked PINs). */
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED /* the ENGINE API */
#include <ctype.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>

#include "internal.h"

#define PIN_MAX 256

struct p11uri {
	char *engine_uri; /* path attributes only (no pin-*), for the engine and messages */
	char *module;     /* module-path */
	char *pin_source; /* pin-source (query, or path attribute) */
	char *token;      /* token label, for messages */
	char *object;     /* object label, for messages */
	char *id;         /* id, for messages (percent-encoded) */
};

static void p11uri_free(struct p11uri *u)
{
	free(u->engine_uri);
	free(u->module);
	free(u->pin_source);
	free(u->token);
	free(u->object);
	free(u->id);
	memset(u, 0, sizeof(*u));
}

/* Percent-decode (RFC 3986) into a new string. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hx[3] = {s[i + 1], s[i + 2], 0};

			*o++ = (char)strtol(hx, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Is the attribute at p (up to '=') named name? Any case, so that
 * "PIN-VALUE" is caught too. */
static int attr_is(const char *p, size_t kl, const char *name)
{
	return kl == strlen(name) && strncasecmp(p, name, kl) == 0;
}

static int secret_attr(const char *p, size_t kl)
{
	return attr_is(p, kl, "pin-value") || attr_is(p, kl, "pin-source");
}

char *oab_p11_label(const char *uri)
{
	size_t pathlen = strcspn(uri, "?"), o = 0;
	char *out;

	if (strncmp(uri, "pkcs11:", 7) != 0)
		return strdup(uri);
	out = malloc(pathlen + 1);
	if (!out)
		return NULL;
	memcpy(out, uri, 7);
	o = 7;
	for (const char *p = uri + 7; p < uri + pathlen;) {
		const char *end = memchr(p, ';', (size_t)(uri + pathlen - p));
		size_t kl;

		if (!end)
			end = uri + pathlen;
		kl = strcspn(p, "=");
		if (kl > (size_t)(end - p))
			kl = (size_t)(end - p);
		if (!secret_attr(p, kl)) {
			if (o > 7)
				out[o++] = ';';
			memcpy(out + o, p, (size_t)(end - p));
			o += (size_t)(end - p);
		}
		p = end + 1;
	}
	out[o] = '\0';
	return out;
}

/* what: "key" or "certificate", for messages. */
static int p11uri_parse(const char *uri, const char *what, struct p11uri *u, struct oab_err *err)
{
	const char *q = strchr(uri, '?'), *p;
	size_t pathlen = q ? (size_t)(q - uri) : strlen(uri);

	memset(u, 0, sizeof(*u));
	u->engine_uri = oab_p11_label(uri);
	if (!u->engine_uri)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	/* Path attributes (for messages), then query attributes: a
	 * pin-value in either is a literal PIN, refused like --pin with one;
	 * pin-source works in either. Their values never reach a message. */
	for (int query = 0; query < 2; query++) {
		const char *end0 = query ? uri + strlen(uri) : uri + pathlen;
		char sep = query ? '&' : ';';

		for (p = query ? (q ? q + 1 : end0) : uri + 7; p < end0;) {
			const char *end = memchr(p, sep, (size_t)(end0 - p)), *eq;
			char **dst = NULL;

			if (!end)
				end = end0;
			eq = memchr(p, '=', (size_t)(end - p));
			if (eq) {
				size_t kl = (size_t)(eq - p);

				if (attr_is(p, kl, "pin-value")) {
					oab_err_set(err, OAB_E_USAGE,
						    "%s '%s': a PIN written in the URI (pin-value) is not accepted",
						    what, u->engine_uri);
					return oab_err_detail(err, OAB_D_PIN_IN_URI, u->engine_uri, -1,
							      NULL, NULL);
				}
				if (attr_is(p, kl, "pin-source"))
					dst = &u->pin_source;
				else if (query && attr_is(p, kl, "module-path"))
					dst = &u->module;
				else if (!query && attr_is(p, kl, "token"))
					dst = &u->token;
				else if (!query && attr_is(p, kl, "object"))
					dst = &u->object;
				else if (!query && attr_is(p, kl, "id"))
					dst = &u->id;
				if (dst) {
					free(*dst);
					*dst = pct_decode(eq + 1, (size_t)(end - eq - 1));
				}
			}
			p = end + 1;
		}
	}
	return 0;
}

/* Describe the search for messages: "token 'x', object 'y', id 01". */
static void searched(const struct p11uri *u, char *buf, size_t n)
{
	snprintf(buf, n, "token %s%s%s, object %s%s%s%s%s", u->token ? "'" : "",
		 u->token ? u->token : "(any)", u->token ? "'" : "", u->object ? "'" : "",
		 u->object ? u->object : "(any)", u->object ? "'" : "", u->id ? ", id " : "",
		 u->id ? u->id : "");
}

static void hexid(const unsigned char *id, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 3 < outsz; i++, o += 2)
		snprintf(out + o, outsz - o, "%02x", id[i]);
}

/* libp11's own view of the module: used before the engine (to check the
 * PIN once, so a wrong PIN costs one try and is named as such) and after
 * an engine failure (to list what exists). */
struct p11probe {
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int n;
	PKCS11_SLOT *slot; /* the token the URI names (or the only one) */
	int logged_in;
};

static void probe_close(struct p11probe *p)
{
	if (p->ctx) {
		if (p->slots)
			PKCS11_release_all_slots(p->ctx, p->slots, p->n);
		PKCS11_CTX_unload(p->ctx);
		PKCS11_CTX_free(p->ctx);
	}
	memset(p, 0, sizeof(*p));
	ERR_clear_error();
}

/* Returns -1 with err set for a definite problem (no such token, locked
 * or wrong PIN), 0 otherwise (also when the module cannot be probed). */
static int probe_login(struct p11probe *p, const char *module, const char *pin,
		       const struct p11uri *u, struct oab_err *err)
{
	unsigned int tokens = 0;
	char have[512] = "";
	size_t w = 0;
	void *mod;
	int loaded;

	memset(p, 0, sizeof(*p));
	p->ctx = PKCS11_CTX_new();
	if (!p->ctx)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	/* libp11 prints dlopen's complaint (standard error): open the module
	 * ourselves first, so a module that cannot load is only our
	 * message (with the reason), and libp11 finds it loaded. */
	mod = dlopen(module ? module : "p11-kit-proxy.so", RTLD_NOW | RTLD_LOCAL);
	if (!mod) {
		const char *why = dlerror();

		PKCS11_CTX_free(p->ctx);
		p->ctx = NULL;
		return oab_err_set(err, OAB_E_KEY, "PKCS#11 module '%s' could not be loaded (%s)",
				   module ? module : "p11-kit-proxy.so", why ? why : "?");
	}
	loaded = PKCS11_CTX_load(p->ctx, module ? module : "p11-kit-proxy.so") == 0;
	dlclose(mod);
	if (!loaded) {
		PKCS11_CTX_free(p->ctx);
		p->ctx = NULL;
		ERR_clear_error();
		return oab_err_set(err, OAB_E_KEY, "PKCS#11 module '%s' could not be loaded",
				   module ? module : "p11-kit-proxy.so");
	}
	if (PKCS11_enumerate_slots(p->ctx, &p->slots, &p->n) < 0) {
		ERR_clear_error();
		return oab_err_set(err, OAB_E_KEY, "PKCS#11 module '%s': cannot list its slots",
				   module ? module : "p11-kit-proxy.so");
	}
	for (unsigned int i = 0; i < p->n; i++) {
		PKCS11_TOKEN *t = p->slots[i].token;

		if (!t || !t->initialized)
			continue;
		tokens++;
		if (w + 8 < sizeof(have))
			w += (size_t)snprintf(have + w, sizeof(have) - w, "%s'%s'", w ? ", " : "", t->label);
		if (!u->token || strcmp(u->token, t->label) == 0)
			p->slot = p->slot ? p->slot : &p->slots[i];
	}
	if (u->token && !p->slot)
		return oab_err_set(err, OAB_E_KEY, "no token labelled '%s' (module %s has: %s)", u->token,
				   module ? module : "p11-kit-proxy", tokens ? have : "no initialised token");
	if (!p->slot)
		return tokens ? 0 : oab_err_set(err, OAB_E_KEY, "no initialised PKCS#11 token (module %s)",
						module ? module : "p11-kit-proxy");
	if (!u->token && tokens > 1)
		return oab_err_set(err, OAB_E_KEY,
				   "several tokens are present (%s): name one with token=LABEL in the URI", have);
	if (p->slot->token->userPinLocked)
		return oab_err_set(err, OAB_E_KEY, "token '%s': the user PIN is locked (unlock it with the SO PIN)",
				   p->slot->token->label);
	if (PKCS11_open_session(p->slot, 0) < 0)
		return 0;
	if (PKCS11_login(p->slot, 0, pin) < 0) {
		ERR_clear_error();
		return oab_err_set(err, OAB_E_KEY, "token '%s': wrong PIN (login refused)%s",
				   p->slot->token->label,
				   p->slot->token->userPinFinalTry ? "; one try left before it locks" : "");
	}
	p->logged_in = 1;
	return 0;
}

/* After the engine found nothing: append what the token holds. */
/* Append to buf (size bytes, *w used) and keep *w inside it: snprintf
 * returns what it would have written, which a long token label exceeds. */
static void appendf(char *buf, size_t size, size_t *w, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t size, size_t *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*w + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *w, size - *w, fmt, ap);
	va_end(ap);
	if (n > 0)
		*w = *w + (size_t)n < size - 1 ? *w + (size_t)n : size - 1;
}

static void explain(struct p11probe *p, struct oab_err *err)
{
	PKCS11_KEY *keys = NULL;
	PKCS11_CERT *certs = NULL;
	unsigned int nk = 0, nc = 0;
	char what[OAB_ERR_MAX] = "";
	size_t w = 0, l;

	if (!p->slot || !p->logged_in)
		return;
	if (PKCS11_enumerate_keys(p->slot->token, &keys, &nk) == 0) {
		appendf(what, sizeof(what), &w, "private keys:");
		for (unsigned int k = 0; k < nk && w + 48 < sizeof(what); k++) {
			char id[80];

			hexid(keys[k].id, keys[k].id_len, id, sizeof(id));
			appendf(what, sizeof(what), &w, " '%s' (id %s)", keys[k].label ? keys[k].label : "",
				id);
		}
	}
	if (PKCS11_enumerate_certs(p->slot->token, &certs, &nc) == 0) {
		appendf(what, sizeof(what), &w, "%scertificates:", w ? "; " : "");
		for (unsigned int k = 0; k < nc && w + 48 < sizeof(what); k++) {
			char id[80];

			hexid(certs[k].id, certs[k].id_len, id, sizeof(id));
			appendf(what, sizeof(what), &w, " '%s' (id %s)",
				certs[k].label ? certs[k].label : "", id);
		}
		if (nc == 0)
			appendf(what, sizeof(what), &w, " none");
	}
	ERR_clear_error();
	l = strlen(err->msg);
	if (w)
		snprintf(err->msg + l, sizeof(err->msg) - l, "; token '%s' has %s",
			 p->slot->token->label, what);
}

static int get_pin(const struct oab_signer_spec *spec, const struct p11uri *u, char *pin,
		   struct oab_err *err)
{
	int n;

	if (spec->pin)
		return oab_secret_read(spec->pin, NULL, pin, PIN_MAX, err) < 0 ? oab_err_prefix(err, "PIN: ") : 0;
	if (u->pin_source) {
		char src[4200];
		const char *s = u->pin_source;

		/* RFC 7512: pin-source is a URI, usually file:; a bare path
		 * is a file; our env:/fd: forms work too. */
		if (strncmp(s, "file:", 5) && strncmp(s, "env:", 4) && strncmp(s, "fd:", 3)) {
			snprintf(src, sizeof(src), "file:%s", s);
			s = src;
		} else if (strncmp(s, "file://", 7) == 0) {
			snprintf(src, sizeof(src), "file:%s", s + 7);
			s = src;
		}
		/* Named, never shown: the URI's values stay out of messages. */
		return oab_secret_read(s, "pin-source", pin, PIN_MAX, err) < 0
			       ? oab_err_prefix(err, "key '%s': ", u->engine_uri) : 0;
	}
	if (!spec->get_secret) {
		oab_err_set(err, OAB_E_KEY, "key '%s': the token needs a PIN and none was given",
			    u->engine_uri);
		return oab_err_detail(err, OAB_D_PIN_NEEDED, u->engine_uri, -1, NULL, NULL);
	}
	n = spec->get_secret(spec->secret_arg, OAB_SECRET_PIN, u->engine_uri, pin, PIN_MAX);
	if (n > 0 && n < PIN_MAX && n == (int)strnlen(pin, PIN_MAX))
		return 0;
	/* Never an empty or partial PIN: that would cost a try. */
	OPENSSL_cleanse(pin, PIN_MAX);
	oab_err_set(err, OAB_E_KEY, "key '%s': no PIN given", u->engine_uri);
	return oab_err_detail(err, OAB_D_PIN_NEEDED, u->engine_uri, -1, NULL, NULL);
}

struct oab_p11_pending {
	struct p11uri ku, cu;
	const char *module; /* points into spec or ku/cu */
	char *pin;          /* PIN_MAX bytes from oab_secret_alloc */
};

void oab_p11_pending_free(struct oab_p11_pending *p)
{
	if (!p)
		return;
	oab_secret_free(p->pin, PIN_MAX);
	p11uri_free(&p->ku);
	p11uri_free(&p->cu);
	free(p);
}

int oab_p11_prepare(const struct oab_signer_spec *spec, struct oab_p11_pending **out,
		    struct oab_err *err)
{
	struct oab_p11_pending *p = calloc(1, sizeof(*p));
	struct p11probe probe = {0};

	*out = NULL;
	if (!p || !(p->pin = oab_secret_alloc(PIN_MAX))) {
		free(p);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	if (p11uri_parse(spec->key, "key", &p->ku, err) < 0 ||
	    (!strncmp(spec->cert, "pkcs11:", 7) && p11uri_parse(spec->cert, "certificate", &p->cu, err) < 0))
		goto fail;
	p->module = spec->module ? spec->module : p->ku.module ? p->ku.module : p->cu.module;
	if (get_pin(spec, &p->ku, p->pin, err) < 0)
		goto fail;
	/* Check the PIN once ourselves, then let go of the module: this runs
	 * for every token signer before any engine holds the module, since
	 * our C_Finalize would end an engine's session. */
	if (probe_login(&probe, p->module, p->pin, &p->ku, err) < 0) {
		probe_close(&probe);
		goto fail;
	}
	probe_close(&probe);
	*out = p;
	return 0;
fail:
	oab_p11_pending_free(p);
	return -1;
}

int oab_p11_load(struct oab_p11_pending *p, struct oab_signer *s, struct oab_err *err)
{
	struct p11probe probe = {0};
	char what[512];
	ENGINE *e = NULL;
	int rc = -1, inited = 0;

	e = ENGINE_by_id("pkcs11");
	if (!e) {
		ERR_clear_error();
		oab_err_set(err, OAB_E_KEY,
			    "PKCS#11 needs OpenSSL's pkcs11 engine (Debian package libengine-pkcs11-openssl)");
		goto out;
	}
	/* QUIET: the engine itself prints nothing; our message
	 * says what failed (and explain() what the token holds). */
	if (!ENGINE_ctrl_cmd(e, "QUIET", 0, NULL, NULL, 0) ||
	    (p->module && !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", p->module, 0)) ||
	    !ENGINE_ctrl_cmd_string(e, "PIN", p->pin, 0)) {
		oab_err_ssl(err, OAB_E_KEY, "pkcs11 engine rejected its settings");
		goto out;
	}
	if (!ENGINE_init(e)) {
		oab_err_ssl(err, OAB_E_KEY, "PKCS#11 module '%s' could not be loaded",
			    p->module ? p->module : "p11-kit-proxy (default)");
		goto out;
	}
	inited = 1;
	s->key = ENGINE_load_private_key(e, p->ku.engine_uri, NULL, NULL);
	if (!s->key) {
		searched(&p->ku, what, sizeof(what));
		ERR_clear_error();
		oab_err_set(err, OAB_E_KEY, "key '%s': no such private key (searched %s)",
			    p->ku.engine_uri, what);
		goto explain;
	}
	if (p->cu.engine_uri) {
		struct {
			const char *id;
			X509 *cert;
		} parms = {p->cu.engine_uri, NULL};
		int ok;

		ok = ENGINE_ctrl_cmd(e, "LOAD_CERT_CTRL", 0, &parms, NULL, 1);
		if (!ok || !parms.cert) {
			searched(&p->cu, what, sizeof(what));
			ERR_clear_error();
			oab_err_set(err, OAB_E_KEY, "certificate '%s': no such certificate (searched %s)",
				    p->cu.engine_uri, what);
			goto explain;
		}
		s->cert = parms.cert;
	}
	s->engine = e;
	e = NULL;
	inited = 0;
	rc = 0;
	goto out;
explain:
	/* The engine must let go of the module before we look ourselves. */
	ENGINE_finish(e);
	inited = 0;
	if (probe_login(&probe, p->module, p->pin, &p->ku, err) == 0)
		explain(&probe, err);
	probe_close(&probe);
out:
	if (e) {
		if (inited)
			ENGINE_finish(e);
		ENGINE_free(e);
	}
	return rc;
}

void oab_p11_release(void *engine)
{
	if (engine) {
		ENGINE_finish(engine);
		ENGINE_free(engine);
	}
}
