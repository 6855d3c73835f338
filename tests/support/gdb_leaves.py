# Prints, as JSON, every scalar leaf of every parameter and local in every
# frame of every thread, as gdb reads them: the oracle for the differential
# variable test (tests/variables.rs). Run with
#   gdb -batch -nx -p PID -x gdb_leaves.py   (or: gdb -batch -nx PROG CORE -x ...)
# A pointer to a struct or union is also followed, under "*", as many
# pointers deep as the convenience variable $deref_depth says (as
# ptsnap's --deref-depth; default 0):
#   gdb -batch -nx -p PID -ex 'set $deref_depth = 1' -x gdb_leaves.py
import json

import gdb

MAX_ELEMENTS = 100
MAX_DEPTH = 8
DEREF_DEPTH = int(gdb.convenience_variable("deref_depth") or 0)
SCALARS = (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM, gdb.TYPE_CODE_FLT,
           gdb.TYPE_CODE_PTR)


def leaves(value, path, out, depth=0, pointers=0):
    """Flattens a value into {path: leaf}, leaf being a number, or the
    string "optimized-out" / "unavailable"."""
    try:
        if value.is_optimized_out:
            out[path] = "optimized-out"
            return
        t = value.type.strip_typedefs()
        code = t.code
        if code in SCALARS and str(value) == "<synthetic pointer>":
            # No value of its own: an implicit pointer, or (gdb 13) the
            # bytes of a value in pieces that no piece describes, whose
            # int() is a made-up 0.
            out[path] = "optimized-out"
            return
        if code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM):
            out[path] = int(value)
        elif code == gdb.TYPE_CODE_FLT:
            out[path] = float(value)
        elif code == gdb.TYPE_CODE_PTR:
            out[path] = int(value)
            target = t.target().strip_typedefs().code
            followed = target in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) and int(value) != 0
            if followed and pointers < DEREF_DEPTH and depth < MAX_DEPTH:
                leaves(value.dereference(), path + "*", out, depth + 1, pointers + 1)
        elif code in (gdb.TYPE_CODE_REF, gdb.TYPE_CODE_RVALUE_REF):
            # What a reference refers to, under "@" (ptsnap always shows it).
            leaves(value.referenced_value(), path + "@", out, depth + 1, pointers)
        elif code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            if depth >= MAX_DEPTH:
                return
            for field in t.fields():
                # Static members have no bit position in the object.
                if not hasattr(field, "bitpos") or (field.artificial and not field.is_base_class):
                    continue
                leaves(value[field], path + "." + (field.name or ""), out, depth + 1, pointers)
        elif code == gdb.TYPE_CODE_ARRAY:
            if depth >= MAX_DEPTH:
                return
            low, high = t.range()
            element = t.target().strip_typedefs()
            # Rust's u8 and i8 are integers (C's typedefs of that name are
            # gone with strip_typedefs).
            rust_byte = element.name in ("u8", "i8")
            if element.sizeof == 1 and element.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR) and not rust_byte:
                # Character arrays are compared as the string they hold.
                raw = bytes(int(value[i]) & 0xFF for i in range(low, min(high, low + 255) + 1))
                out[path + "$str"] = raw.split(b"\0")[0].decode("utf-8", "replace")
                return
            for i in range(low, min(high, low + MAX_ELEMENTS - 1) + 1):
                leaves(value[i], "%s[%d]" % (path, i - low), out, depth + 1, pointers)
    except gdb.MemoryError:
        out[path] = "unavailable"
    except gdb.error as e:
        out[path] = "optimized-out" if "optimized out" in str(e) else "unavailable"


def frame_variables(frame):
    out = {}
    try:
        block = frame.block()
    except RuntimeError:
        return out
    seen = {}
    while block is not None:
        for sym in block:
            if not (sym.is_argument or sym.is_variable) or sym.addr_class == gdb.SYMBOL_LOC_STATIC:
                continue
            kind = "arg" if sym.is_argument else "local"
            key = "%s:%s" % (kind, sym.name)
            n = seen.get(key, 0)
            seen[key] = n + 1
            try:
                value = sym.value(frame)
            except (gdb.error, RuntimeError) as e:
                out["%s#%d" % (key, n)] = "optimized-out" if "optimized out" in str(e) else "unavailable"
                continue
            leaves(value, "%s#%d" % (key, n), out)
        if block.function is not None:
            break
        block = block.superblock
    return out


result = []
for inferior in gdb.inferiors():
    for thread in inferior.threads():
        thread.switch()
        frames = []
        frame = gdb.newest_frame()
        while frame is not None:
            frames.append({"function": frame.name(), "vars": frame_variables(frame)})
            try:
                frame = frame.older()
            except gdb.error:
                break
        result.append({"tid": thread.ptid[1], "frames": frames})
print("GDB-LEAVES " + json.dumps(result))
