/* SPDX-License-Identifier: Apache-2.0 */
/* test_rauc.c - src/peer_rauc.c and peer_rauc_io.c: manifest.raucm as
 * GKeyFile reads it, the dm-verity layout and tree (made, checked, and a
 * flipped data or hash byte found). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otabundle/otabundle.h"
#include "peer_rauc.h"
#include "testlib.h"

static const char good[] =
	"# made by rauc\n"
	"[update]\n"
	"compatible=acme-gw\n"
	"version= 2.4.1\n"
	"description=\\sa\\\\b\\nc\n"
	"\n"
	"[bundle]\n"
	"format=verity\n"
	"verity-size=4096\n"
	"\n"
	"[image.rootfs]\n"
	"filename=rootfs.img\n"
	"size=300000\n"
	"sha256=185e0525bab89c22b3fa631c0e5b0da530df23e5b00ecdac7a2484b23b77d878\n"
	"hooks=post-install;\n"
	"adaptive=block-hash-index\n"
	"\n"
	"[image.appfs.v2]\n"
	"filename=app.tar\n"
	"size=0\n"
	"sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
	"[meta.x]\nanything=goes\n";

static void test_raucm_parse(void **state)
{
	struct oab_err err = {0};
	struct oab_raucm m;

	(void)state;
	assert_int_equal(oab_raucm_parse(good, strlen(good), "t", &m, &err), 0);
	assert_string_equal(m.compatible, "acme-gw");
	assert_string_equal(m.version, "2.4.1");
	assert_string_equal(m.description, " a\\b\nc");
	assert_string_equal(m.format, "verity");
	assert_true(m.has_verity_size);
	assert_int_equal(m.verity_size, 4096);
	assert_int_equal(m.n_images, 2);
	assert_string_equal(m.images[0].slotclass, "rootfs");
	assert_string_equal(m.images[0].hooks, "post-install;");
	assert_int_equal(m.images[0].size, 300000);
	assert_int_equal(m.images[0].sha256[0], 0x18);
	assert_string_equal(m.images[1].slotclass, "appfs.v2");
	assert_int_equal(m.images[1].size, 0);
	oab_raucm_release(&m);
}

static void refused(const char *text, const char *msg)
{
	struct oab_err err = {0};
	struct oab_raucm m;

	assert_int_equal(oab_raucm_parse(text, strlen(text), "t", &m, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' lacks '%s'", err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
}

static void test_raucm_refused(void **state)
{
	static const char sha[] = "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
	char buf[512];

	(void)state;
	refused("[update]\nversion=1\n", "[update] compatible missing");
	refused("[update]\ncompatible=a\ncompatible=b\n", "t:3: key 'compatible' repeated in [update]");
	refused("[update]\ncompatible=a\n[update]\n", "t:3: group [update] repeated");
	refused("compatible=a\n", "t:1: expected [group] or key=value");
	refused("[update]\ncompatible=a\njunk\n", "t:3: expected [group] or key=value");
	refused("[update\ncompatible=a\n", "t:1: bad group line");
	refused("[update]\ncompatible=a\\q\n", "t:2: bad key or escape");
	refused("[update]\ncompatible=a\x1b[2J\n", "control character");
	refused("[update]\ncompatible=a\n[bundle]\nverity-size=-1\n", "verity-size: expected one number");
	refused("[update]\ncompatible=a\n[bundle]\nverity-size=99999999999999999999\n", "verity-size");
	refused("[update]\ncompatible=a\n[image.]\n", "[image.] without a slot class");
	refused("[update]\ncompatible=a\n[image.r]\nfilename=r\nsize=1\n", "needs filename, sha256 and size");
	refused("[update]\ncompatible=a\n[image.r]\nfilename=r\nsize=1\nsha256=abc\n", "sha256: expected 64 hex");
	snprintf(buf, sizeof(buf), "[update]\ncompatible=a\n[image.r]\nfilename=r\nsize=1x\n%s", sha);
	refused(buf, "size: expected a number of bytes");
	snprintf(buf, sizeof(buf), "[update]\ncompatible=a\n[image.r]\nfilename=r\nsize=1\n%s[image.r]\n", sha);
	refused(buf, "group [image.r] repeated");
	{
		/* more images than the limit */
		size_t cap = (OAB_RAUC_MAX_IMAGES + 2) * 120 + 64, n = 0;
		char *big = malloc(cap);

		assert_non_null(big);
		n += (size_t)snprintf(big + n, cap - n, "[update]\ncompatible=a\n");
		for (int i = 0; i <= OAB_RAUC_MAX_IMAGES; i++)
			n += (size_t)snprintf(big + n, cap - n, "[image.c%d]\nfilename=f\nsize=1\n%s", i, sha);
		refused(big, "more than 64 images");
		free(big);
	}
	{
		char *huge = calloc(1, OAB_RAUC_MAX_RAUCM + 2);

		assert_non_null(huge);
		memset(huge, '#', OAB_RAUC_MAX_RAUCM + 1);
		refused(huge, "larger than 65536 bytes");
		free(huge);
	}
}

