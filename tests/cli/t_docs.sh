# SPDX-License-Identifier: Apache-2.0
# Docs checked against the code: every option in `otabundle help CMD` is in
# otabundle(1)'s SYNOPSIS and described in its text, and vice versa; the
# man pages lint clean.
. "$(dirname "$0")/lib.sh"
MAN=$OAB_ROOT/man/otabundle.1
command -v mandoc >/dev/null || { bad "mandoc not installed (make deps)"; finish; }
mandoc -Tascii "$MAN" | sed "s/.\x08//g" > "$T/man.txt"
sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$T/man.txt" > "$T/synopsis.txt"
opts() { grep -oE -- '(^|[][ (|])--?[a-z][a-z0-9-]*' | grep -oE -- '--?[a-z][a-z0-9-]*' | sort -u; }
for cmd in build verify inspect extract sign export-manifest attach-signature; do
	"$O" help "$cmd" > "$T/help.txt" || bad "help $cmd failed"
	grep -q "usage: otabundle $cmd" "$T/help.txt" && ok "help $cmd" || bad "help $cmd: no usage line"
	sed -n '/^usage:/,/^$/p' "$T/help.txt" | opts > "$T/help.opts"
	grep -q "$cmd" "$T/synopsis.txt" && ok "SYNOPSIS lists $cmd" || bad "SYNOPSIS lacks $cmd"
	while read -r o; do
		grep -q -- "$o" "$T/synopsis.txt" || bad "$cmd: $o is in --help but not in the SYNOPSIS"
		grep -q -- "$o" "$T/man.txt" || bad "$cmd: $o is not described in otabundle(1)"
	done < "$T/help.opts"
	ok "$cmd: $(wc -l < "$T/help.opts") options of --help are in otabundle(1)"
done
# Every option the SYNOPSIS shows is accepted by some command's --help.
opts < "$T/synopsis.txt" > "$T/syn.opts"
{ for cmd in build verify inspect extract sign export-manifest attach-signature; do "$O" help "$cmd"; done
  echo " --version"; } | opts > "$T/all.opts"
expect 0 "" "$O" --version
while read -r o; do
	grep -qx -- "$o" "$T/all.opts" || bad "SYNOPSIS shows $o, which no command's usage has"
done < "$T/syn.opts"
ok "SYNOPSIS options all exist"
for page in otabundle.1 otabundle-manifest.5 otabundle-format.5 otabundle-json.5; do
	out=$(mandoc -Tlint -Wwarning "$OAB_ROOT/man/$page" 2>&1)
	[ -z "$out" ] && ok "$page lints clean" || bad "$page: $out"
done
# Every exit status the library defines is documented.
for code in 0 1 2 3 4 5; do
	sed -n '/^EXIT STATUS/,/^[A-Z]/p' "$T/man.txt" | grep -qE "^ +$code[[:space:]]" && ok "exit status $code documented" || bad "exit status $code not in EXIT STATUS"
done
finish
