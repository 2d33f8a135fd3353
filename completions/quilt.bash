# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for quilt(1). Self-contained: works with or without the
# bash-completion package. Container, volume and image names come from the daemon
# ("quilt ps --all --names", "quilt volume ls -q", "quilt image ls -q"), asked with the same -H/--host
# the command line names.

__quilt_global_opts='-H --host -s --server-addr --token --json --timeout -h --help --version'
__quilt_global_args='-H --host -s --server-addr --token --timeout'
__quilt_verbs='create run start stop kill wait rm remove status inspect ps list logs exec shell cp
        volume network icc image monitor cleanup health info metrics events system help'

# Per command: "options|options that take an argument|what the positional arguments are".
# Positional kinds: containers (any number), container (one), container-then-command,
# volumes, images, files, none.
declare -A __quilt_spec=(
        [create]='-n --name --image --image-path -e --env -w --workdir --working-directory --memory --memory-limit --cpu --cpu-limit --pids --network --pid --uts --ipc --cgroupns -v --volume --mount -l --label -u --user --setup --rm --no-network --enable-pid-namespace --enable-mount-namespace --enable-uts-namespace --enable-ipc-namespace --enable-network-namespace --enable-all-namespaces -h --help --async-mode --json|-n --name --image --image-path -e --env -w --workdir --working-directory --memory --memory-limit --cpu --cpu-limit --pids --network --pid --uts --ipc --cgroupns -v --volume --mount -l --label -u --user --setup|command'
        [run]='-n --name --image --image-path -e --env -w --workdir --working-directory --memory --memory-limit --cpu --cpu-limit --pids --network --pid --uts --ipc --cgroupns -v --volume --mount -l --label -u --user --setup --rm --no-network --enable-pid-namespace --enable-mount-namespace --enable-uts-namespace --enable-ipc-namespace --enable-network-namespace --enable-all-namespaces -h --help|-n --name --image --image-path -e --env -w --workdir --working-directory --memory --memory-limit --cpu --cpu-limit --pids --network --pid --uts --ipc --cgroupns -v --volume --mount -l --label -u --user --setup|command'
        [start]='-n --by-name -h --help||containers'
        [kill]='-s --signal -n --by-name -h --help|-s --signal|containers'
        [wait]='-n --by-name --json -h --help||containers'
        [stop]='-t --time --timeout -n --by-name -h --help|-t --time --timeout|containers'
        [rm]='-f --force -n --by-name -h --help||containers'
        [status]='-n --by-name --json -h --help||container'
        [inspect]='-n --by-name --json -h --help||container'
        [ps]='-a --all --state -f --filter --name --label -q --quiet --no-trunc --json -h --help|--state -f --filter --name --label|none'
        [logs]='-f --follow -n --tail --since --until --stream -t --timestamps --by-name --json -h --help|--tail --since --until --stream|container'
        [exec]='-c --command -e --env -w --workdir --working-directory -u --user -i --interactive -t --tty --timeout -d --detach --capture-output -n --by-name --json -h --help|-c --command -e --env -w --workdir --working-directory -u --user --timeout|container-then-command'
        [shell]='-e --env -w --workdir -u --user -n --by-name -h --help|-e --env -w --workdir -u --user|container'
        [cp]='-a --archive -L --follow-link -h --help||cp'
        [health]='--json -h --help||none'
        [info]='--json -h --help||none'
        [metrics]='-n --by-name --no-system --since --until --json -h --help|--since --until|container'
        [events]='-c --container -t --type -f --filter --since --until-now --no-follow --json -h --help|-c --container -t --type -f --filter --since|none'
        ['volume create']='-d --driver -l --label --labels -o --opt --json -h --help|-d --driver -l --label --labels -o --opt|none'
        ['volume ls']='-f --filter -q --quiet --json -h --help|-f --filter|none'
        ['volume inspect']='--json -h --help||volumes'
        ['volume rm']='-f --force -h --help||volumes'
        ['volume prune']='-f --force --filter --json -h --help|--filter|none'
        ['network ls']='--json -h --help||none'
        ['network inspect']='-n --by-name --json -h --help||container'
        ['network topology']='--format --json -h --help|--format|none'
        ['network dns']='--json -h --help||none'
        ['icc ping']='-c --count -W --timeout -h --help|-c --count -W --timeout|containers'
        ['image ls']='-q --quiet --json -h --help||none'
        ['image import']='--name --json -h --help|--name|files'
        ['image rm']='-h --help||images'
        ['monitor ls']='--json -h --help||none'
        ['monitor processes']='--json -h --help||none'
        ['monitor status']='-n --by-name --json -h --help||container'
        ['cleanup status']='-n --by-name --json -h --help||container'
        ['cleanup tasks']='-n --by-name --json -h --help||container'
        ['cleanup task']='--json -h --help||none'
        ['cleanup force']='-n --by-name --json -h --help||container'
        ['cleanup network']='--json -h --help||none'
        ['system prune']='--network --json -h --help||none'
)
declare -A __quilt_groups=(
        [volume]='create ls list inspect rm remove prune'
        [network]='ls list inspect topology dns'
        [icc]='ping exec'
        [image]='ls list import rm remove'
        [monitor]='ls list status processes'
        [cleanup]='status tasks task force network'
        [system]='prune'
)
declare -A __quilt_aliases=(
        [remove]=rm [list]=ps
        ['volume list']='volume ls' ['volume remove']='volume rm'
        ['network list']='network ls' ['image list']='image ls' ['image remove']='image rm'
        ['monitor list']='monitor ls' ['icc exec']=exec
)

