#!/usr/bin/env bash
# Builds ptsnap, compiles the bundled crashing example (tests/fixtures/crash.c), runs it under
# `ptsnap run`, and prints the snapshot for a person to read.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
mkdir -p target/examples
cc -g -O0 -pthread -o target/examples/crash tests/fixtures/crash.c
snapshot=target/examples/crash.json
# The example dies of SIGSEGV, so ptsnap exits with 139 as a shell would.
./target/release/ptsnap run -o "$snapshot" -- target/examples/crash 3 || test $? -eq 139
./target/release/ptsnap show "$snapshot"
