# SPDX-License-Identifier: Apache-2.0
# Shell completion is generated from the option tables (otabundle
# completion bash|zsh, a command not listed in help); the scripts in
# completion/ are what it prints now, and the bash one completes.
. "$(dirname "$0")/lib.sh"
C=$OAB_ROOT/completion
for sh in bash zsh; do
	f=$C/otabundle.bash
	[ "$sh" = zsh ] && f=$C/_otabundle
	expect 0 "" "$O" completion "$sh"
	cmp -s "$T/.out" "$f" && ok "completion/$(basename "$f") is current" ||
		bad "completion/$(basename "$f") differs from 'otabundle completion $sh': regenerate it"
done
expect 2 "expected 'bash' or 'zsh'" "$O" completion fish
bash -n "$C/otabundle.bash" && ok "bash script parses" || bad "bash script does not parse"
if command -v zsh >/dev/null; then
	zsh -n "$C/_otabundle" && ok "zsh script parses" || bad "zsh script does not parse"
else
	skip "zsh not installed: the zsh script is not parsed here"
fi
# Every option of every command's table is offered, and values complete
# by kind: files, folders, secret sources.
mkdir -p "$T/dir.d" && : > "$T/file.f"
comp() { # comp WORD... : what bash offers for the last word
	(cd "$T" && bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _otabundle; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/otabundle.bash" "$@")
}
comp otabundle ver | grep -qx verify && ok "commands complete" || bad "no command completion"
for cmd in build verify inspect extract sign export-manifest attach-signature; do
	"$O" help "$cmd" | sed -n '/^options:/,/^$/p' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u > "$T/want"
	comp otabundle "$cmd" -- | sort -u > "$T/got"
	missing=$(comm -23 "$T/want" "$T/got" | tr '\n' ' ')
	[ -z "$missing" ] && ok "$cmd: every option completes" || bad "$cmd: not offered: $missing"
done
comp otabundle build --source- | grep -qx -- --source-root && ok "build --source- -> --source-root" || bad "--source-root not offered"
comp otabundle extract -C "" | grep -qx dir.d && ! comp otabundle extract -C "" | grep -qx file.f &&
	ok "extract -C completes folders only" || bad "extract -C: $(comp otabundle extract -C "" | tr '\n' ' ')"
comp otabundle build --key "" | grep -qx file.f && ok "--key completes files" || bad "--key: no files"
[ "$(comp otabundle sign --pin "" | tr '\n' ' ')" = "env: file: fd: " ] && ok "--pin offers env: file: fd:" || bad "--pin: $(comp otabundle sign --pin "")"
[ -z "$(comp otabundle verify --threshold "")" ] && ok "--threshold N: nothing offered" || bad "--threshold offers $(comp otabundle verify --threshold "")"
finish