__quilt_in() { # WORD LIST...
        local w=$1 x
        shift
        for x in $*; do [[ $x == "$w" ]] && return 0; done
        return 1
}

_quilt() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        local -a host=()
        local i=1 w verb= key= spec opts argopts kind npos=0 dashdash=0

        # Global options, up to the verb.
        while (( i < COMP_CWORD )); do
                w=${COMP_WORDS[i]}
                if __quilt_in "$w" "$__quilt_global_args"; then
                        [[ $w == -H || $w == --host || $w == -s || $w == --server-addr ]] && host=(--host "${COMP_WORDS[i+1]}")
                        (( i += 2 ))
                        continue
                fi
                [[ $w == --host=* ]] && host=("$w")
                [[ $w == -* ]] || { verb=$w; break; }
                (( i++ ))
        done

        if [[ -z $verb ]]; then
                if __quilt_in "$prev" "$__quilt_global_args"; then
                        return 0
                fi
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "$__quilt_global_opts" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$__quilt_verbs" -- "$cur"))
                fi
                return 0
        fi
        (( i++ ))

        key=$verb
        if [[ -n ${__quilt_groups[$verb]+x} ]]; then
                if (( i >= COMP_CWORD )); then
                        COMPREPLY=($(compgen -W "${__quilt_groups[$verb]} --help" -- "$cur"))
                        return 0
                fi
                key="$verb ${COMP_WORDS[i]}"
                (( i++ ))
        elif [[ $verb == help ]]; then
                COMPREPLY=($(compgen -W "$__quilt_verbs" -- "$cur"))
                return 0
        fi
        [[ -n ${__quilt_aliases[$key]+x} ]] && key=${__quilt_aliases[$key]}
        spec=${__quilt_spec[$key]}
        [[ -n $spec ]] || return 0
        opts=${spec%%|*}
        spec=${spec#*|}
        argopts=${spec%%|*}
        kind=${spec#*|}

        # Count the positional arguments before the cursor, stepping over option values.
        while (( i < COMP_CWORD )); do
                w=${COMP_WORDS[i]}
                if [[ $w == -- ]]; then
                        # What follows is the command (or, before CONTAINER, arguments).
                        dashdash=1
                        [[ $kind == container-then-command ]] && (( npos >= 1 )) && return 0
                        break
                elif __quilt_in "$w" "$argopts"; then
                        (( i += 2 ))
                        continue
                elif [[ $w != -* ]]; then
                        (( npos++ ))
                        [[ $kind == command || ( $kind == container-then-command && $npos -ge 2 ) ]] && return 0
                fi
                (( i++ ))
        done

        if (( ! dashdash )) && __quilt_in "$prev" "$argopts"; then
                case $prev in
                --network) COMPREPLY=($(compgen -W 'quilt none host' -- "$cur")) ;;
                --pid|--uts|--ipc|--cgroupns) COMPREPLY=($(compgen -W 'host private' -- "$cur")) ;;
                --state) COMPREPLY=($(compgen -W 'pending running exited failed' -- "$cur")) ;;
                --stream) COMPREPLY=($(compgen -W 'stdout stderr system stdout,stderr' -- "$cur")) ;;
                -f|--filter) [[ $key == ps ]] && COMPREPLY=($(compgen -W 'state= name= label=' -- "$cur")) ;;
                -s|--signal) COMPREPLY=($(compgen -W 'TERM KILL INT HUP QUIT USR1 USR2 STOP CONT' -- "$cur")) ;;
                --image|--image-path) COMPREPLY=($(compgen -f -- "$cur")) ;;
                -v|--volume) COMPREPLY=($(compgen -f -- "$cur")) ;;
                -w|--workdir|--working-directory) ;;
                esac
                return 0
        fi

        if (( ! dashdash )) && [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$opts" -- "$cur"))
                return 0
        fi

        case $kind in
        containers) COMPREPLY=($(compgen -W "$(quilt "${host[@]}" ps --all --names 2>/dev/null)" -- "$cur")) ;;
        container|container-then-command)
                (( npos == 0 )) && COMPREPLY=($(compgen -W "$(quilt "${host[@]}" ps --all --names 2>/dev/null)" -- "$cur"))
                ;;
        volumes) COMPREPLY=($(compgen -W "$(quilt "${host[@]}" volume ls -q 2>/dev/null)" -- "$cur")) ;;
        images) COMPREPLY=($(compgen -W "$(quilt "${host[@]}" image ls -q 2>/dev/null)" -- "$cur")) ;;
        files) COMPREPLY=($(compgen -f -- "$cur")) ;;
        cp)     # local paths, or CONTAINER: for a path inside a container
                COMPREPLY=($(compgen -f -- "$cur")
                           $(compgen -W "$(quilt "${host[@]}" ps --all --names 2>/dev/null | sed 's/$/:/')" -- "$cur")) ;;
        command) (( npos == 0 )) && COMPREPLY=($(compgen -c -- "$cur")) ;;
        esac
        return 0
}

complete -F _quilt quilt
