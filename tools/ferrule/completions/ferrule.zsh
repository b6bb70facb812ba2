#compdef ferrule

autoload -U is-at-least

_ferrule() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_ferrule_commands" \
"*::: :->ferrule" \
&& ret=0
    case $state in
    (ferrule)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:ferrule-command-$line[1]:"
        case $line[1] in
            (status)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(devices)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(sessions)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(apply)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'-n[Print the plan (a diff of configfs operations) and change nothing]' \
'--dry-run[Print the plan (a diff of configfs operations) and change nothing]' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
':file -- Ferrule TOML configuration:_files' \
&& ret=0
;;
(clear)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'-n[Print the plan and change nothing]' \
'--dry-run[Print the plan and change nothing]' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(save)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
'::file -- Output file:_files' \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
':file -- Ferrule TOML configuration:_files' \
&& ret=0
;;
(import)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':format -- Source format:((scst\:"SCST'\''s scst.conf (scstadmin -write_config)"
targetcli\:"LIO'\''s targetcli saveconfig.json"))' \
':file -- The file (/etc/scst.conf, saveconfig.json):_files' \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
':shell -- Shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(manpage)
_arguments "${_arguments_options[@]}" : \
'--configfs-root=[Ferrule'\''s configfs directory]:DIR:_files' \
'--json[Print machine-readable JSON instead of tables (read commands and check)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_ferrule__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:ferrule-help-command-$line[1]:"
        case $line[1] in
            (status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(devices)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(sessions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(apply)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(clear)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(save)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(import)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(manpage)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_ferrule_commands] )) ||
_ferrule_commands() {
    local commands; commands=(
'status:Module loaded? Version and object counts' \
'devices:Devices with backend, size, state and the LUNs that map them' \
'sessions:Logged-in initiator sessions of every target' \
'apply:Make the running configuration match FILE (idempotent\: creates, changes and removes)' \
'clear:Stop every target and remove the whole running configuration, in a safe order\: all targets disabled first (initiators logged out), then LUNs, members, groups, targets, NPIV ports, devices. What \`systemctl stop ferrule\` runs; the module can be unloaded afterwards' \
'save:Write the running configuration as Ferrule TOML ("-" or nothing\: standard output)' \
'check:Validate FILE and print every error with its line and column' \
'import:Convert another target'\''s configuration to Ferrule TOML (on standard output)' \
'completions:Print a shell completion script' \
'manpage:Print the man page (roff)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'ferrule commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__apply_commands] )) ||
_ferrule__subcmd__apply_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule apply commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__check_commands] )) ||
_ferrule__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule check commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__clear_commands] )) ||
_ferrule__subcmd__clear_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule clear commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__completions_commands] )) ||
_ferrule__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule completions commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__devices_commands] )) ||
_ferrule__subcmd__devices_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule devices commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help_commands] )) ||
_ferrule__subcmd__help_commands() {
    local commands; commands=(
'status:Module loaded? Version and object counts' \
'devices:Devices with backend, size, state and the LUNs that map them' \
'sessions:Logged-in initiator sessions of every target' \
'apply:Make the running configuration match FILE (idempotent\: creates, changes and removes)' \
'clear:Stop every target and remove the whole running configuration, in a safe order\: all targets disabled first (initiators logged out), then LUNs, members, groups, targets, NPIV ports, devices. What \`systemctl stop ferrule\` runs; the module can be unloaded afterwards' \
'save:Write the running configuration as Ferrule TOML ("-" or nothing\: standard output)' \
'check:Validate FILE and print every error with its line and column' \
'import:Convert another target'\''s configuration to Ferrule TOML (on standard output)' \
'completions:Print a shell completion script' \
'manpage:Print the man page (roff)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'ferrule help commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__apply_commands] )) ||
_ferrule__subcmd__help__subcmd__apply_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help apply commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__check_commands] )) ||
_ferrule__subcmd__help__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help check commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__clear_commands] )) ||
_ferrule__subcmd__help__subcmd__clear_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help clear commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__completions_commands] )) ||
_ferrule__subcmd__help__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help completions commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__devices_commands] )) ||
_ferrule__subcmd__help__subcmd__devices_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help devices commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__help_commands] )) ||
_ferrule__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help help commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__import_commands] )) ||
_ferrule__subcmd__help__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help import commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__manpage_commands] )) ||
_ferrule__subcmd__help__subcmd__manpage_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help manpage commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__save_commands] )) ||
_ferrule__subcmd__help__subcmd__save_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help save commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__sessions_commands] )) ||
_ferrule__subcmd__help__subcmd__sessions_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help sessions commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__help__subcmd__status_commands] )) ||
_ferrule__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule help status commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__import_commands] )) ||
_ferrule__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule import commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__manpage_commands] )) ||
_ferrule__subcmd__manpage_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule manpage commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__save_commands] )) ||
_ferrule__subcmd__save_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule save commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__sessions_commands] )) ||
_ferrule__subcmd__sessions_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule sessions commands' commands "$@"
}
(( $+functions[_ferrule__subcmd__status_commands] )) ||
_ferrule__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'ferrule status commands' commands "$@"
}

if [ "$funcstack[1]" = "_ferrule" ]; then
    _ferrule "$@"
else
    compdef _ferrule ferrule
fi
