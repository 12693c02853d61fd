#!/bin/sh
# Run the real otabundle under valgrind memcheck: any memory error or
# definite leak turns into exit status 99, which no test expects.
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-fds=no "$OAB_REAL" "$@"
