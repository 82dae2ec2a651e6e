# bash completion for tcs' tools: tpmctl, tpmadm, tpmlist, tpmcreate,
# tpmencrypt, tpmdecrypt, tpmluks. Installed once per command name (bash-completion
# loads completions/NAME on first use); the words follow each tool's --help.
# SPDX-License-Identifier: LGPL-2.1-or-later

# KEY arguments: the symbolic names; a UUID is typed
_tcs_keys="srk sk rk"
# tpmlist(1): alg= and usage= values
_tcs_algs="rsa des 3des aes128 aes192 aes256 hmac sha xor"
_tcs_usages="storage signing bind legacy identity authchange migrate"

_tcs_tpmctl()
{
	local cur prev words cword
	_init_completion -s || return
	local commands="status keys keyinfo takeownership changepwd forgetpwd clear
		enable disable activate deactivate addkey deletekeys backup restore"
	local global="--json --no-ask-password --help --version --passwd=
		--well-known-owner"
	local criteria="--ancestor --parent --alg --usage --uuid"
	local cmd="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	case $prev in
	--ancestor | --parent | --uuid)
		COMPREPLY=($(compgen -W "$_tcs_keys" -- "$cur")); return ;;
	--alg) COMPREPLY=($(compgen -W "$_tcs_algs" -- "$cur")); return ;;
	--usage)
		COMPREPLY=($(compgen -W "$_tcs_usages" -- "$cur")); return ;;
	esac
	[[ $cur == *= ]] && return
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
		return
	fi
	local opts="" words_after=""
	case $cmd in
	takeownership)
		opts="--owner-secret-random --owner-secret-ask --owner-secret-well-known
			--no-storage-keys --no-store" ;;
	changepwd) opts="--store --new-secret-random --new-secret-ask --new-passwd=" ;;
	clear) opts="--yes" ;;
	addkey) opts="--replace --yes"; words_after="rk sk" ;;
	keys) opts="$criteria" ;;
	deletekeys) opts="$criteria --descendants --yes" ;;
	keyinfo) words_after=$_tcs_keys ;;
	backup) opts="--overwrite --secret=" ;;
	restore) opts="--yes --dry-run --secret=" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
		[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
	elif [[ $cmd == backup || $cmd == restore ]]; then
		_filedir
	else
		COMPREPLY=($(compgen -W "$words_after" -- "$cur"))
	fi
}

# tpmadm/tpmlist: COMMAND keyword=value...
_tcs_keyword_values()
{ # cur is KEYWORD=VALUE: complete VALUE; returns 1 when not a keyword=
	local kw=${cur%%=*} val=${cur#*=}
	[[ $cur == *=* ]] || return 1
	case $kw in
	key | ancestoruuid | parentuuid | uuid)
		COMPREPLY=($(compgen -W "$_tcs_keys tpm" -- "$val")) ;;
	alg) COMPREPLY=($(compgen -W "$_tcs_algs" -- "$val")) ;;
	usage) COMPREPLY=($(compgen -W "$_tcs_usages" -- "$val")) ;;
	passwd | newpasswd) COMPREPLY=($(compgen -W "random ask wellknown" -- "$val")) ;;
	filename) _filedir; return 0 ;;
	*) COMPREPLY=() ;;
	esac
	return 0
}

_tcs_keyword_command()
{ # COMMANDS-VAR-NAME: complete COMMAND, then its keywords
	local cur prev words cword
	_init_completion -n = || return
	local -n _table=$1
	if ((cword == 1)); then
		COMPREPLY=($(compgen -W "${!_table[*]} --help" -- "$cur"))
		return
	fi
	_tcs_keyword_values && return
	COMPREPLY=($(compgen -W "${_table[${words[1]}]-}" -- "$cur"))
	[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
}

declare -A _tcs_tpmadm_cmds=(
	[takeownership]="passwd= nostore nostoragekeys"
	[changepwd]="key=tpm storeentry passwd= newpasswd="
	[forgetpwd]=""
	[addkey]="key= yes"
	[deletekeys]="ancestoruuid= parentuuid= alg= usage= uuid= descendants yes"
	[backup]="filename= secret= passwd= overwrite"
	[restore]="filename= secret= passwd= yes dryrun"
	[clear]="yes" [enable]="" [disable]="" [activate]="" [deactivate]="" [status]=""
)
declare -A _tcs_tpmlist_cmds=(
	[status]=""
	[keys]="ancestoruuid= parentuuid= alg= usage= uuid="
	[keyinfo]="uuid="
)
_tcs_tpmadm() { _tcs_keyword_command _tcs_tpmadm_cmds; }
_tcs_tpmlist() { _tcs_keyword_command _tcs_tpmlist_cmds; }

_tcs_tpmcreate()
{
	local cur prev words cword
	_init_completion || return
	case $prev in
	-k) COMPREPLY=($(compgen -W "512 1024 2048" -- "$cur")); return ;;
	-w | --public-pem | --public-der | --public-ssh) _filedir; return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-k -a -s -w -x --public-pem --public-der --public-ssh" -- "$cur"))
	else
		_filedir
	fi
}

_tcs_tpmencrypt()
{
	local cur prev words cword
	_init_completion || return
	case $prev in
	-a) COMPREPLY=($(compgen -W "aes-256-gcm chacha20-poly1305 aes-256-cbc" -- "$cur")); return ;;
	-z) COMPREPLY=($(compgen -W "zstd gzip none" -- "$cur")); return ;;
	-p | -c) return ;;
	-o) _filedir; return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-o -a -z -d -n -p -P -c -f -v -r -h -V" -- "$cur"))
	else
		_filedir
	fi
}

_tcs_tpmdecrypt()
{
	local cur prev words cword
	_init_completion || return
	case $prev in
	-i) _filedir; return ;;
	-C) _filedir -d; return ;;
	-p) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-i -C -p -f -P -t -v -h -V" -- "$cur"))
	else
		_filedir
	fi
}

# tpmluks COMMAND DEVICE [options]: options may come anywhere (getopt_long)
_tcs_tpmluks()
{
	local cur prev words cword
	_init_completion || return
	case $prev in
	--key-file) _filedir; return ;;
	--pcrs | --token) return ;;
	esac
	local cmd="" i nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--key-file | --pcrs | --token) ((i++)) ;;
		-*) ;;
		*) ((nargs++ == 0)) && cmd=${words[i]} ;;
		esac
	done
	if [[ $cur == -* ]]; then
		local opts="--help --version"
		case $cmd in
		enroll) opts="--pin --pcrs --sk --key-file" ;;
		remove) opts="--token" ;;
		esac
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "enroll list remove" -- "$cur"))
	elif ((nargs == 1)); then
		_filedir # the LUKS2 device or image file
	fi
}

complete -F _tcs_tpmctl tpmctl
complete -F _tcs_tpmadm tpmadm
complete -F _tcs_tpmlist tpmlist
complete -F _tcs_tpmcreate tpmcreate
complete -F _tcs_tpmencrypt tpmencrypt
complete -F _tcs_tpmdecrypt tpmdecrypt
complete -F _tcs_tpmluks tpmluks