static void test_verity_size(void **state)
{
	(void)state;
	assert_int_equal(oab_rauc_verity_size(0), 0);
	assert_int_equal(oab_rauc_verity_size(1), 0); /* rauc needs > 4096 bytes */
	assert_int_equal(oab_rauc_verity_size(2), 4096);
	assert_int_equal(oab_rauc_verity_size(128), 4096);
	assert_int_equal(oab_rauc_verity_size(129), 3 * 4096);   /* 2 + 1 */
	assert_int_equal(oab_rauc_verity_size(16384), 129 * 4096); /* 128 + 1 */
	assert_int_equal(oab_rauc_verity_size(16385), 132 * 4096); /* 129 + 2 + 1 */
	assert_int_equal(oab_rauc_verity_size(UINT64_MAX), 0);
}

static void flip_at(int fd, off_t off)
{
	unsigned char b;

	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
}

static void test_verity_tree(void **state)
{
	char *dir = tl_mkdtemp("rauc"), path[4096];
	unsigned char salt[32], root[32], *data = malloc(300 * 4096);
	struct oab_err err = {0};
	uint64_t tree = oab_rauc_verity_size(300);
	int fd;

	(void)state;
	assert_non_null(dir);
	assert_non_null(data);
	for (size_t i = 0; i < 300 * 4096; i++)
		data[i] = (unsigned char)(i * 7 + i / 4096);
	memset(salt, 0x5a, sizeof(salt));
	snprintf(path, sizeof(path), "%s/v", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, 300 * 4096), 300 * 4096);
	assert_int_equal(oab_rauc_verity(fd, 300, salt, root, 1, NULL, NULL, &err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)(300 * 4096 + tree));
	assert_int_equal(oab_rauc_verity(fd, 300, salt, root, 0, NULL, NULL, &err), 0);
	/* a data byte: its level-0 block no longer matches */
	flip_at(fd, 200 * 4096 + 17);
	assert_int_equal(oab_rauc_verity(fd, 300, salt, root, 0, NULL, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "squashfs bytes 524288 to"));
	flip_at(fd, 200 * 4096 + 17);
	/* a byte of the top hash block: the root no longer matches */
	flip_at(fd, 300 * 4096 + 5);
	assert_int_equal(oab_rauc_verity(fd, 300, salt, root, 0, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "verity hash tree:"));
	flip_at(fd, 300 * 4096 + 5);
	/* another salt, another root */
	salt[0] ^= 1;
	assert_int_equal(oab_rauc_verity(fd, 300, salt, root, 0, NULL, NULL, &err), -1);
	/* truncated tree */
	salt[0] ^= 1;
	assert_int_equal(ftruncate(fd, (off_t)(300 * 4096 + tree - 1)), 0);
	assert_int_equal(oab_rauc_verity(fd, 300, salt, root, 0, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "truncated"));
	close(fd);
	free(data);
	tl_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raucm_parse),
		cmocka_unit_test(test_raucm_refused),
		cmocka_unit_test(test_verity_size),
		cmocka_unit_test(test_verity_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
