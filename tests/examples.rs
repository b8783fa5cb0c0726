//! Every example runs, and checks itself (`WARDEN_EXAMPLE_SELF_TEST=1`): the docs'
//! examples cannot rot.
use std::path::PathBuf;
use std::process::Command;

const EXAMPLES: &[&str] = &[
    "hello",
    "on_error",
    "per_worker_state",
    "graceful_shutdown",
    "two_listeners",
    "blocking",
    "websocket_echo",
    "broadcast",
    "sqlite",
    "async_client",
];

/// Where cargo puts example binaries: beside the test binary's `deps` folder.
fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join(name)
}

#[test]
fn every_example_runs_and_passes_its_self_test() {
    // `cargo test --all-targets` has built them already (then this is quick); a narrower
    // run would otherwise find them missing or stale.
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--examples", "--quiet"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    assert!(build.status().expect("cargo build --examples").success());
    for name in EXAMPLES {
        let output = Command::new(example_path(name))
            .env("WARDEN_EXAMPLE_SELF_TEST", "1")
            .env("RUST_LOG", "off")
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("self-test passed"),
            "{name} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
