/* SPDX-License-Identifier: Apache-2.0 */
/* test_swupdate.c - src/export_swupdate.c: the sw-description an export
 * carries (written from the manifest, deterministic, libconfig-quoted, no
 * guessed targets) and the 4 GiB cpio member limit. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "peer_swupdate.h"
#include "testlib.h"

static const char base[] =
	"format: 1\n"
	"bundle:\n"
	"  name: t\n"
	"  version: \"2.0\"\n"
	"  security-version: 1\n"
	"  description: \"say \\\"hi\\\" \\\\ there\"\n"
	"  compatible: [board-a, board-b]\n"
	"payloads:\n"
	"  - {name: rootfs, type: image, slot: rootfs, source: r.img}\n"
	"  - {name: app, type: archive, source: a.tar, compression: none}\n"
	"scripts:\n"
	"  - {name: pre, hook: pre-install, source: pre.sh}\n";

static struct oab_manifest *parse(const char *extra)
{
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};
	char *text = NULL;

	assert_true(asprintf(&text, "%s%s", base, extra) > 0);
	if (oab_manifest_parse(text, strlen(text), "t.yaml", "/nonexistent", OAB_MANIFEST_SOURCE, &m,
			       &err) < 0)
		fail_msg("%s", err.msg);
	free(text);
	/* what build fills in */
	for (size_t i = 0; i < m->n_items; i++) {
		m->items[i].stored_size = m->items[i].size = 1000 + i;
		memset(m->items[i].sha256, 0x11 * (int)(i + 1), 32);
	}
	return m;
}

static char *describe(const struct oab_manifest *m, struct oab_err *err)
{
	unsigned char (*stored)[32] = oab_calloc_array(m->n_items, 32);
	char *out = NULL;
	size_t len = 0;

	assert_non_null(stored);
	for (size_t i = 0; i < m->n_items; i++)
		memset(stored[i], 0xa0 + (int)i, 32);
	if (oab_swu_description(m, (const unsigned char (*)[32])stored, &out, &len, err) == 0)
		assert_int_equal(strlen(out), len);
	free(stored);
	return out;
}

static void test_description_fields(void **state)
{
	struct oab_manifest *m = parse("export:\n  swupdate:\n    items:\n      app: {path: /opt/app}\n");
	struct oab_err err = {0};
	char *d = describe(m, &err), *d2;

	(void)state;
	assert_non_null(d);
	assert_non_null(strstr(d, "version = \"2.0\";"));
	/* libconfig escapes quotes and backslashes: the text cannot end the string */
	assert_non_null(strstr(d, "description = \"say \\\"hi\\\" \\\\ there\";"));
	assert_non_null(strstr(d, "hardware-compatibility = [ \"board-a\", \"board-b\" ];"));
	assert_non_null(strstr(d, "filename = \"rootfs.zst\";"));
	assert_non_null(strstr(d, "device = \"/dev/disk/by-partlabel/rootfs\";"));
	assert_non_null(strstr(d, "compressed = \"zstd\";"));
	assert_non_null(strstr(d, "sha256 = \"a0a0a0a0"));
	assert_non_null(strstr(d, "filename = \"app\";"));
	assert_non_null(strstr(d, "type = \"archive\";"));
	assert_non_null(strstr(d, "path = \"/opt/app\";"));
	assert_non_null(strstr(d, "sha256 = \"a1a1a1a1"));
	/* the script: its content hash, preinstall */
	assert_non_null(strstr(d, "filename = \"pre\";"));
	assert_non_null(strstr(d, "type = \"preinstall\";"));
	assert_non_null(strstr(d, "sha256 = \"33333333"));
	/* the same manifest, the same bytes */
	d2 = describe(m, &err);
	assert_string_equal(d, d2);
	free(d);
	free(d2);
	oab_manifest_free(m);
}

static void test_description_settings(void **state)
{
	struct oab_manifest *m = parse("export:\n  swupdate:\n    hardware-compatibility: [\"1.0\", \"#RE:^2\\\\.[0-9]$\"]\n"
				       "    items:\n      rootfs: {type: ubivol, volume: rootfs_a}\n"
				       "      app: {path: /opt/app, device: /dev/sda3, filesystem: ext4}\n"
				       "      pre: {type: shellscript}\n");
	struct oab_err err = {0};
	char *d = describe(m, &err);

	(void)state;
	assert_non_null(d);
	assert_non_null(strstr(d, "hardware-compatibility = [ \"1.0\", \"#RE:^2\\\\.[0-9]$\" ];"));
	assert_non_null(strstr(d, "type = \"ubivol\";"));
	assert_non_null(strstr(d, "volume = \"rootfs_a\";"));
	assert_null(strstr(d, "by-partlabel"));
	assert_non_null(strstr(d, "device = \"/dev/sda3\";"));
	assert_non_null(strstr(d, "filesystem = \"ext4\";"));
	assert_non_null(strstr(d, "type = \"shellscript\";"));
	free(d);
	oab_manifest_free(m);
}

static void test_description_no_target(void **state)
{
	struct oab_manifest *m = parse("");
	struct oab_err err = {0};

	(void)state;
	/* app (archive) has no path: never guessed */
	assert_null(describe(m, &err));
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "payload 'app' (archive, handler 'archive') has no target: set export.swupdate.items.app.device or .path"));
	oab_manifest_free(m);
}

static void test_member_names_collide(void **state)
{
	struct oab_manifest *m = parse("export:\n  swupdate:\n    items:\n      app: {path: /opt/app}\n");
	struct oab_err err = {0};

	(void)state;
	/* the script would be member 'app', as the uncompressed payload */
	free(m->items[2].name);
	m->items[2].name = strdup("APP");
	assert_null(describe(m, &err));
	assert_non_null(strstr(err.msg, "items 'app' and 'APP' would both be member 'APP'"));
	oab_manifest_free(m);
}

static void test_member_limit(void **state)
{
	struct oab_manifest *m = parse("");
	struct oab_err err = {0};

	(void)state;
	m->items[0].stored_size = OAB_SWU_MAX_MEMBER;
	assert_int_equal(oab_swu_check_sizes(m, &err), 0);
	m->items[0].stored_size = OAB_SWU_MAX_MEMBER + 1;
	assert_int_equal(oab_swu_check_sizes(m, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "member 'payloads/rootfs.zst' is 4294967296 bytes; a .swu (cpio) member holds at most 4 GiB - 1"));
	/* a script goes as its content: its content size counts */
	m->items[0].stored_size = 1;
	m->items[2].stored_size = 1;
	m->items[2].size = OAB_SWU_MAX_MEMBER + 1;
	assert_int_equal(oab_swu_check_sizes(m, &err), -1);
	assert_non_null(strstr(err.msg, "member 'scripts/pre.zst'"));
	oab_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_description_fields),
		cmocka_unit_test(test_description_settings),
		cmocka_unit_test(test_description_no_target),
		cmocka_unit_test(test_member_names_collide),
		cmocka_unit_test(test_member_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
