/* SPDX-License-Identifier: Apache-2.0 */
/* test_manifest.c - src/manifest.c: the strict manifest parser (source and
 * resolved), the emitter, and RFC 3339 times. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

#define T_2027_06_30 INT64_C(1814313600) /* 2027-06-30T00:00:00Z */

/* The smallest valid source manifest; error cases edit one line of it.
 * Line numbers:  1 format, 2 bundle, 3 name, 4 version, 5 security-version,
 * 6 compatible, 7 payloads, 8 "- name", 9 type, 10 source. */
static const char base_yaml[] =
	"format: 1\n"
	"bundle:\n"
	"  name: demo\n"
	"  version: \"1.0\"\n"
	"  security-version: 3\n"
	"  compatible: [board-a]\n"
	"payloads:\n"
	"  - name: rootfs\n"
	"    type: image\n"
	"    source: rootfs.img\n";

/* base_yaml with the first occurrence of find replaced (malloc'd). */
static char *edit(const char *find, const char *repl)
{
	const char *at = strstr(base_yaml, find);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - base_yaml), base_yaml, repl,
			     at + strlen(find)) > 0);
	return out;
}

static struct oab_manifest *parse_ok(const char *y, size_t len, enum oab_manifest_mode mode)
{
	struct oab_err err = {0};
	struct oab_manifest *m = NULL;
	int rc = oab_manifest_parse(y, len, "t.yaml", "/base", mode, &m, &err);

