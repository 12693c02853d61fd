#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run the real otabundle under valgrind memcheck: any memory error or
# definite leak turns into exit status 99, which no test expects.
# valgrind itself needs a writable TMPDIR (a test may point it nowhere to
# show that otabundle does not use it).
[ -d "${TMPDIR:-/tmp}" ] && [ -w "${TMPDIR:-/tmp}" ] || TMPDIR=/tmp
export TMPDIR
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-fds=no "$OAB_REAL" "$@"
