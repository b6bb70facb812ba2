# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ferrule_global_optspecs
    string join \n configfs-root= json h/help V/version
end

function __fish_ferrule_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ferrule_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ferrule_using_subcommand
    set -l cmd (__fish_ferrule_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ferrule -n "__fish_ferrule_needs_command" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_needs_command" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_needs_command" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_needs_command" -s V -l version -d 'Print version'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "status" -d 'Module loaded? Version and object counts'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "devices" -d 'Devices with backend, size, state and the LUNs that map them'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "sessions" -d 'Logged-in initiator sessions of every target'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "apply" -d 'Make the running configuration match FILE (idempotent: creates, changes and removes)'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "clear" -d 'Stop every target and remove the whole running configuration, in a safe order: all targets disabled first (initiators logged out), then LUNs, members, groups, targets, NPIV ports, devices. What `systemctl stop ferrule` runs; the module can be unloaded afterwards'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "save" -d 'Write the running configuration as Ferrule TOML ("-" or nothing: standard output)'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "check" -d 'Validate FILE and print every error with its line and column'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "import" -d 'Convert another target\'s configuration to Ferrule TOML (on standard output)'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "manpage" -d 'Print the man page (roff)'
complete -c ferrule -n "__fish_ferrule_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferrule -n "__fish_ferrule_using_subcommand status" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand status" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand status" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand devices" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand devices" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand devices" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand sessions" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand sessions" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand sessions" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand apply" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand apply" -s n -l dry-run -d 'Print the plan (a diff of configfs operations) and change nothing'
complete -c ferrule -n "__fish_ferrule_using_subcommand apply" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand apply" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand clear" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand clear" -s n -l dry-run -d 'Print the plan and change nothing'
complete -c ferrule -n "__fish_ferrule_using_subcommand clear" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand clear" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand save" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand save" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand save" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand check" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand check" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand check" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand import" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand import" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferrule -n "__fish_ferrule_using_subcommand completions" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand completions" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand manpage" -l configfs-root -d 'Ferrule\'s configfs directory' -r -F
complete -c ferrule -n "__fish_ferrule_using_subcommand manpage" -l json -d 'Print machine-readable JSON instead of tables (read commands and check)'
complete -c ferrule -n "__fish_ferrule_using_subcommand manpage" -s h -l help -d 'Print help'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "status" -d 'Module loaded? Version and object counts'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "devices" -d 'Devices with backend, size, state and the LUNs that map them'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "sessions" -d 'Logged-in initiator sessions of every target'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "apply" -d 'Make the running configuration match FILE (idempotent: creates, changes and removes)'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "clear" -d 'Stop every target and remove the whole running configuration, in a safe order: all targets disabled first (initiators logged out), then LUNs, members, groups, targets, NPIV ports, devices. What `systemctl stop ferrule` runs; the module can be unloaded afterwards'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "save" -d 'Write the running configuration as Ferrule TOML ("-" or nothing: standard output)'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "check" -d 'Validate FILE and print every error with its line and column'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "import" -d 'Convert another target\'s configuration to Ferrule TOML (on standard output)'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "completions" -d 'Print a shell completion script'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "manpage" -d 'Print the man page (roff)'
complete -c ferrule -n "__fish_ferrule_using_subcommand help; and not __fish_seen_subcommand_from status devices sessions apply clear save check import completions manpage help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
