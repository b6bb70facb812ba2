//! `ferrule`: the Ferrule admin CLI.

fn main() {
    std::process::exit(ferrule::cli::main());
}
