# SPDX-License-Identifier: Apache-2.0
# The library never talks to people (issue 13, item 2): nothing in src/
# prints, prompts, looks at a terminal or moves the process's descriptors,
# and no message of it names a command line option (the CLI adds those as
# hints from the error's detail). tests/unit/test_cms.c test_library_silent
# checks the same at run time.
. "$(dirname "$0")/lib.sh"
SRC=$OAB_ROOT/src
# Calls that write to stdout/stderr, prompt, or redirect descriptors.
hits=$(grep -nE '(^|[^a-z_])(printf|fprintf|vprintf|vfprintf|puts|fputs|putchar|putc|fputc|perror|isatty|dup2|dup3|getpass|EVP_read_pw_string|UI_[a-z_]+)[[:space:]]*\(|[^a-z_](stdout|stderr|STDERR_FILENO|STDOUT_FILENO)[^a-z_]' "$SRC"/*.c "$SRC"/*.h)
[ -z "$hits" ] && ok "src/: no printing, prompting or descriptor juggling" || bad "src/ talks to people: $hits"
# The check itself finds what it looks for.
printf 'static void f(void) { if (isatty(0)) fprintf(stderr, "x"); }\n' > "$T/probe.c"
grep -qE '(^|[^a-z_])(isatty|fprintf)[[:space:]]*\(' "$T/probe.c" && ok "the pattern finds a call" || bad "the pattern finds nothing"
# Option names ("--force", "--pin") in string literals. reader.c and
# sign.c are being moved to details by another change: until that has
# landed, their remaining hits are listed as skipped, not passed.
for f in "$SRC"/*.c; do
	h=$(grep -nE '"([^"\\]|\\.)*--[a-z][a-z-]*' "$f")
	base=$(basename "$f")
	if [ -z "$h" ]; then
		ok "$base: no option names in messages"
	elif [ "$base" = reader.c ] || [ "$base" = sign.c ]; then
		skip "$base: option names still in messages (issue 13 item 1 moves them): $(echo "$h" | cut -c1-60 | tr '\n' ' ')"
	else
		bad "$base names options: $h"
	fi
done
finish
