#!/usr/bin/env bash
# Runs the example pmodules (examples/pmodules/*.lua, and the C modules of
# examples/pmodules/c, built with the one command docs/pmodules.md gives)
# on the tutorial's program (tests/fixtures/tutorial/*.c), which hangs
# after setting up its lists, and prints what they added to the snapshot
# (the C modules' lines go to stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
mkdir -p target/examples/tutorial
cc -g -O0 -o target/examples/tutorial/crash tests/fixtures/tutorial/*.c
target/examples/tutorial/crash > target/examples/tutorial/out &
pid=$!
trap 'kill $pid' EXIT
until grep -q ready target/examples/tutorial/out; do sleep 0.05; done
mkdir -p target/examples/c
c_modules=()
for source in examples/pmodules/c/*.c; do
    module=target/examples/c/$(basename "${source%.c}").so
    cc -shared -fPIC -Wall -Werror -I include -o "$module" "$source"
    c_modules+=(--module-load "$module")
done
snapshot=target/examples/tutorial/crash.json
./target/release/ptsnap --no-default-modules --modules-path examples/pmodules --module triage:team=storage \
    "${c_modules[@]}" -o "$snapshot" "$pid"
./target/release/ptsnap show "$snapshot" | sed -n '/"crash"/,/^$/p'
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('kv:', s['kv']); print('classifiers:', s['classifiers'], 'tags:', s['tags'])" "$snapshot"
