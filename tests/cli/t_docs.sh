# SPDX-License-Identifier: Apache-2.0
# Docs checked against the code: every option in `otabundle help CMD` is in
# otabundle(1)'s SYNOPSIS and described in its text, and vice versa; the
# man pages lint clean.
. "$(dirname "$0")/lib.sh"
MAN=$OAB_ROOT/man/otabundle.1
command -v mandoc >/dev/null || { bad "mandoc not installed (make deps)"; finish; }
mandoc -Tascii "$MAN" | sed "s/.\x08//g" > "$T/man.txt"
sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$T/man.txt" > "$T/synopsis.txt"
opts() { grep -oE -- '(^|[][ (|])--?[a-zA-Z][a-z0-9-]*' | grep -oE -- '--?[a-zA-Z][a-z0-9-]*' | sort -u; }
for cmd in build verify inspect extract sign export-manifest attach-signature timestamp export; do
	"$O" help "$cmd" > "$T/help.txt" || bad "help $cmd failed"
	grep -q "usage: otabundle $cmd" "$T/help.txt" && ok "help $cmd" || bad "help $cmd: no usage line"
	# The options section is printed from the command's option table: one
	# line per option, each with its text.
	sed -n '/^options:/,/^$/p' "$T/help.txt" | grep '^  ' > "$T/table.txt"
	[ -s "$T/table.txt" ] && ok "$cmd: --help lists its option table" || bad "$cmd: no options section"
	nodesc=$(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i !~ /^-/ && $i !~ /^[A-Z][A-Z]*(\.\.\.)?$/ && $i != "-h,") n++; if (n < 2) print }' "$T/table.txt")
	[ -z "$nodesc" ] && ok "$cmd: every option has a description" || bad "$cmd: options without a description: $nodesc"
	# "-o --output" or "--json": the names of each option of the table
	awk '{ if ($1 ~ /^-.,$/) print substr($1, 1, 2), $2; else print $1 }' "$T/table.txt" |
		grep -v -- '--help$' > "$T/table.names"
	sed -n '/^usage:/,/^$/p' "$T/help.txt" | opts > "$T/usage.opts"
	# The hand-written usage lines show each option of the table (by one
	# of its names), and no other.
	while read -r a b; do
		grep -qx -- "$a" "$T/usage.opts" || grep -qx -- "${b:-$a}" "$T/usage.opts" ||
			bad "$cmd: $a${b:+ $b} is in its option table but not in its usage line"
		grep -q -- "$a" "$T/synopsis.txt" || grep -q -- "${b:-$a}" "$T/synopsis.txt" ||
			bad "$cmd: $a${b:+ $b} is in its option table but not in the SYNOPSIS"
		grep -q -- "${b:-$a}" "$T/man.txt" || bad "$cmd: ${b:-$a} is not described in otabundle(1)"
	done < "$T/table.names"
	while read -r o; do
		grep -qE -- "(^| )$o( |\$)" "$T/table.names" || bad "$cmd: usage shows $o, which its option table lacks"
	done < "$T/usage.opts"
	ok "$cmd: usage line, option table and otabundle(1) agree"
	grep -q "$cmd" "$T/synopsis.txt" && ok "SYNOPSIS lists $cmd" || bad "SYNOPSIS lacks $cmd"
	cp "$T/table.names" "$T/help.opts"
	ok "$cmd: $(wc -l < "$T/help.opts") options of its table are in otabundle(1)"
done
# The check finds an option without text.
printf '  -x, --example N\n' > "$T/probe.txt"
[ -n "$(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i !~ /^-/ && $i !~ /^[A-Z][A-Z]*(\.\.\.)?$/ && $i != "-h,") n++; if (n < 2) print }' "$T/probe.txt")" ] &&
	ok "an option without text is found" || bad "the description check finds nothing"
# Every option the SYNOPSIS shows is accepted by some command's --help.
opts < "$T/synopsis.txt" > "$T/syn.opts"
{ for cmd in build verify inspect extract sign export-manifest attach-signature timestamp export; do
	"$O" help "$cmd" | sed -n '/^options:/,/^$/p'; done
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