	if (rc != 0)
		print_error("unexpected parse failure: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(m);
	assert_int_equal(err.code, OAB_OK);
	return m;
}

/* Parse must fail with OAB_E_USAGE, a message that starts with
 * "t.yaml:<where>: " and contains every needle (NULL-terminated). */
static void expect_fail_len(const char *y, size_t len, enum oab_manifest_mode mode,
			    const char *where, ...)
{
	struct oab_err err = {0};
	struct oab_manifest *m = (struct oab_manifest *)0x1;
	char prefix[64];
	const char *needle;
	va_list ap;
	int rc = oab_manifest_parse(y, len, "t.yaml", "/base", mode, &m, &err);

	if (strcmp(where, "*") == 0) {
		/* any position, but one there must be */
		unsigned l = 0, c = 0;
		int used = 0;

		assert_int_equal(sscanf(err.msg, "t.yaml:%u:%u: %n", &l, &c, &used), 2);
		assert_true(used > 0 && l > 0 && c > 0);
		snprintf(prefix, sizeof(prefix), "t.yaml:%u:%u: ", l, c);
	} else {
		snprintf(prefix, sizeof(prefix), "t.yaml:%s: ", where);
	}
	if (rc != -1 || strncmp(err.msg, prefix, strlen(prefix)) != 0)
		print_error("rc %d, message '%s', expected prefix '%s'\n", rc, err.msg, prefix);
	assert_int_equal(rc, -1);
	assert_null(m);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
	va_start(ap, where);
	while ((needle = va_arg(ap, const char *))) {
		if (!strstr(err.msg, needle))
			print_error("message '%s' lacks '%s'\n", err.msg, needle);
		assert_non_null(strstr(err.msg, needle));
	}
	va_end(ap);
}

#define expect_fail(y, where, ...) \
	expect_fail_len((y), strlen(y), OAB_MANIFEST_SOURCE, (where), __VA_ARGS__, (const char *)NULL)
#define expect_fail_res(y, where, ...) \
	expect_fail_len((y), strlen(y), OAB_MANIFEST_RESOLVED, (where), __VA_ARGS__, (const char *)NULL)

/* Edit base_yaml and expect a failure. */
static void edit_fail(const char *find, const char *repl, const char *where, const char *needle)
{
	char *y = edit(find, repl);

	expect_fail(y, where, needle);
	free(y);
}

/* ---- valid source manifests ---------------------------------------------- */

static const char full_yaml[] =
	"# a comment\n"
	"format: 1\n"
	"bundle:\n"
	"  name: acme-gw\n"
	"  version: \"2.4.1\"\n"
	"  security-version: 17\n"
	"  compatible: [board-a, \"board-b\"]\n"
	"  description: |\n"
	"    Quarterly release\n"
	"    \tsecond line\n"
	"  expires: 2027-06-30T00:00:00Z\n"
	"  meta:\n"
	"    build-id: demo-42\n"
	"    \"null\": quoted-key\n"
	"    git: 'abc123'\n"
	"payloads:\n"
	"  - name: rootfs\n"
	"    type: image\n"
	"    slot: rootfs-a\n"
	"    source: rootfs.ext4\n"
	"  - name: app\n"
	"    type: archive\n"
	"    source: /abs/app.tar\n"
	"    compression: zstd:19\n"
	"  - name: boot.bin\n"
	"    type: file\n"
	"    compression: none\n"
	"    source: sub/u-boot.bin\n"
	"scripts:\n"
	"  - name: migrate\n"
	"    hook: post-install\n"
	"    source: migrate.sh\n"
	"  - name: check\n"
	"    hook: pre-install\n"
	"    compression: zstd\n"
	"    source: check.sh\n"
	"sbom: sbom/sbom.cdx.json\n";

static void test_parse_full(void **state)
{
	struct oab_manifest *m = parse_ok(full_yaml, strlen(full_yaml), OAB_MANIFEST_SOURCE);
	const struct oab_item *it;

	(void)state;
	assert_int_equal(m->format, 1);
	assert_string_equal(m->name, "acme-gw");
	assert_string_equal(m->version, "2.4.1");
	assert_int_equal(m->security_version, 17);
	assert_int_equal(m->n_compatible, 2);
	assert_string_equal(m->compatible[0], "board-a");
	assert_string_equal(m->compatible[1], "board-b");
	assert_string_equal(m->description, "Quarterly release\n\tsecond line\n");
	assert_int_equal(m->has_expires, 1);
	assert_int_equal(m->expires, T_2027_06_30);
	assert_int_equal(m->has_created, 0);
	assert_int_equal(m->n_meta, 3);
	assert_string_equal(m->meta[0].key, "build-id");
	assert_string_equal(m->meta[0].value, "demo-42");
	assert_string_equal(m->meta[1].key, "null");
	assert_string_equal(m->meta[1].value, "quoted-key");
	assert_string_equal(m->meta[2].key, "git");
	assert_string_equal(m->meta[2].value, "abc123");

	/* payloads, scripts, sbom - in that order */
	assert_int_equal(m->n_items, 6);
	it = &m->items[0];
	assert_int_equal(it->kind, OAB_ITEM_PAYLOAD);
	assert_string_equal(it->name, "rootfs");
	assert_string_equal(it->type, "image");
	assert_string_equal(it->slot, "rootfs-a");
	assert_null(it->hook);
	assert_string_equal(it->source, "/base/rootfs.ext4");
	assert_int_equal(it->compression, OAB_COMP_ZSTD);
	assert_int_equal(it->level, 3); /* default zstd:3 */
	assert_string_equal(it->member, "payloads/rootfs.zst");
	assert_int_equal(it->line, 17);

	it = &m->items[1];
	assert_string_equal(it->name, "app");
	assert_string_equal(it->type, "archive");
	assert_null(it->slot);
	assert_string_equal(it->source, "/abs/app.tar"); /* absolute kept */
	assert_int_equal(it->compression, OAB_COMP_ZSTD);
	assert_int_equal(it->level, 19);
	assert_string_equal(it->member, "payloads/app.zst");

	it = &m->items[2];
	assert_string_equal(it->name, "boot.bin");
	assert_string_equal(it->type, "file");
	assert_int_equal(it->compression, OAB_COMP_NONE);
	assert_string_equal(it->source, "/base/sub/u-boot.bin");
	assert_string_equal(it->member, "payloads/boot.bin");

	it = &m->items[3];
	assert_int_equal(it->kind, OAB_ITEM_SCRIPT);
	assert_string_equal(it->name, "migrate");
	assert_string_equal(it->hook, "post-install");
	assert_null(it->type);
	assert_int_equal(it->level, 3);
	assert_string_equal(it->member, "scripts/migrate.zst");
	it = &m->items[4];
	assert_string_equal(it->hook, "pre-install");
	assert_int_equal(it->compression, OAB_COMP_ZSTD);
	assert_int_equal(it->level, 3);

	/* sbom short form: name from the file's base name, zstd:3 */
	it = &m->items[5];
	assert_int_equal(it->kind, OAB_ITEM_SBOM);
	assert_string_equal(it->name, "sbom.cdx.json");
	assert_string_equal(it->source, "/base/sbom/sbom.cdx.json");
	assert_int_equal(it->compression, OAB_COMP_ZSTD);
	assert_int_equal(it->level, 3);
	assert_string_equal(it->member, "sbom/sbom.cdx.json.zst");

	assert_ptr_equal(oab_manifest_find(m, "migrate"), &m->items[3]);
	assert_ptr_equal(oab_manifest_find(m, "sbom.cdx.json"), &m->items[5]);
	assert_null(oab_manifest_find(m, "nope"));
	oab_manifest_free(m);
}

static void test_parse_minimal_and_forms(void **state)
{
	struct oab_manifest *m;
	char *y;

	(void)state;
	/* minimal: optional fields absent */
	m = parse_ok(base_yaml, strlen(base_yaml), OAB_MANIFEST_SOURCE);
	assert_null(m->description);
	assert_int_equal(m->has_expires, 0);
	assert_int_equal(m->n_meta, 0);
	assert_null(m->meta);
	assert_int_equal(m->n_items, 1);
	assert_int_equal(m->items[0].compression, OAB_COMP_ZSTD);
	assert_int_equal(m->items[0].level, 3);
	assert_string_equal(m->items[0].source, "/base/rootfs.img");
	oab_manifest_free(m);

	/* compatible as a scalar */
	y = edit("  compatible: [board-a]\n", "  compatible: board-x\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_int_equal(m->n_compatible, 1);
	assert_string_equal(m->compatible[0], "board-x");
	oab_manifest_free(m);
	free(y);

	/* compatible as a block list */
	y = edit("  compatible: [board-a]\n", "  compatible:\n    - one\n    - two\n    - three\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_int_equal(m->n_compatible, 3);
	assert_string_equal(m->compatible[2], "three");
	oab_manifest_free(m);
	free(y);

	/* sbom long form, with name and compression */
	y = edit("    source: rootfs.img\n",
		 "    source: rootfs.img\nsbom:\n  name: bom\n  source: x/spdx.json\n  compression: none\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_int_equal(m->n_items, 2);
	assert_int_equal(m->items[1].kind, OAB_ITEM_SBOM);
	assert_string_equal(m->items[1].name, "bom");
	assert_string_equal(m->items[1].source, "/base/x/spdx.json");
	assert_int_equal(m->items[1].compression, OAB_COMP_NONE);
	assert_string_equal(m->items[1].member, "sbom/bom");
	oab_manifest_free(m);
	free(y);

	/* sbom long form without name: base name of the source */
	y = edit("    source: rootfs.img\n", "    source: rootfs.img\nsbom: {source: a/b/c.json}\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_string_equal(m->items[1].name, "c.json");
	assert_int_equal(m->items[1].level, 3);
	oab_manifest_free(m);
	free(y);

	/* sbom whose base name is not a valid item name: "sbom" */
	y = edit("    source: rootfs.img\n", "    source: rootfs.img\nsbom: dir/.hidden\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_string_equal(m->items[1].name, "sbom");
	oab_manifest_free(m);
	free(y);

	/* zstd levels at the edges; a 64-character name is fine */
	y = edit("    source: rootfs.img\n", "    source: rootfs.img\n    compression: zstd:22\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_int_equal(m->items[0].level, 22);
	oab_manifest_free(m);
	free(y);
	y = edit("    source: rootfs.img\n", "    source: rootfs.img\n    compression: zstd:1\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_int_equal(m->items[0].level, 1);
	oab_manifest_free(m);
	free(y);
	y = edit("  - name: rootfs\n",
		 "  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);
	assert_int_equal(strlen(m->items[0].name), 64);
	oab_manifest_free(m);
	free(y);

	/* no basedir: sources stay relative */
	{
		struct oab_err err = {0};

		assert_int_equal(oab_manifest_parse(base_yaml, strlen(base_yaml), NULL, NULL,
						    OAB_MANIFEST_SOURCE, &m, &err), 0);
		assert_string_equal(m->items[0].source, "rootfs.img");
		oab_manifest_free(m);
	}
}

/* ---- error cases ------------------------------------------------------------ */

static void test_err_keys(void **state)
{
	char *y;

	(void)state;
	edit_fail("  compatible: [board-a]\n", "  compatible: [board-a]\n  colour: red\n", "7:3",
		  "unknown key 'colour' in 'bundle'");
	edit_fail("format: 1\n", "format: 1\nextra: 1\n", "2:1", "unknown key 'extra'");
	edit_fail("    source: rootfs.img\n", "    source: rootfs.img\n    sorce: x\n", "11:5",
		  "unknown key 'sorce' in 'payloads[0]'");
	edit_fail("  compatible: [board-a]\n", "  compatible: [board-a]\n  name: again\n", "7:3",
		  "duplicate key 'name' in 'bundle'");
	edit_fail("  compatible: [board-a]\n",
		  "  compatible: [board-a]\n  meta:\n    k: a\n    k: b\n", "9:5",
		  "duplicate key 'k' in 'bundle.meta'");
	/* required keys */
	edit_fail("  version: \"1.0\"\n", "", "3:3", "missing required key 'version'");
	edit_fail("    source: rootfs.img\n", "", "8:5", "missing required key 'source'");
	edit_fail("    type: image\n", "", "8:5", "missing required key 'type'");
	y = edit("format: 1\n", "");
	expect_fail(y, "1:1", "missing required key 'format'");
	free(y);
	/* duplicate item names, also across kinds */
	edit_fail("    source: rootfs.img\n",
		  "    source: rootfs.img\n  - name: rootfs\n    type: file\n    source: b\n", "11:1",
		  "duplicate name 'rootfs'");
	edit_fail("    source: rootfs.img\n",
		  "    source: rootfs.img\nsbom: {name: rootfs, source: s.json}\n", "11:1",
		  "duplicate name 'rootfs'");
}

static void test_err_yaml_features(void **state)
{
	(void)state;
	/* Anchors, aliases and tags: the position points at the offending
	 * node (the key is the one on that line). */
	edit_fail("  name: demo\n", "  name: &a demo\n", "3:9", "anchors (&a)");
	edit_fail("  version: \"1.0\"\n", "  version: *a\n", "4:12", "aliases");
	edit_fail("  name: demo\n", "  name: !!str demo\n", "3:9", "tags (tag:yaml.org,2002:str)");
	edit_fail("  compatible: [board-a]\n", "  compatible: !custom [board-a]\n", "6:15", "tags");
	edit_fail("payloads:\n", "payloads: &list\n", "7:11", "anchors (&list)");
}

static void test_err_types(void **state)
{

	(void)state;
	edit_fail("  security-version: 3\n", "  security-version: \"17\"\n", "5:21",
		  "key 'bundle.security-version': expected an integer");
	edit_fail("  security-version: 3\n", "  security-version: -1\n", "5:21",
		  "key 'bundle.security-version'");
	edit_fail("  security-version: 3\n", "  security-version: 1.5\n", "5:21",
		  "key 'bundle.security-version'");
	edit_fail("  security-version: 3\n", "  security-version: 017\n", "5:21",
		  "key 'bundle.security-version'");
	edit_fail("  security-version: 3\n", "  security-version: 0x10\n", "5:21",
		  "key 'bundle.security-version'");
	edit_fail("  security-version: 3\n", "  security-version: 99999999999999999999\n", "5:21",
		  "key 'bundle.security-version'");
	edit_fail("  security-version: 3\n", "  security-version: [3]\n", "5:21",
		  "key 'bundle.security-version': expected a scalar, found a list");
	edit_fail("  compatible: [board-a]\n", "  compatible: []\n", "6:15",
		  "key 'bundle.compatible': expected 1 to 64 entries, found 0");
	edit_fail("  compatible: [board-a]\n", "  compatible: [a, \"\"]\n", "6:19",
		  "key 'bundle.compatible': empty entry");
	edit_fail("  compatible: [board-a]\n", "  compatible: \"\"\n", "6:15",
		  "key 'bundle.compatible'");
	edit_fail("  compatible: [board-a]\n", "  compatible: {a: b}\n", "6:15",
		  "key 'bundle.compatible': expected a list");
	edit_fail("  name: demo\n", "  name: ~\n", "3:9", "key 'bundle.name': expected a string, found null");
	edit_fail("  name: demo\n", "  name:\n", "3:8", "key 'bundle.name'");
	edit_fail("    type: image\n", "    type: disk\n", "9:11",
		  "key 'payloads[0].type': expected image | archive | file");
	edit_fail("  version: \"1.0\"\n", "  version: \"1\\0\"\n", "4:12",
		  "key 'bundle.version': NUL byte in the value");
	edit_fail("  version: \"1.0\"\n", "  version: \"1\\x01\"\n", "4:12",
		  "key 'bundle.version': control character 0x01");
	edit_fail("  version: \"1.0\"\n", "  version: \"1\\n2\"\n", "4:12", "key 'bundle.version'");
	edit_fail("  compatible: [board-a]\n", "  compatible: [board-a]\n  meta: [x]\n", "7:9",
		  "key 'bundle.meta': expected a mapping");
	edit_fail("  compatible: [board-a]\n", "  compatible: [board-a]\n  meta:\n    a/b: x\n", "8:5",
		  "key 'bundle.meta key'");

	/* payloads: empty list, a scalar, a list of scalars */
	{
		static const char empty_payloads[] =
			"format: 1\nbundle:\n  name: demo\n  version: \"1.0\"\n"
			"  security-version: 3\n  compatible: [board-a]\npayloads: []\n";

		expect_fail(empty_payloads, "7:11", "key 'payloads': expected at least one payload");
	}
	edit_fail("payloads:\n  - name: rootfs\n    type: image\n    source: rootfs.img\n",
		  "payloads: rootfs\n", "7:11", "key 'payloads': expected a list, found a scalar");
	edit_fail("payloads:\n  - name: rootfs\n", "payloads: rootfs\n  - name: rootfs\n", "8:9",
		  "invalid YAML");
	expect_fail("format: 1\nbundle: 3\npayloads: []\n", "2:9", "key 'bundle': expected a mapping");
	edit_fail("  - name: rootfs\n    type: image\n    source: rootfs.img\n", "  - rootfs\n", "8:5",
		  "key 'payloads[0]': expected a mapping");
}

static void test_err_payloads_null(void **state)
{
	/* `payloads:` with nothing after it */
	static const char y[] =
		"format: 1\nbundle:\n  name: demo\n  version: \"1.0\"\n"
		"  security-version: 3\n  compatible: [board-a]\npayloads:\n";

	(void)state;
	/* `payloads:` with nothing is null, not a list */
	expect_fail(y, "7:10", "key 'payloads': expected a list");
}

static void test_err_names(void **state)
{
	(void)state;
	edit_fail("  - name: rootfs\n", "  - name: a/b\n", "8:11",
		  "key 'payloads[0].name': 'a/b' is not a valid name");
	edit_fail("  - name: rootfs\n", "  - name: ..\n", "8:11", "key 'payloads[0].name': '..'");
	edit_fail("  - name: rootfs\n", "  - name: .hidden\n", "8:11", "key 'payloads[0].name'");
	edit_fail("  - name: rootfs\n", "  - name: -dash\n", "8:11", "key 'payloads[0].name'");
	edit_fail("  - name: rootfs\n", "  - name: \"a b\"\n", "8:11", "key 'payloads[0].name'");
	edit_fail("  - name: rootfs\n", "  - name: \"caf\xc3\xa9\"\n", "8:11",
		  "'caf\\xc3\\xa9' is not a valid name");
	edit_fail("  - name: rootfs\n",
		  "  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "8:11",
		  "key 'payloads[0].name'");
	edit_fail("  name: demo\n", "  name: ../demo\n", "3:9", "key 'bundle.name'");
	edit_fail("    source: rootfs.img\n", "    source: rootfs.img\n    slot: a/b\n", "11:11",
		  "key 'payloads[0].slot'");
	edit_fail("    source: rootfs.img\n", "    source: rootfs.img\nsbom: {name: x/y, source: s}\n",
		  "11:14", "key 'sbom.name'");
}

static void test_err_compression(void **state)
{
	static const char *const bad[] = {"zstd:0", "zstd:23", "gzip", "zstd:", "zstd:3x",
					  "zstd:-1", "zstd:03", "ZSTD", "zstd:99999999999999999999"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char repl[128];

		snprintf(repl, sizeof(repl), "    source: rootfs.img\n    compression: \"%s\"\n", bad[i]);
		edit_fail("    source: rootfs.img\n", repl, "11:18", "key 'payloads[0].compression'");
	}
	edit_fail("    source: rootfs.img\n", "    source: rootfs.img\nsbom: {source: s, compression: xz}\n",
		  "11:32", "key 'sbom.compression'");
}

static void test_err_expires_format(void **state)
{
	static const char *const bad[] = {"2027-13-01T00:00:00Z", "2027-06-30", "tomorrow",
					  "2027-02-30T00:00:00Z", "2027-06-30T00:00:00Zjunk", "1"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char repl[128];

		snprintf(repl, sizeof(repl), "  compatible: [board-a]\n  expires: %s\n", bad[i]);
		edit_fail("  compatible: [board-a]\n", repl, "7:12",
			  "key 'bundle.expires': expected an RFC 3339 time");
	}
	edit_fail("format: 1\n", "format: 2\n", "1:9", "key 'format': version 2 is not supported");
	edit_fail("format: 1\n", "format: 0\n", "1:9", "key 'format'");
	edit_fail("format: 1\n", "format: \"1\"\n", "1:9", "key 'format': expected an integer");
	edit_fail("format: 1\n", "format: 1001\n", "1:9", "key 'format'");
}

static void test_err_structure(void **state)
{
	char *y, *big;
	size_t n;

	(void)state;
	/* nesting deeper than OAB_MAX_YAML_DEPTH: root map is level 1, each
	 * '[' one more, so the 16th '[' opens level 17 */
	{
		char deep[256] = "  compatible: [board-a]\n  meta:\n    x: ";
		size_t l = strlen(deep);

		for (int i = 0; i < 20; i++)
			deep[l++] = '[';
		for (int i = 0; i < 20; i++)
			deep[l++] = ']';
		deep[l++] = '\n';
		deep[l] = '\0';
		y = edit("  compatible: [board-a]\n", deep);
		/* bundle map = 2, meta map = 3, first '[' = 4 at column 8 */
		expect_fail(y, "8:21", "nesting deeper than 16 levels");
		free(y);
	}
	/* exactly at the limit is fine structurally (then fails the schema) */
	{
		char deep[256] = "x: ";
		size_t l = strlen(deep);

		for (int i = 0; i < OAB_MAX_YAML_DEPTH - 1; i++)
			deep[l++] = '[';
		for (int i = 0; i < OAB_MAX_YAML_DEPTH - 1; i++)
			deep[l++] = ']';
		deep[l++] = '\n';
		deep[l] = '\0';
		expect_fail(deep, "1:1", "unknown key 'x'");
	}

	/* a scalar larger than OAB_MAX_SCALAR */
	n = OAB_MAX_SCALAR + 1;
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "  compatible: [board-a]\n  description: ", 39);
	memset(big + 39, 'A', n);
	memcpy(big + 39 + n, "\n", 2);
	y = edit("  compatible: [board-a]\n", big);
	expect_fail(y, "7:16", "scalar longer than 65536 bytes");
	free(y);
	/* exactly OAB_MAX_SCALAR passes the tree and fails the 4096-byte
	 * description limit of the schema */
	memcpy(big + 39 + n - 1, "\n", 2);
	y = edit("  compatible: [board-a]\n", big);
	expect_fail(y, "7:16", "key 'bundle.description': longer than 4096 bytes");
	free(y);
	free(big);

	/* multiple documents */
	assert_true(asprintf(&y, "%s---\n%s", base_yaml, base_yaml) > 0);
	expect_fail(y, "11:1", "more than one YAML document");
	free(y);
	assert_true(asprintf(&y, "%s...\n---\nfoo\n", base_yaml) > 0);
	expect_fail(y, "12:1", "more than one YAML document");
	free(y);

	/* empty input, comment-only input */
	expect_fail("", "1:1", "empty manifest");
	expect_fail("# nothing here\n", "1:1", "empty manifest");
	expect_fail_len(base_yaml, 0, OAB_MANIFEST_SOURCE, "1:1", "empty manifest", (const char *)NULL);

	/* top level not a mapping; syntax errors */
	expect_fail("- a\n- b\n", "1:1", "key '(top level)': expected a mapping");
	expect_fail("format: [1\n", "2:1", "invalid YAML");
	expect_fail("a: 'unterminated\n", "2:1", "invalid YAML");

	/* a NUL byte in the raw input (outside quotes) is a YAML error */
	{
		char raw[sizeof(base_yaml)];

		memcpy(raw, base_yaml, sizeof(base_yaml));
		raw[15] = '\0'; /* inside "bundle:\n  name: demo" */
		/* libyaml's reader reports an offset, not a line: any position */
		expect_fail_len(raw, sizeof(base_yaml) - 1, OAB_MANIFEST_SOURCE, "*", "invalid YAML",
				(const char *)NULL);
	}

	/* larger than OAB_MAX_MANIFEST_BYTES: refused before parsing */
	{
		struct oab_err err = {0};
		struct oab_manifest *m = NULL;

		assert_int_equal(oab_manifest_parse(base_yaml, OAB_MAX_MANIFEST_BYTES + 1, "t.yaml", NULL,
						    OAB_MANIFEST_SOURCE, &m, &err), -1);
		assert_int_equal(err.code, OAB_E_USAGE);
		assert_null(m);
	}
}

/* ---- emit -> parse(RESOLVED) ------------------------------------------------ */

static void fill_resolved(struct oab_manifest *m)
{
	m->has_created = 1;
	m->created = T_2027_06_30 - 86400 * 30 + 17;
	for (size_t i = 0; i < m->n_items; i++) {
		struct oab_item *it = &m->items[i];

		it->size = 1000000 + i * 4097;
		for (int b = 0; b < 32; b++)
			it->sha256[b] = (unsigned char)(i * 37 + (size_t)b * 11);
		if (it->compression == OAB_COMP_NONE) {
			it->stored_size = it->size;
			memcpy(it->stored_sha256, it->sha256, 32);
		} else {
			/* 4 chunks of 64 KiB, the last one short */
			it->stored_size = 3 * 65536 + 1000 + i;
			it->chunk_size = 65536;
			it->n_chunks = 4;
			it->chunk_sha256 = calloc(4, 32);
			assert_non_null(it->chunk_sha256);
			for (size_t k = 0; k < 4; k++)
				for (int b = 0; b < 32; b++)
					it->chunk_sha256[k][b] = (unsigned char)(255 - i * 3 - k * 7 - (size_t)b);
		}
	}
}

static void assert_same_manifest(const struct oab_manifest *a, const struct oab_manifest *b)
{
	assert_int_equal(a->format, b->format);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->version, b->version);
	if (a->description || b->description)
		assert_string_equal(a->description, b->description);
	assert_int_equal(a->security_version, b->security_version);
	assert_int_equal(a->n_compatible, b->n_compatible);
	for (size_t i = 0; i < a->n_compatible; i++)
		assert_string_equal(a->compatible[i], b->compatible[i]);
	assert_int_equal(a->has_expires, b->has_expires);
	if (a->has_expires)
		assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->has_created, b->has_created);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->n_meta, b->n_meta);
	for (size_t i = 0; i < a->n_meta; i++) {
		assert_string_equal(a->meta[i].key, b->meta[i].key);
		assert_string_equal(a->meta[i].value, b->meta[i].value);
	}
	assert_int_equal(a->n_items, b->n_items);
	for (size_t i = 0; i < a->n_items; i++) {
		const struct oab_item *x = &a->items[i], *y = &b->items[i];

		assert_int_equal(x->kind, y->kind);
		assert_string_equal(x->name, y->name);
		if (x->type || y->type)
			assert_string_equal(x->type, y->type);
		if (x->slot || y->slot)
			assert_string_equal(x->slot, y->slot);
		if (x->hook || y->hook)
			assert_string_equal(x->hook, y->hook);
		assert_int_equal(x->compression, y->compression);
		if (x->compression == OAB_COMP_ZSTD)
			assert_int_equal(x->level, y->level);
		assert_string_equal(x->member, y->member);
		assert_int_equal(x->size, y->size);
		assert_memory_equal(x->sha256, y->sha256, 32);
		assert_int_equal(x->stored_size, y->stored_size);
		if (x->compression == OAB_COMP_NONE) {
			assert_memory_equal(x->stored_sha256, y->stored_sha256, 32);
		} else {
			assert_int_equal(x->chunk_size, y->chunk_size);
			assert_int_equal(x->n_chunks, y->n_chunks);
			assert_memory_equal(x->chunk_sha256, y->chunk_sha256, 32 * x->n_chunks);
		}
	}
}

/* Emit m (filled), parse the text back as RESOLVED; returns the text. */
static char *emit_ok(const struct oab_manifest *m, size_t *len)
{
	struct oab_err err = {0};
	char *buf = NULL;

	assert_int_equal(oab_manifest_emit(m, &buf, len, &err), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), *len);
	return buf;
}

static void test_roundtrip(void **state)
{
	struct oab_manifest *src = parse_ok(full_yaml, strlen(full_yaml), OAB_MANIFEST_SOURCE);
	struct oab_manifest *res, *res2;
	char *t1, *t2;
	size_t l1, l2;

	(void)state;
	fill_resolved(src);
	t1 = emit_ok(src, &l1);
	res = parse_ok(t1, l1, OAB_MANIFEST_RESOLVED);
	assert_same_manifest(src, res);
	for (size_t i = 0; i < res->n_items; i++)
		assert_null(res->items[i].source);
	/* The hashes are written as lowercase hex of the bytes. */
	{
		char hex[65];

		oab_hex(src->items[0].sha256, 32, hex);
		assert_non_null(strstr(t1, hex));
	}
	assert_non_null(strstr(t1, "created: 2027-05-31T00:00:17Z\n"));

	/* emit is deterministic and a fixed point */
	t2 = emit_ok(res, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(t1, t2, l1);
	res2 = parse_ok(t2, l2, OAB_MANIFEST_RESOLVED);
	assert_same_manifest(res, res2);

	/* the resolved text is not a valid source manifest (no sources) */
	expect_fail_len(t1, l1, OAB_MANIFEST_SOURCE, "9:3", "unknown key 'created' in 'bundle'", (const char *)NULL);

	oab_manifest_free(res2);
	free(t2);
	oab_manifest_free(res);
	free(t1);
	oab_manifest_free(src);
}

static void test_roundtrip_minimal(void **state)
{
	struct oab_manifest *src = parse_ok(base_yaml, strlen(base_yaml), OAB_MANIFEST_SOURCE);
	struct oab_manifest *res;
	char *t;
	size_t l;

	(void)state;
	fill_resolved(src);
	src->created = 0;
	src->security_version = (uint64_t)INT64_MAX;
	t = emit_ok(src, &l);
	res = parse_ok(t, l, OAB_MANIFEST_RESOLVED);
	assert_same_manifest(src, res);
	assert_null(res->description);
	assert_int_equal(res->n_meta, 0);
	assert_null(strstr(t, "meta"));
	assert_null(strstr(t, "expires"));
	assert_null(strstr(t, "scripts"));
	oab_manifest_free(res);
	free(t);
	oab_manifest_free(src);
}

/* A resolved manifest text, built by emitting base_yaml. */
static char *resolved_text(void)
{
	struct oab_manifest *src = parse_ok(base_yaml, strlen(base_yaml), OAB_MANIFEST_SOURCE);
	char *t;
	size_t l;

	fill_resolved(src);
	t = emit_ok(src, &l);
	oab_manifest_free(src);
	return t;
}

/* t with the line that starts with prefix replaced by repl (malloc'd). */
static char *replace_line(const char *t, const char *prefix, const char *repl, int *lineno)
{
	const char *p = t;
	char *out;
	int line = 1;

	while (p && strncmp(p, prefix, strlen(prefix)) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
		line++;
	}
	assert_non_null(p);
	*lineno = line;
	assert_true(asprintf(&out, "%.*s%s%s", (int)(p - t), t, repl, strchr(p, '\n') + 1) > 0);
	return out;
}

static void test_resolved_rejects(void **state)
{
	char *t = resolved_text(), *y, where[32], upper[128];
	int line;

	(void)state;
	/* the base resolved text parses */
	{
		struct oab_manifest *m = parse_ok(t, strlen(t), OAB_MANIFEST_RESOLVED);

		oab_manifest_free(m);
	}
	/* member name that differs from the derived one */
	y = replace_line(t, "  member:", "  member: ../etc/passwd\n", &line);
	snprintf(where, sizeof(where), "%d:11", line);
	expect_fail_res(y, where, "key 'payloads[0].member': expected 'payloads/rootfs.zst', found '../etc/passwd'");
	free(y);
	y = replace_line(t, "  member:", "  member: payloads/rootfs\n", &line);
	expect_fail_res(y, where, "key 'payloads[0].member'");
	free(y);

	/* missing sha256 */
	y = replace_line(t, "  sha256:", "", &line);
	expect_fail_res(y, "9:3", "'payloads[0]': missing required key 'sha256'");
	free(y);
	/* uppercase / short hex */
	{
		const char *s = strstr(t, "\n  sha256: ") + 11;
		size_t i;

		memcpy(upper, "  sha256: ", 10);
		for (i = 0; i < 64; i++)
			upper[10 + i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 32 : s[i]);
		memcpy(upper + 74, "\n", 2);
		assert_non_null(strpbrk(upper + 10, "ABCDEF"));
	}
	y = replace_line(t, "  sha256:", upper, &line);
	snprintf(where, sizeof(where), "%d:11", line);
	expect_fail_res(y, where, "key 'payloads[0].sha256': expected 64 lowercase hex digits");
	free(y);
	/* stored chunks: bad hash, wrong count, bad chunk size, whole-member
	 * hash on a compressed member, missing list */
	y = replace_line(t, "  - ", "  - abcd\n", &line);
	snprintf(where, sizeof(where), "%d:5", line);
	expect_fail_res(y, where, "key 'payloads[0].stored-chunks-sha256[0]': expected 64 lowercase hex digits");
	free(y);
	y = replace_line(t, "  - ", "", &line);
	snprintf(where, sizeof(where), "%d:3", line);
	expect_fail_res(y, where, "key 'payloads[0].stored-chunks-sha256': 3 hashes, expected 4");
	free(y);
	y = replace_line(t, "  stored-chunk-size:", "  stored-chunk-size: 65537\n", &line);
	snprintf(where, sizeof(where), "%d:22", line);
	expect_fail_res(y, where, "key 'payloads[0].stored-chunk-size': expected a power of two from 65536 to 16777216");
	free(y);
	y = replace_line(t, "  stored-chunk-size:", "  stored-chunk-size: 33554432\n", &line);
	expect_fail_res(y, where, "key 'payloads[0].stored-chunk-size': expected an integer from 0 to 16777216");
	free(y);
	y = replace_line(t, "  stored-chunk-size:", "  stored-chunk-size: 131072\n", &line);
	expect_fail_res(y, "*", "4 hashes, expected 2");
	free(y);
	y = replace_line(t, "  stored-size:", "  stored-size: 200000\n  stored-sha256: 0000000000000000000000000000000000000000000000000000000000000000\n", &line);
	expect_fail_res(y, "9:3", "'payloads[0]': compressed: expected stored-chunk-size and stored-chunks-sha256, not stored-sha256");
	free(y);
	y = replace_line(t, "  stored-chunk-size:", "", &line);
	expect_fail_res(y, "9:3", "'payloads[0]': missing required key 'stored-chunk-size'");
	free(y);
	y = replace_line(t, "  size:", "  size: -5\n", &line);
	snprintf(where, sizeof(where), "%d:9", line);
	expect_fail_res(y, where, "key 'payloads[0].size'");
	free(y);

	/* resolved manifests carry no sources and need created */
	y = replace_line(t, "  member:", "  member: payloads/rootfs.zst\n  source: /etc/shadow\n", &line);
	snprintf(where, sizeof(where), "%d:3", line + 1);
	expect_fail_res(y, where, "unknown key 'source' in 'payloads[0]'");
	free(y);
	y = replace_line(t, "  created:", "", &line);
	expect_fail_res(y, "3:3", "'bundle': missing required key 'created'");
	free(y);
	/* compatible must be a list in a resolved manifest */
	y = replace_line(t, "  compatible:", "  compatible: board-a\n", &line);
	snprintf(where, sizeof(where), "%d:15", line);
	expect_fail_res(y, where, "key 'bundle.compatible': expected a list");
	free(y);
	/* stored without compression but stored size/sha differ */
	y = replace_line(t, "  compression:", "  compression: none\n", &line);
	{
		char *z = replace_line(y, "  member:", "  member: payloads/rootfs\n", &line);

		expect_fail_res(z, "9:3", "stored without compression");
		free(z);
	}
	free(y);
	free(t);
}

/* ---- NUL and control characters in keys and values (issue 11, 4) ------- */

/* A quoted key or value with a NUL or another control character is refused
 * wherever it is, with the position of the scalar and the key's path:
 * "size\0evil" must never pass for size, nor "none\0x" for none. */
static void test_err_controls(void **state)
{
	static const struct {
		const char *find, *repl, *where, *needle;
	} keys[] = {
		{"    type: image\n", "    \"type\\0evil\": image\n", "9:5",
		 "in 'payloads[0]': key 'type\\x00evil' contains a NUL byte"},
		{"  version: \"1.0\"\n", "  \"version\\0\": \"1.0\"\n", "4:3",
		 "in 'bundle': key 'version\\x00' contains a NUL byte"},
		{"format: 1\n", "\"format\\x1b\": 1\n", "1:1",
		 "in '(top level)': key 'format\\x1b' contains a control character 0x1B"},
		{"    type: image\n", "    \"type\\t\": image\n", "9:5", "key 'type\\x09' contains"},
		{"    type: image\n", "    \"type\\n\": image\n", "9:5", "key 'type\\x0a' contains"},
		{"    type: image\n", "    \"type\\x7f\": image\n", "9:5", "control character 0x7F"},
		{"    type: image\n", "    \"type\\x85\": image\n", "9:5", "control character U+0085"},
		{"  compatible: [board-a]\n", "  compatible: [board-a]\n  meta: {\"k\\0\": v}\n",
		 "7:10", "in 'bundle.meta': key 'k\\x00' contains a NUL byte"},
	};
	static const struct {
		const char *find, *repl, *where, *needle;
	} values[] = {
		{"    type: image\n", "    type: \"image\\0x\"\n", "9:11",
		 "key 'payloads[0].type': NUL byte in the value"},
		{"    source: rootfs.img\n", "    source: rootfs.img\n    compression: \"none\\0zstd\"\n",
		 "11:18", "key 'payloads[0].compression': NUL byte"},
		{"  compatible: [board-a]\n", "  compatible: [board-a, \"b\\0c\"]\n", "6:25",
		 "key 'bundle.compatible[1]': NUL byte"},
		{"  compatible: [board-a]\n", "  compatible: [board-a]\n  expires: \"2030-01-01T00:00:00Z\\0x\"\n",
		 "7:12", "key 'bundle.expires': NUL byte"},
		{"  compatible: [board-a]\n", "  compatible: [board-a]\n  description: \"a\\0b\"\n",
		 "7:16", "key 'bundle.description': NUL byte"},
		{"  compatible: [board-a]\n", "  compatible: [board-a]\n  description: \"a\\rb\"\n",
		 "7:16", "control character 0x0D"},
		{"  compatible: [board-a]\n", "  compatible: [board-a]\n  meta: {k: \"\\x9b[2J\"}\n",
		 "7:13", "key 'bundle.meta.k': control character U+009B"},
		{"    source: rootfs.img\n", "    source: \"rootfs.img\\0.sig\"\n", "10:13",
		 "key 'payloads[0].source': NUL byte"},
		{"  name: demo\n", "  name: \"demo\\x1b]0;x\\x07\"\n", "3:9",
		 "key 'bundle.name': control character 0x1B"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		edit_fail(keys[i].find, keys[i].repl, keys[i].where, keys[i].needle);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		edit_fail(values[i].find, values[i].repl, values[i].where, values[i].needle);
	/* tabs and newlines stay allowed in free text */
	{
		char *y = edit("  compatible: [board-a]\n",
			       "  compatible: [board-a]\n  description: \"a\\tb\\nc\"\n  meta: {k: \"x\\ty\"}\n");
		struct oab_manifest *m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);

		assert_string_equal(m->description, "a\tb\nc");
		assert_string_equal(m->meta[0].value, "x\ty");
		oab_manifest_free(m);
		free(y);
	}
}

/* base_yaml as build leaves it before emitting: created set, the payload
 * stored as is (no chunk list needed), size 0. */
static struct oab_manifest *emittable(int64_t created)
{
	struct oab_manifest *m = parse_ok(base_yaml, strlen(base_yaml), OAB_MANIFEST_SOURCE);

	m->created = created;
	m->has_created = 1;
	m->items[0].compression = OAB_COMP_NONE;
	free(m->items[0].member);
	m->items[0].member = strdup("payloads/rootfs");
	assert_non_null(m->items[0].member);
	return m;
}

/* The resolved manifest read from a bundle goes through the same check:
 * a `sha256` or `created` with a NUL suffix is refused. */
static void test_resolved_controls(void **state)
{
	static const char *const fields[] = {"  created: ", "  sha256: ", "  compression: "};
	struct oab_manifest *m;
	struct oab_err err = {0};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	m = emittable(T_2027_06_30);
	assert_int_equal(oab_manifest_emit(m, &buf, &len, &err), 0);
	oab_manifest_free(m);
	m = parse_ok(buf, len, OAB_MANIFEST_RESOLVED);
	oab_manifest_free(m);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *at = strstr(buf, fields[i]), *eol, *y;

		assert_non_null(at);
		eol = strchr(at, '\n');
		/* the same value, quoted, with "\0x" after it */
		assert_true(asprintf(&y, "%.*s\"%.*s\\0x\"%s", (int)(at - buf + strlen(fields[i])), buf,
				     (int)(eol - at - strlen(fields[i])), at + strlen(fields[i]),
				     eol) > 0);
		expect_fail_len(y, strlen(y), OAB_MANIFEST_RESOLVED, "*", "NUL byte in the value",
				(const char *)NULL);
		free(y);
	}
	free(buf);
}

/* ---- names a file system folds together (issue 11, 5) ------------------- */

static void test_err_name_collisions(void **state)
{
	(void)state;
	/* case-only differences between items, across kinds too */
	edit_fail("    source: rootfs.img\n",
		  "    source: rootfs.img\n  - {name: RootFS, type: file, source: b}\n", "11:1",
		  "names 'RootFS' and 'rootfs' (line 8) differ only in case");
	edit_fail("    source: rootfs.img\n",
		  "    source: rootfs.img\nscripts:\n  - {name: ROOTFS, hook: pre-install, source: s}\n",
		  "12:1", "names 'ROOTFS' and 'rootfs' (line 8) differ only in case");
	/* member names that differ only in case: p (zstd) and P.ZST (stored) */
	edit_fail("    source: rootfs.img\n",
		  "    source: rootfs.img\n  - {name: p, type: file, source: b}\n"
		  "  - {name: P.ZST, type: file, source: c, compression: none}\n",
		  "12:1", "'P.ZST' and 'p' would be stored under the same member name");
	/* exact duplicates keep their message */
	edit_fail("    source: rootfs.img\n",
		  "    source: rootfs.img\n  - {name: rootfs, type: file, source: b}\n", "11:1",
		  "duplicate name 'rootfs' (first used on line 8)");
	/* meta keys: exact and case-only duplicates */
	edit_fail("  compatible: [board-a]\n",
		  "  compatible: [board-a]\n  meta:\n    Build-ID: 1\n    x: 2\n    build-id: 3\n", "10:5",
		  "key 'build-id' in 'bundle.meta' differs only in case from 'Build-ID' on line 8");
	/* NFC and NFD spellings of the same name (U+00E9 and e + U+0301), and
	 * bidi overrides, cannot be told apart on screen: names are ASCII only */
	edit_fail("  - name: rootfs\n", "  - name: \"caf\\u00e9\"\n", "8:11",
		  "'caf\\xc3\\xa9' is not a valid name (1 to 64 characters of A-Z a-z 0-9 . _ -");
	edit_fail("  - name: rootfs\n", "  - name: \"cafe\\u0301\"\n", "8:11",
		  "'cafe\\xcc\\x81' is not a valid name");
	edit_fail("  - name: rootfs\n", "  - name: \"evil\\u202egpj.exe\"\n", "8:11",
		  "key 'payloads[0].name': bidirectional formatting character U+202E");
	edit_fail("    source: rootfs.img\n", "    source: rootfs.img\n    slot: \"a\\u2066b\"\n",
		  "11:11", "key 'payloads[0].slot'");
	edit_fail("  compatible: [board-a]\n", "  compatible: [board-a]\n  meta: {\"k\\u200f\": v}\n",
		  "7:10", "key 'bundle.meta key'");
	/* bidi formatting in printed labels (version, compatible) */
	edit_fail("  version: \"1.0\"\n", "  version: \"1.0\\u202e\"\n", "4:12",
		  "key 'bundle.version': bidirectional formatting character U+202E");
	edit_fail("  compatible: [board-a]\n", "  compatible: [\"board\\u061c\"]\n", "6:16",
		  "key 'bundle.compatible': bidirectional formatting character U+061C");
	edit_fail("  compatible: [board-a]\n", "  compatible: [board-a, b, board-a]\n", "6:28",
		  "key 'bundle.compatible': duplicate entry (same as entry 1)");
	/* free text and source paths may hold them (right-to-left languages) */
	{
		char *y = edit("  compatible: [board-a]\n",
			       "  compatible: [board-a]\n  description: \"\\u200fx\"\n");
		struct oab_manifest *m = parse_ok(y, strlen(y), OAB_MANIFEST_SOURCE);

		oab_manifest_free(m);
		free(y);
	}
}

/* ---- linear work (issue 11, 9) ------------------------------------------- */

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* base_yaml with n meta keys, the last a repeat of key-42 (so the whole
 * set is compared), in no sorted order. */
static char *many_meta(size_t n)
{
	const char *pay = strstr(base_yaml, "payloads:");
	char *y = malloc(strlen(base_yaml) + n * 24 + 64), *q;

	assert_non_null(y);
	q = y + sprintf(y, "%.*s  meta:\n", (int)(pay - base_yaml), base_yaml);
	for (size_t i = 0; i < n - 1; i++)
		q += sprintf(q, "    key-%zu: v\n", (i * 7919) % n);
	q += sprintf(q, "    key-42: v\n");
	strcpy(q, pay);
	assert_true(strlen(y) < OAB_MAX_MANIFEST_BYTES);
	return y;
}

static double parse_meta_cpu(size_t n)
{
	char *y = many_meta(n);
	double t0 = cpu_seconds(), used;

	expect_fail_len(y, strlen(y), OAB_MANIFEST_SOURCE, "*",
			"duplicate key 'key-42' in 'bundle.meta'", (const char *)NULL);
	used = cpu_seconds() - t0;
	free(y);
	return used;
}

/* As many meta keys as the node limit allows (49,900): comparing each with
 * all earlier ones took 3.1 s of CPU; sorted, it takes 0.04 s. Absolute
 * bounds flake (ASan with slow unwinding makes every malloc dear), so the
 * test compares with 1/8 of the keys in the same process: linear work
 * grows about 8x (n log n a little more), quadratic work 64x. CPU time,
 * so other processes on the machine do not count. */
static void test_many_meta_keys_linear(void **state)
{
	const size_t n = 49900;
	double small = 1e9, big;

	(void)state;
	for (int i = 0; i < 3; i++) {
		double t = parse_meta_cpu(n / 8);

		small = t < small ? t : small;
	}
	big = parse_meta_cpu(n);
	if (big > 24 * small + 0.05 || getenv("OAB_SHOW_TIMES"))
		print_error("%zu meta keys took %.3f s of CPU, %zu took %.3f s\n", n, big, n / 8,
			    small);
	assert_true(big <= 24 * small + 0.05);
}

/* ---- times -------------------------------------------------------------- */

static void test_time_parse(void **state)
{
	static const char *const bad[] = {
		"2027-13-01T00:00:00Z", "2027-00-10T00:00:00Z", "2027-06-00T00:00:00Z",
		"2027-06-32T00:00:00Z", "2027-02-30T00:00:00Z", "2027-04-31T00:00:00Z",
		"2100-02-29T00:00:00Z", "2027-06-30", "2027-06-30T00:00:00",
		"2027-06-30T00:00:00Zjunk", "2027-06-30T00:00:00Z ", "2027-06-30T00:00:00+0200",
		"2027-06-30T00:00:00+02:00x", "2027-06-30T24:00:00Z", "2027-06-30T00:60:00Z",
		"2027-06-30T00:00:00.Z", "2027-06-30T00:00:00+24:00", "2027-06-30T00:00:00+02:60",
		"2027-06-30T00:00:00+-1:00", "2027-06-30T00:00:00+ 1:00", "2027-6-30T00:00:00Z",
		"+027-06-30T00:00:00Z", "2027-06-30X00:00:00Z", "1969-12-31T23:59:59Z", "",
		"2027-06-30T00:00:00z2",
		/* past 9999-12-31T23:59:59Z or before 1970 once the offset applies */
		"9999-12-31T23:59:60Z", "9999-12-31T23:59:59-00:01", "9999-12-31T23:00:00-01:00",
		"1970-01-01T00:00:00+00:01", "10000-01-01T00:00:00Z",
	};
	int64_t t = 0, u = 0;

	(void)state;
	assert_int_equal(oab_time_parse("2027-06-30T00:00:00Z", &t), 0);
	assert_int_equal(t, T_2027_06_30);
	assert_int_equal(oab_time_parse("2027-06-30T02:00:00+02:00", &u), 0);
	assert_int_equal(u, T_2027_06_30);
	assert_int_equal(oab_time_parse("2027-06-29T19:30:00-04:30", &u), 0);
	assert_int_equal(u, T_2027_06_30);
	assert_int_equal(oab_time_parse("2027-06-30t00:00:00z", &u), 0);
	assert_int_equal(u, T_2027_06_30);
	assert_int_equal(oab_time_parse("2027-06-30 00:00:00Z", &u), 0);
	assert_int_equal(u, T_2027_06_30);
	/* fractional seconds are accepted and truncated */
	assert_int_equal(oab_time_parse("2027-06-30T00:00:00.5Z", &u), 0);
	assert_int_equal(u, T_2027_06_30);
	assert_int_equal(oab_time_parse("2027-06-30T00:00:01.999999999+00:00", &u), 0);
	assert_int_equal(u, T_2027_06_30 + 1);
	assert_int_equal(oab_time_parse("1970-01-01T00:00:00Z", &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(oab_time_parse("2028-02-29T12:00:00Z", &u), 0);
	assert_int_equal(u, INT64_C(1835438400));
	assert_int_equal(oab_time_parse("2000-02-29T00:00:00Z", &u), 0);
	assert_int_equal(oab_time_parse("2027-12-31T23:59:59Z", &u), 0);
	assert_int_equal(u, INT64_C(1830297599));
	/* the last second that RFC 3339 (and tar) can write */
	assert_int_equal(oab_time_parse("9999-12-31T23:59:59Z", &u), 0);
	assert_int_equal(u, OAB_TIME_MAX);
	assert_int_equal(oab_time_parse("9999-12-31T23:59:59+00:00", &u), 0);
	assert_int_equal(oab_time_parse("1970-01-01T00:00:00-00:01", &u), 0);
	assert_int_equal(u, 60);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = 12345;
		if (oab_time_parse(bad[i], &u) != -1)
			print_error("'%s' was accepted\n", bad[i]);
		assert_int_equal(oab_time_parse(bad[i], &u), -1);
		assert_int_equal(u, 12345); /* untouched on failure */
	}
}

static void test_time_format(void **state)
{
	static const int64_t ts[] = {0, 1, 951782400 /* 2000-02-29 */, T_2027_06_30,
				     INT64_C(1830297599), INT64_C(4102444800) /* 2100-01-01 */,
				     OAB_TIME_MAX};
	char buf[32];

	(void)state;
	oab_time_format(T_2027_06_30, buf);
	assert_string_equal(buf, "2027-06-30T00:00:00Z");
	oab_time_format(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	oab_time_format(INT64_C(1830297599), buf);
	assert_string_equal(buf, "2027-12-31T23:59:59Z");
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		int64_t back = -1;

		oab_time_format(ts[i], buf);
		assert_int_equal(strlen(buf), 20);
		assert_int_equal(oab_time_parse(buf, &back), 0);
		assert_int_equal(back, ts[i]);
	}
}

/* The emitter never writes a time that oab_time_parse would refuse: such a
 * bundle would fail its own verification. */
static void test_emit_time_range(void **state)
{
	static const int64_t bad[] = {OAB_TIME_MAX + 1, INT64_MAX, -1, INT64_MIN};
	struct oab_manifest *m;
	struct oab_err err = {0};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	m = emittable(OAB_TIME_MAX);
	assert_int_equal(oab_manifest_emit(m, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, "created: 9999-12-31T23:59:59Z\n"));
	free(buf);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		oab_err_clear(&err);
		buf = NULL;
		m->created = bad[i];
		assert_int_equal(oab_manifest_emit(m, &buf, &len, &err), -1);
		assert_null(buf);
		assert_int_equal(err.code, OAB_E_USAGE);
		assert_non_null(strstr(err.msg, "bundle.created: "));
		assert_non_null(strstr(err.msg, "9999-12-31T23:59:59Z"));
	}
	m->created = 0;
	m->has_expires = 1;
	m->expires = OAB_TIME_MAX + 1;
	assert_int_equal(oab_manifest_emit(m, &buf, &len, &err), -1);
	assert_non_null(strstr(err.msg, "bundle.expires: 253402300800 is outside"));
	oab_manifest_free(m);
}

/* ---- load from a file ------------------------------------------------------ */

static char *g_dir;

static int group_setup(void **state)
{
	(void)state;
	g_dir = tl_mkdtemp("manifest");
	return g_dir ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rm_rf(g_dir);
	free(g_dir);
	g_dir = NULL;
	return 0;
}

static void test_load_file(void **state)
{
	const char *dir = g_dir;
	char *p, *missing;
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};

	(void)state;
	assert_non_null(dir);
	p = tl_path(dir, "bundle.yaml");
	assert_int_equal(tl_write_file(p, base_yaml, strlen(base_yaml)), 0);
	assert_int_equal(oab_manifest_load(p, &m, &err), 0);
	/* sources are relative to the manifest's folder; the label is the path */
	{
		char *want = tl_path(dir, "rootfs.img");

		assert_string_equal(m->items[0].source, want);
		free(want);
	}
	oab_manifest_free(m);

	{
		char *y = edit("format: 1\n", "format: 2\n");

		assert_int_equal(tl_write_file(p, y, strlen(y)), 0);
		free(y);
	}
	assert_int_equal(oab_manifest_load(p, &m, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(strncmp(err.msg, p, strlen(p)), 0);
	assert_non_null(strstr(err.msg, ":1:9: key 'format'"));

	missing = tl_path(dir, "missing.yaml");
	assert_int_equal(oab_manifest_load(missing, &m, &err), -1);
	assert_non_null(strstr(err.msg, "missing.yaml"));
	free(missing);
	free(p);
}

/* ---- zstd levels 20-22 need the ultra opt-in (issue 12) ------------------- */

static void record_warn(void *arg, const char *msg)
{
	snprintf(arg, 256, "%s", msg);
}

/* A zero-initialised oab_build_opts refuses zstd levels 20-22 before any
 * work (no output); with ultra the build states its memory estimate. */
static void test_build_ultra(void **state)
{
	char *y = edit("    source: rootfs.img\n", "    source: rootfs.img\n    compression: zstd:21\n");
	char *src = tl_path(g_dir, "rootfs.img"), *man = tl_path(g_dir, "ultra.yaml");
	char *out = tl_path(g_dir, "ultra.oab"), warned[256] = "";
	struct oab_build_opts o = {0};
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};
	struct stat st;

	(void)state;
	assert_int_equal(tl_write_file(src, "some content", 12), 0);
	assert_int_equal(tl_write_file(man, y, strlen(y)), 0);
	assert_int_equal(oab_manifest_load(man, &m, &err), 0);
	assert_int_equal(m->items[0].level, 21);
	assert_int_equal(m->items[0].level_line, 11);
	assert_int_equal(m->items[0].level_col, 18);
	o.output = out;
	o.threads = 2;
	o.warn = record_warn;
	o.warn_arg = warned;
	assert_int_equal(oab_build(m, &o, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "'rootfs': zstd level 21 needs ultra mode"));
	assert_int_equal(stat(out, &st), -1);
	assert_string_equal(warned, "");
	o.ultra = 1;
	oab_err_clear(&err);
	assert_int_equal(oab_build(m, &o, &err), 0);
	assert_int_equal(stat(out, &st), 0);
	assert_non_null(strstr(warned, "'rootfs': zstd level 21 with 2 workers needs about "));
	oab_manifest_free(m);
	free(y);
	free(src);
	free(man);
	free(out);
}

/* The estimate follows zstd's own sizes: level 22 on 1 GiB with 2 workers
 * measured 2.3 GiB of peak RSS; small inputs get small windows. */
static void test_zstd_mem_estimate(void **state)
{
	const uint64_t MiB = 1 << 20, GiB = MiB << 10;
	uint64_t e22 = oab_zstd_mem_estimate(22, GiB, 2);

	(void)state;
	assert_true(e22 >= 2200 * MiB && e22 <= 2500 * MiB);
	assert_true(oab_zstd_mem_estimate(22, 64 * 1024, 2) < 64 * MiB);
	assert_true(oab_zstd_mem_estimate(22, 0, 2) > oab_zstd_mem_estimate(22, GiB, 2));
	assert_true(oab_zstd_mem_estimate(20, GiB, 1) < oab_zstd_mem_estimate(22, GiB, 1));
	assert_true(oab_zstd_mem_estimate(22, GiB, 4) > e22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_minimal_and_forms),
		cmocka_unit_test(test_err_keys),
		cmocka_unit_test(test_err_yaml_features),
		cmocka_unit_test(test_err_types),
		cmocka_unit_test(test_err_payloads_null),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_err_compression),
		cmocka_unit_test(test_err_expires_format),
		cmocka_unit_test(test_err_structure),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_minimal),
		cmocka_unit_test(test_resolved_rejects),
		cmocka_unit_test(test_err_controls),
		cmocka_unit_test(test_resolved_controls),
		cmocka_unit_test(test_err_name_collisions),
		cmocka_unit_test(test_many_meta_keys_linear),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_emit_time_range),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_build_ultra),
		cmocka_unit_test(test_zstd_mem_estimate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
