#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mksmall.sh DIR [COUNT] - copy COUNT (default 1000) files from /usr/share into
# DIR/smallfiles (a deterministic sample of 16-160 KiB files, about 45 MiB)
# and tar them into DIR/files.tar. Prints a one-line summary on stdout.
set -euo pipefail
dir=$1 count=${2:-1000}
mkdir -p "$dir/smallfiles"
list=$dir/smallfiles.list

pick() { # FIND-SIZE-ARGS...: reservoir-sample COUNT files with a fixed seed
	find /usr/share -xdev -type f "$@" -printf '%s\t%p\n' 2>/dev/null |
		awk -F'\t' -v want="$count" 'BEGIN { srand(1) }
		{ n++; if (n <= want) { p[n] = $2 } else { j = int(rand() * n) + 1; if (j <= want) p[j] = $2 } }
		END { for (i = 1; i <= want && i <= n; i++) { s = p[i]; sub(/^\//, "", s); print s } }'
}
pick -size +16k -size -161k > "$list"
[ "$(wc -l < "$list")" -ge "$count" ] || pick -size +1k > "$list"
[ "$(wc -l < "$list")" -ge "$count" ] || { echo "mksmall: fewer than $count files in /usr/share" >&2; exit 1; }

tar -C / --no-recursion -cf - -T "$list" | tar -C "$dir/smallfiles" -xf -
rm -f "$list"
tar -C "$dir/smallfiles" --sort=name -cf "$dir/files.tar" .
n=$(find "$dir/smallfiles" -type f | wc -l)
echo "$n files from /usr/share, tar $(( $(stat -c %s "$dir/files.tar") / 1048576 )) MiB"
