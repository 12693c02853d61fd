# bash completion for otabundle(1). Generated from the option tables by
# 'otabundle completion bash'; do not edit.
_otabundle() {
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W 'build verify inspect extract sign export-manifest attach-signature export timestamp help --version' -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	case $cmd in
	build)
		case $prev in
		-o|--output|--key|--cert|--chain|--pkcs11-module|--ca|--trust|--crl|--base) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--source-root) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		--pass|--pin) COMPREPLY=($(compgen -W 'env: file: fd:' -- "$cur")); return ;;
		--tsa|--tsa-timeout|-j|--jobs) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-o --output --key --cert --chain --pass --pin --pkcs11-module --ca --trust --crl --tsa --tsa-timeout --source-root --unsigned --ultra -j --jobs --base --json -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	verify)
		case $prev in
		--ca|--trust|--crl|--tsa-ca) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--compatible|--min-security-version|--threshold|--now) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--ca --trust --compatible --min-security-version --threshold --now --allow-weak --crl --check-revocation --tsa-ca --json -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	inspect)
		case $prev in
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	extract)
		case $prev in
		--ca|--trust|--crl|--tsa-ca|--base) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		-C|--directory) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		--compatible|--min-security-version|--threshold|--now) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--ca --trust --compatible --min-security-version --threshold --now --allow-weak --crl --check-revocation --tsa-ca -C --directory -f --force --base --json -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	sign)
		case $prev in
		-o|--output|--key|--cert|--chain|--pkcs11-module|--ca|--trust|--crl|--sig) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--pass|--pin) COMPREPLY=($(compgen -W 'env: file: fd:' -- "$cur")); return ;;
		--tsa|--tsa-timeout) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-o --output --key --cert --chain --pass --pin --pkcs11-module --ca --trust --crl --tsa --tsa-timeout --replace --detached --sig --json -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	export-manifest)
		case $prev in
		-o|--output|--sig|--unsigned|--ca|--trust|--crl) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--to|--compatible|--min-security-version|--threshold|--now) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-o --output --sig --to --unsigned --rauc-plain --ca --trust --compatible --min-security-version --threshold --now --allow-weak --crl --check-revocation -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	attach-signature)
		case $prev in
		-o|--output|--signer|--ca|--trust) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--to|--compatible|--min-security-version|--threshold|--now) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-o --output --to --signer --ca --trust --compatible --min-security-version --threshold --now --allow-weak --replace -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	export)
		case $prev in
		-o|--output|--key|--cert|--chain|--pkcs11-module|--ca|--trust|--crl|--tsa-ca) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--pass|--pin) COMPREPLY=($(compgen -W 'env: file: fd:' -- "$cur")); return ;;
		--to|--compatible|--min-security-version|--threshold|--now|--mender-compression) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--to -o --output --key --cert --chain --pass --pin --pkcs11-module --ca --trust --compatible --min-security-version --threshold --now --allow-weak --crl --check-revocation --tsa-ca --rauc-plain --cpio-crc --mender-compression --json -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	timestamp)
		case $prev in
		-o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--tsa|--tsa-timeout) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-o --output --tsa --tsa-timeout --json -q --quiet -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	help) COMPREPLY=($(compgen -W 'build verify inspect extract sign export-manifest attach-signature export timestamp ' -- "$cur")) ;;
	esac
}
complete -o filenames -F _otabundle otabundle
