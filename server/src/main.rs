use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: the request path allocates and frees
/// across threads (hyper, the PKCS#11 slot workers, SQLite), where glibc's
/// arenas cost a third of a reseed's CPU time (see README "Performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    server::cli::main()
}
