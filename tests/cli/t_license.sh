# SPDX-License-Identifier: Apache-2.0
# Every source file (C, headers, shell, Makefile, python, the version
# script) names its license in an SPDX tag in its first lines, and the
# LICENSE file is the Apache License 2.0 that the tag names.
. "$(dirname "$0")/lib.sh"
cd "$OAB_ROOT" || { bad "cannot enter $OAB_ROOT"; finish; }
grep -q 'Apache License' LICENSE && grep -q 'Version 2.0' LICENSE && ok "LICENSE is the Apache License 2.0" ||
	bad "LICENSE is not the Apache License 2.0"
find src cli include tests scripts bench examples .ci Makefile libotabundle.map \
	\( -name '*.[ch]' -o -name '*.sh' -o -name '*.py' -o -name Makefile -o -name '*.map' \
	-o -path .ci/run \) -type f 2>/dev/null | grep -v '/regressions/' | sort > "$T/files"
n=$(wc -l < "$T/files")
[ "$n" -ge 80 ] && ok "$n source files to check" || bad "only $n source files found"
missing=0
while read -r f; do
	if ! head -3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
		bad "$f: no SPDX-License-Identifier: Apache-2.0 in its first 3 lines"
		missing=$((missing + 1))
	fi
done < "$T/files"
[ "$missing" -eq 0 ] && ok "every one has SPDX-License-Identifier: Apache-2.0"
finish
