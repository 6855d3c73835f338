# Prints, as JSON, every scalar leaf of the locals of one function's frame
# as gdb's pretty printers show them: the oracle for ptsnap's views of
# Rust's standard library values (tests/rust_containers.rs). Run under
# rust-gdb (gdb with the Rust standard library's printers loaded):
#   rust-gdb -batch -nx -p PID -ex 'set $function = "app::main"' -x gdb_printed.py
# A value a printer knows is walked through the printer's children:
# a map's key and value pairs as "[i].__0" and "[i].__1", an array's
# children as "[i]", others as ".name"; a string is its text under
# "$str" (its first MAX_STRING bytes, as ptsnap's --max-string). A value
# no printer knows is walked as gdb_leaves.py walks it: struct fields,
# array elements, pointers as their address (not followed).
import json

import gdb

MAX_ELEMENTS = 100
MAX_STRING = 256
MAX_DEPTH = 8
FUNCTION = gdb.convenience_variable("function").string()


def text(value):
    """The text a string printer's to_string gives: a lazy string or a
    Python string."""
    # gdb makes lazy strings but does not name their type.
    if hasattr(value, "address") and hasattr(value, "length") and hasattr(value, "encoding"):
        length = min(value.length, MAX_STRING)
        if length <= 0:
            return ""
        raw = gdb.selected_inferior().read_memory(value.address, length).tobytes()
        return raw.decode("utf-8", "replace")
    return str(value)[:MAX_STRING]


def leaf(value, path, out):
    if isinstance(value, (int, float)):
        out[path] = value
        return True
    return False


def printed(value, path, out, depth=0):
    if leaf(value, path, out):
        return
    try:
        if value.is_optimized_out:
            out[path] = "optimized-out"
            return
        printer = gdb.default_visualizer(value)
        if printer is not None:
            via_printer(printer, path, out, depth)
            return
        t = value.type.strip_typedefs()
        code = t.code
        if code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM, gdb.TYPE_CODE_PTR):
            out[path] = int(value)
        elif code == gdb.TYPE_CODE_FLT:
            out[path] = float(value)
        elif code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) and depth < MAX_DEPTH:
            for field in t.fields():
                if not hasattr(field, "bitpos") or (field.artificial and not field.is_base_class):
                    continue
                printed(value[field], path + "." + (field.name or ""), out, depth + 1)
        elif code == gdb.TYPE_CODE_ARRAY and depth < MAX_DEPTH:
            low, high = t.range()
            for i in range(low, min(high, low + MAX_ELEMENTS - 1) + 1):
                printed(value[i], "%s[%d]" % (path, i - low), out, depth + 1)
    except gdb.MemoryError:
        out[path] = "unavailable"
    except gdb.error as e:
        out[path] = "optimized-out" if "optimized out" in str(e) else "unavailable"


def via_printer(printer, path, out, depth):
    hint = printer.display_hint() if hasattr(printer, "display_hint") else None
    if hint == "string" or not hasattr(printer, "children"):
        shown = printer.to_string()
        if isinstance(shown, gdb.Value):
            printed(shown, path, out, depth)
        else:
            out[path + "$str"] = text(shown)
        return
    if depth >= MAX_DEPTH:
        return
    children = []
    for i, child in enumerate(printer.children()):
        if i >= 2 * MAX_ELEMENTS:
            break
        children.append(child)
    if hint == "map":
        for i in range(0, len(children) - 1, 2):
            if i // 2 >= MAX_ELEMENTS:
                break
            printed(children[i][1], "%s[%d].__0" % (path, i // 2), out, depth + 1)
            printed(children[i + 1][1], "%s[%d].__1" % (path, i // 2), out, depth + 1)
    elif hint == "array":
        for i, (_, child) in enumerate(children[:MAX_ELEMENTS]):
            printed(child, "%s[%d]" % (path, i), out, depth + 1)
    else:
        for name, child in children:
            printed(child, "%s.%s" % (path, name), out, depth + 1)


def frame_of(function):
    frame = gdb.newest_frame()
    while frame is not None and frame.name() != function:
        frame = frame.older()
    return frame


out = {}
seen = set()
frame = frame_of(FUNCTION)
block = frame.block()
# Innermost block first; a shadowed name is the innermost one.
while block is not None:
    for sym in block:
        if sym.is_variable and sym.addr_class != gdb.SYMBOL_LOC_STATIC and sym.name not in seen:
            seen.add(sym.name)
            try:
                printed(sym.value(frame), sym.name, out)
            except (gdb.error, RuntimeError) as e:
                out[sym.name] = "optimized-out" if "optimized out" in str(e) else "unavailable"
    if block.function is not None:
        break
    block = block.superblock
print("GDB-PRINTED " + json.dumps(out))
