//! The `sekisho` command: see `sekisho --help`.

fn main() -> std::process::ExitCode {
    sekisho::cli::main()
}
