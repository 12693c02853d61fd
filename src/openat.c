/* SPDX-License-Identifier: Apache-2.0 */
/* openat.c - open a path beneath a folder (oab_open_at): openat2 with
 * RESOLVE_BENEATH where the kernel has it, else the same walk by hand.
 * Used by build (source.c) and extract (util.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define WALK_DEPTH 256 /* folders deep */
#define WALK_LINKS 40  /* symlinks followed, as the kernel's ELOOP bound */

/* RESOLVE_BENEATH by hand, one component at a time: ".." never above
 * dirfd, no absolute path or absolute symlink, relative symlinks spliced
 * into the rest of the path; every folder opened O_NOFOLLOW, so a
 * component swapped for a symlink meanwhile fails instead of leading out. */
static int walk_beneath(int dirfd, const char *name, int flags)
{
	char work[PATH_MAX * 2], comp[NAME_MAX + 1], tgt[PATH_MAX];
	int stack[WALK_DEPTH], depth = 0, links = 0, fd = -1, e = 0;
	size_t pos = 0;

	if (name[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (strlen(name) >= sizeof(work)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(work, name);
	for (;;) {
		int cur = depth ? stack[depth - 1] : dirfd;
		size_t len, rest;
		struct stat st;

		while (work[pos] == '/')
			pos++;
		if (!work[pos]) { /* "" or a trailing slash: the folder itself */
			fd = openat(cur, ".", flags | O_CLOEXEC);
			e = errno;
			break;
		}
		len = strcspn(work + pos, "/");
		if (len > NAME_MAX) {
			e = ENAMETOOLONG;
			break;
		}
		memcpy(comp, work + pos, len);
		comp[len] = '\0';
		pos += len;
		rest = pos;
		while (work[rest] == '/')
			rest++;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth == 0) {
				e = EXDEV;
				break;
			}
			close(stack[--depth]);
			continue;
		}
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			e = errno;
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(cur, comp, tgt, sizeof(tgt) - 1);

			if (n < 0 || ++links > WALK_LINKS) {
				e = n < 0 ? errno : ELOOP;
				break;
			}
			tgt[n] = '\0';
			if (tgt[0] == '/') {
				e = EXDEV;
				break;
			}
			if ((size_t)n + 1 + strlen(work + pos) >= sizeof(work)) {
				e = ENAMETOOLONG;
				break;
			}
			/* target + the rest, in place of the link */
			memmove(work + n + 1, work + pos, strlen(work + pos) + 1);
			memcpy(work, tgt, (size_t)n);
			work[n] = '/';
			pos = 0;
			continue;
		}
		if (!work[rest]) {
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
			e = errno;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			e = ENOTDIR;
			break;
		}
		if (depth == WALK_DEPTH) {
			e = ENAMETOOLONG;
			break;
		}
		stack[depth] = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (stack[depth] < 0) {
			e = errno;
			break;
		}
		depth++;
	}
	while (depth > 0)
		close(stack[--depth]);
	if (fd < 0)
		errno = e;
	return fd;
}

int oab_open_at(int dirfd, const char *name, int flags, int resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!resolve)
		return openat(dirfd, name, flags | O_CLOEXEC);
	if (resolve & OAB_BENEATH_WALK)
		return walk_beneath(dirfd, name, flags);
	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	/* Kernels before 5.6 (ENOSYS), or a seccomp filter that does not
	 * know the call (EPERM in older container runtimes). */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return walk_beneath(dirfd, name, flags);
	return (int)fd;
}
