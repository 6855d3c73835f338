#!/usr/bin/env python3
"""Times ptsnap against eu-stack and gdb on the same hung fixtures and cores.

Cases:
  threads-1000   tests/fixtures/hang.c with 998 idle threads (1,001 threads):
                 frames only (ptsnap --no-variables, eu-stack, gdb bt)
  frames-10000   tests/fixtures/deep.c, one thread 10,000 frames deep: the same
  variables-1000 the 1,001 threads with every frame's parameters and locals:
                 ptsnap (variables on, its default; also with --deref-depth 0
                 and with --jobs 1) against gdb `bt full`
  pmodules-1000  the 1,001 threads with variables: ptsnap with no module
                 against ptsnap with one module whose variable callback has a
                 match that matches nothing (the plugin layer's cost)
  core-1000      a core of the 1,001 threads, written once by gcore: `ptsnap
                 core` with --no-variables against `eu-stack --core` (plain
                 and -s -i), and with variables (its default) against `gdb
                 -batch -ex 'thread apply all bt full' PROG CORE`
  view-1000      `ptsnap view` on a snapshot of the 1,001 threads with
                 variables (taken once): examples/view_bench.rs opens it
                 through the viewer's code, drawing at 120x40 into ratatui's
                 TestBackend, and times a script of keys (every pane, a
                 search, a filter); printed: the time to open it, the
                 slowest key, and the peak RSS against the file's size
                 (targets: under 1 s, 50 ms, 3x)
  big-binary     ptsnap's own debug build (a big Rust executable: tens of MB
                 of DWARF), blocked in waitpid under `ptsnap run`: ptsnap with
                 its default options against `eu-stack -s -i` and gdb `bt full`

For each case every tool snapshots the same live process (or core) RUNS
times, in rounds of every tool in turn (the machine's speed drifts, and
each tool gets the same share of the drift); the median wall time and the
peak RSS (measured by GNU time,
/usr/bin/time, from the `time` package; "n/a" without it) are printed, with
the ratio of each other tool's time to ptsnap's (to the ptsnap run that
does the same work: frames only, or frames and variables), and the size of
each ptsnap snapshot. eu-stack runs in
its plain mode (`-n 0` so that it, too, walks every frame) and, for
comparison of like with like, with source lines and inline frames (`-s -i`).

Usage: python3 bench/bench.py [--runs N] [--case NAME]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def build(workdir, big_binary):
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "view_bench"], cwd=ROOT, check=True)
    if big_binary:
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    bins = {}
    for name, extra in (("hang", ["-pthread"]), ("deep", [])):
        out = os.path.join(workdir, name)
        subprocess.run(["cc", "-g", "-O0", "-o", out, os.path.join(FIXTURES, name + ".c")] + extra, check=True)
        bins[name] = out
    return os.path.join(ROOT, "target", "release", "ptsnap"), bins


def start(argv):
    # A session of its own, so that the whole tree (a traced child, too)
    # is killed at the end.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    for line in proc.stdout:
        if line.strip() == "ready":
            return proc
    raise SystemExit(f"{argv[0]} exited before it was ready")


GNU_TIME = "/usr/bin/time"


def measure(tools, runs):
    """Each tool's median wall seconds and max peak RSS (KiB) over `runs`
    rounds, a round running every tool once in turn: the machine's speed
    drifts over a case (other tenants, frequency), and interleaving gives
    every tool the same share of it, so the ratios hold where the times
    do not.

    Peak RSS comes from GNU time, which forks the tool from its own small
    process: a child of this Python process would inherit Python's RSS
    high-water mark through fork and exec, and wait4 would report that.

    A tool's output file (`-o PATH`) is removed before each run, untimed:
    every run writes a new file, as ptsnap's default names (program, pid,
    time) have it do. Replacing the file of the run before would time the
    freeing of its blocks too (over a millisecond on ext4 for the
    10,000-frame snapshot's 2.6 MB), which no snapshot does.
    """
    walls = {name: [] for name, _ in tools}
    rss = {name: None for name, _ in tools}
    for _ in range(runs):
        for name, argv in tools:
            if "-o" in argv and os.path.isfile(argv[argv.index("-o") + 1]):
                os.unlink(argv[argv.index("-o") + 1])
            fd, rss_file = tempfile.mkstemp()
            os.close(fd)
            cmd = [GNU_TIME, "-q", "-f", "%M", "-o", rss_file] + argv if os.path.exists(GNU_TIME) else argv
            t0 = time.perf_counter()
            code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            walls[name].append(time.perf_counter() - t0)
            with open(rss_file) as f:
                text = f.read().strip().splitlines()
            os.unlink(rss_file)
            if text and text[-1].isdigit():
                rss[name] = max(rss[name] or 0, int(text[-1]))
            if code not in (0, 1):  # eu-stack exits 1 for a partial backtrace
                print(f"  warning: {argv[0]} exited with {code}", file=sys.stderr)
    return {name: (statistics.median(walls[name]), rss[name]) for name, _ in tools}


def frame_tools(ptsnap, pid, out_json):
    """Tools as (name, argv, name of the tool its time is compared with,
    None for the first)."""
    tools = [("ptsnap", [ptsnap, "--no-variables", "--max-frames", "100000", "-o", out_json, pid])]
    if shutil.which("eu-stack"):
        tools.append(("eu-stack", ["eu-stack", "-n", "0", "-p", pid]))
        tools.append(("eu-stack -s -i", ["eu-stack", "-n", "0", "-s", "-i", "-p", pid]))
    if shutil.which("gdb"):
        tools.append(("gdb -batch", ["gdb", "-nx", "-batch", "-p", pid, "-ex", "thread apply all bt"]))
    return tools


def variable_tools(ptsnap, pid, out_json):
    shallow = out_json.replace(".json", "-deref0.json")
    one_job = out_json.replace(".json", "-jobs1.json")
    tools = [
        ("ptsnap", [ptsnap, "-o", out_json, pid]),
        ("ptsnap --deref-depth 0", [ptsnap, "--deref-depth", "0", "-o", shallow, pid]),
        # Extraction on one CPU: slower, and the lean choice for memory.
        ("ptsnap --jobs 1", [ptsnap, "--jobs", "1", "-o", one_job, pid]),
    ]
    if shutil.which("gdb"):
        tools.append(("gdb bt full", ["gdb", "-nx", "-batch", "-p", pid, "-ex", "thread apply all bt full"]))
    return tools


IDLE_MODULE = """
pmodule.define{ id = "idle", load = function()
    local m = pmodule.match()
    m:add_variable_name("no_variable_has_this_name")
    pmodule.register(pmodule.event.variable, function(var) error("matched") end, m)
end }
"""


def core_tools(prog):
    """The tools for a core gcore writes, once, of the process PROG runs."""

    def tools(ptsnap, pid, out_json):
        prefix = os.path.join(os.path.dirname(out_json), "core")
        subprocess.run(["gcore", "-o", prefix, pid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        core = f"{prefix}.{pid}"
        frames_only = "ptsnap core --no-variables"
        found = [
            (frames_only, [ptsnap, "core", "--no-variables", "-o", out_json.replace(".json", "-frames.json"), core]),
            ("ptsnap core", [ptsnap, "core", "-o", out_json, core], frames_only),
        ]
        if shutil.which("eu-stack"):
            found.append(("eu-stack", ["eu-stack", "-n", "0", "--core", core, "-e", prog], frames_only))
            found.append(("eu-stack -s -i", ["eu-stack", "-n", "0", "-s", "-i", "--core", core, "-e", prog]))
        if shutil.which("gdb"):
            bt_full = ["gdb", "-nx", "-batch", "-ex", "thread apply all bt full", prog, core]
            found.append(("gdb bt full", bt_full, "ptsnap core"))
        return found

    return tools


def big_binary_tools(ptsnap, pid, out_json):
    tools = [("ptsnap", [ptsnap, "-o", out_json, pid])]
    if shutil.which("eu-stack"):
        tools.append(("eu-stack -s -i", ["eu-stack", "-n", "0", "-s", "-i", "-p", pid]))
    if shutil.which("gdb"):
        tools.append(("gdb bt full", ["gdb", "-nx", "-batch", "-p", pid, "-ex", "thread apply all bt full"]))
    return tools


def pmodule_tools(ptsnap, pid, out_json):
    module = os.path.join(os.path.dirname(out_json), "idle.lua")
    with open(module, "w") as f:
        f.write(IDLE_MODULE)
    base = [ptsnap, "--no-default-modules", "-o", out_json]
    return [
        ("ptsnap", base + [pid]),
        ("ptsnap + module", base + ["--module-load", module, pid]),
    ]


def run_case(name, target_argv, tools_for, ptsnap, runs, out_json):
    proc = start(target_argv)
    pid = str(proc.pid)
    tools = tools_for(ptsnap, pid, out_json)
    try:
        results = measure([(tool[0], tool[1]) for tool in tools], runs)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with open(out_json) as f:
        timings = json.load(f)["timings"]
    # A tool is compared with the one it names, else with the first.
    bases = {tool[0]: tool[2] if len(tool) > 2 else tools[0][0] for tool in tools}
    width = max(16, *(len(t[0]) + 2 for t in tools))
    print(f"\n{name} ({runs} rounds of every tool in turn, median wall time)")
    print(f"  {'tool':<{width}}{'wall ms':>10}{'peak RSS MiB':>14}{'x ptsnap':>10}  compared with")
    for tool, (wall, rss) in results.items():
        rss_text = f"{rss / 1024:.1f}" if rss is not None else "n/a"
        base = bases[tool]
        against = "" if base == tool else base
        print(f"  {tool:<{width}}{wall * 1000:>10.1f}{rss_text:>14}{wall / results[base][0]:>10.1f}  {against}")
    for tool in tools:
        if "-o" in tool[1]:
            written = tool[1][tool[1].index("-o") + 1]
            print(f"  {tool[0]}: snapshot {os.path.getsize(written) / 1e6:.1f} MB")
    print(
        f"  ptsnap's last run: target paused {timings['paused_us'] / 1000:.1f} ms "
        f"(stop {timings['stop_us'] / 1000:.1f}, unwind {timings['unwind_us'] / 1000:.1f}, "
        f"symbolize {timings['symbolize_us'] / 1000:.1f})"
    )


def run_view_case(name, target_argv, ptsnap, runs, out_json):
    """The viewer on one snapshot of the target, RUNS times."""
    proc = start(target_argv)
    try:
        subprocess.run([ptsnap, "-o", out_json, str(proc.pid)], stdout=subprocess.DEVNULL, check=True)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    bench = os.path.join(ROOT, "target", "release", "examples", "view_bench")
    results = []
    for _ in range(runs):
        out = subprocess.run([bench, out_json], stdout=subprocess.PIPE, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    size = results[0]["file_bytes"]
    opened = statistics.median(r["open_ms"] for r in results)
    slowest = max(results, key=lambda r: r["worst_key_ms"])
    rss = max(r["peak_rss_kib"] for r in results) * 1024
    print(f"\n{name} ({runs} runs; the last run's keys below)")
    print(f"  snapshot {size / 1e6:.1f} MB")
    print(f"  open (median)  {opened:8.1f} ms   target < 1000 ms")
    print(f"  slowest key    {slowest['worst_key_ms']:8.2f} ms   target < 50 ms ({slowest['worst_key']})")
    print(f"  peak RSS       {rss / 2**20:8.1f} MiB  {rss / size:.2f}x the file, target < 3x")
    for line in out.strip().splitlines()[1:-1]:
        print(f"    {line}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--case",
        choices=[
            "threads-1000",
            "frames-10000",
            "variables-1000",
            "pmodules-1000",
            "core-1000",
            "view-1000",
            "big-binary",
        ],
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptsnap-bench-") as work:
        ptsnap, bins = build(work, args.case in (None, "big-binary"))
        # ptsnap's own debug build, blocked in waitpid on a child that
        # says it is ready and sleeps.
        debug_ptsnap = os.path.join(ROOT, "target", "debug", "ptsnap")
        waiting = [debug_ptsnap, "run", "-O", work, "--", "sh", "-c", "echo ready; exec sleep 100000"]
        out_json = os.path.join(work, "snapshot.json")
        cases = {
            "threads-1000": ([bins["hang"], "998"], frame_tools),
            "frames-10000": ([bins["deep"], "10000"], frame_tools),
            "variables-1000": ([bins["hang"], "998"], variable_tools),
            "pmodules-1000": ([bins["hang"], "998"], pmodule_tools),
            "core-1000": ([bins["hang"], "998"], core_tools(bins["hang"])),
            "big-binary": (waiting, big_binary_tools),
        }
        for name, (argv, tools_for) in cases.items():
            if args.case in (None, name):
                run_case(name, argv, tools_for, ptsnap, args.runs, out_json)
        if args.case in (None, "view-1000"):
            run_view_case("view-1000", [bins["hang"], "998"], ptsnap, args.runs, out_json)


if __name__ == "__main__":
    main()
