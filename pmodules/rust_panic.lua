-- Bundled with ptsnap (off with --no-module rust_panic): a Rust program
-- that panicked and aborted (SIGABRT under the panic machinery: built
-- with panic=abort, or a panic while panicking), with the message and
-- the location the panic hook printed, as classifier rust-panic, kv
-- fault.message ("index out of bounds: the len is 3 but the index is
-- 10") and panic.location ("src/main.rs:2:40").
--
-- The standard library that rustup ships has line tables only: its frames
-- have no parameters. What the module reads instead is the memory those
-- frames left on the stack, as the standard library lays it out on
-- x86-64 (checked with Rust 1.95 and 1.97):
--   the payload  the frame that called std::panicking::panic_with_hook
--                (rust_panic_with_hook before) holds the payload it
--                passed: a String {cap, ptr, len}, the message the
--                standard library formatted before it called the hook,
--                the program's own hook too (FormatStringPayload: panic!
--                with arguments, unwrap, expect, bounds checks), else a
--                &str {ptr, len} (a literal message, begin_panic's &str);
--   the location a word between the top of the stack and the panicking
--                frame that points to a core::panic::Location {file:
--                &str, line: u32, col: u32} (a constant the compiler
--                wrote for the panic! or #[track_caller] call); the one
--                whose file and line are a frame's of the thread wins,
--                else the one pointed to most often.
-- The panicking frame is the first frame outside the panic machinery (the
-- one at the location when a frame is); the message and location are a
-- critical annotation on it, one line on the snapshot, and added to the
-- fault's reason ("aborted: panicked at src/main.rs:2:40: ...").
local SIGABRT = 6
local MAX_SCAN = 64 * 1024
local MAX_TEXT = 4096

-- Frames of the panic machinery, from the abort up to the code that
-- panicked: the standard library's panicking, abort and unwrap helpers.
local MACHINERY = {
    "^std::panicking::", "^core::panicking::", "^std::panic::panic_any", "rust_begin_unwind$", "rust_panic$",
    "__rust_start_panic$", "__rust_abort$", "^std::process::abort", "^std::sys::.*abort",
    "^std::sys::backtrace::__rust_end_short_backtrace", "^core::option::unwrap_failed",
    "^core::option::expect_failed", "^core::result::unwrap_failed", "^core::slice::index::",
    "^core::str::slice_error_fail", "^core::cell::panic_already",
}
-- The frames that only a panic runs.
local PANICKING = { "^std::panicking::panic_with_hook", "^std::panicking::rust_panic_with_hook",
    "rust_begin_unwind$", "^std::panicking::begin_panic" }
local HOOK_CALLS = { "^std::panicking::panic_with_hook", "^std::panicking::rust_panic_with_hook" }

local function matches(name, patterns)
    for _, p in ipairs(patterns) do
        if name:find(p) then
            return true
        end
    end
    return false
end

local function word(raw, i)
    return string.unpack("<I8", raw, i)
end

-- UTF-8 text without control characters but tabs and newlines, `len`
-- bytes at `ptr`, or nil.
local function text_at(ptr, len)
    if len < 1 or len > MAX_TEXT or ptr < 0x10000 then
        return nil
    end
    local raw = pmodule.address_read_raw(ptr, len)
    if not raw or not utf8.len(raw) or raw:find("[%z\1-\8\11-\31\127]") then
        return nil
    end
    return raw
end

-- The memory between `low` and `high` on the stack, at most MAX_SCAN
-- bytes from `low`, or nil.
local function stack_bytes(low, high)
    local size = math.min(high - low, MAX_SCAN)
    return size >= 8 and pmodule.address_read_raw(low, size - size % 8) or nil
end

-- The core::panic::Location at `addr`: file, line, col, or nil.
local function location_at(addr)
    local raw = addr > 0x10000 and pmodule.address_read_raw(addr, 24)
    if not raw then
        return nil
    end
    local ptr, len, line, col = string.unpack("<I8I8I4I4", raw)
    local file = line > 0 and col > 0 and text_at(ptr, len)
    if not (file and file:find("%.rs$")) then
        return nil
    end
    return { file = file, line = line, col = col }
end

-- Whether the frame is at the location: its file ends with the
-- location's ("src/main.rs", "/rustc/<hash>/library/core/src/...") and
-- its line is the location's.
local function at_location(fr, loc)
    local path = fr:path()
    return path and fr:line() == loc.line and (path == loc.file or path:sub(-#loc.file - 1) == "/" .. loc.file)
end

-- The panic's location among the words in `stack`: the one at a frame of
-- `frames`, else the one pointed to most often.
local function find_location(stack, frames)
    local seen, best, best_count = {}, nil, 0
    for i = 1, #stack - 7, 8 do
        local w = word(stack, i)
        local entry = seen[w]
        if entry == nil then
            local loc = location_at(w)
            entry = loc and { loc = loc, count = 0 } or false
            seen[w] = entry
            if loc then
                for _, fr in ipairs(frames) do
                    if at_location(fr, loc) then
                        return loc, fr
                    end
                end
            end
        end
        if entry then
            entry.count = entry.count + 1
            if entry.count > best_count then
                best, best_count = entry.loc, entry.count
            end
        end
    end
    return best, nil
end

-- The first text that `pick(words, i)`, a (ptr, len) or nil, points to.
local function first_text(words, pick)
    for i = 1, #words do
        local ptr, len = pick(words, i)
        local text = ptr and text_at(ptr, len)
        if text then
            return text
        end
    end
    return nil
end

-- The payload in the frame that called panic_with_hook (`stack`, its
-- memory): a String {cap, ptr, len}, else a &str {ptr, len} outside the
-- stack (`low` to `high`).
local function find_message(stack, low, high)
    local words = {}
    for i = 1, #stack // 8 do
        words[i] = word(stack, i * 8 - 7)
    end
    return first_text(words, function(w, i)
        local cap, ptr, len = w[i], w[i + 1], w[i + 2]
        if len and cap >= len and cap <= MAX_TEXT * 16 then
            return ptr, len
        end
    end) or first_text(words, function(w, i)
        local ptr, len = w[i], w[i + 1]
        if len and not (ptr >= low and ptr < high) then
            return ptr, len
        end
    end)
end

-- The frames of the panicking thread from the top: the machinery's (the C
-- library's abort, then the standard library's frames) and the rest; nil
-- when no machinery frame is one only a panic runs.
local function split(top)
    local machinery, rest, panicking, rust = {}, {}, false, false
    for f in top:thread() do
        local name = f:symbol() or ""
        local ours = matches(name, MACHINERY)
        if #rest == 0 and (ours or not rust) then
            machinery[#machinery + 1] = f
            rust = rust or ours
            panicking = panicking or matches(name, PANICKING)
        else
            rest[#rest + 1] = f
        end
    end
    return panicking and machinery or nil, rest
end

-- The stack of the frame that called panic_with_hook, where the payload
-- it passed is: from its stack pointer to its caller's (nil when that
-- is the bottom of the machinery). Inline frames share a stack pointer.
local function hook_caller(machinery)
    local sps, hook = {}, nil
    for _, f in ipairs(machinery) do
        local sp = f:stack_pointer()
        if sps[#sps] ~= sp then
            sps[#sps + 1] = sp
        end
        if not hook and matches(f:symbol() or "", HOOK_CALLS) then
            hook = #sps
        end
    end
    if not hook then
        return nil
    end
    return sps[hook + 1], sps[hook + 2]
end

local function classify(fr)
    local sig = fr:siginfo()
    if not sig or sig:num() ~= SIGABRT then
        return
    end
    local machinery, rest = split(fr)
    if not machinery then
        return
    end
    local top, bottom = fr:stack_pointer(), (rest[1] or machinery[#machinery]):stack_pointer()
    local stack = stack_bytes(top, bottom)
    local loc, at
    if stack then
        loc, at = find_location(stack, rest)
    end
    at = at or rest[1] or machinery[#machinery]
    local message
    local low, high = hook_caller(machinery)
    local frame_stack = low and stack_bytes(low, high or bottom)
    if frame_stack then
        message = find_message(frame_stack, top, bottom)
    end
    local bt = fr:backtrace()
    bt:add_classifier("rust-panic")
    local where = loc and string.format("%s:%d:%d", loc.file, loc.line, loc.col)
    if message then
        bt:add_kv_string("fault.message", message)
    end
    if where then
        bt:add_kv_string("panic.location", where)
    end
    local panic = string.format("panicked at %s: %s", where or "(location not found)",
        message or "(message not found)")
    bt:add_fault_reason(panic)
    at:annotate(pmodule.annotation.critical, "rust-panic: %s", panic)
    bt:annotate(pmodule.annotation.critical, "rust-panic: %s", panic)
end

pmodule.define{
    id = "rust_panic",
    load = function()
        local m = pmodule.match()
        m:set_fault()
        pmodule.register(pmodule.event.frame, classify, m)
    end,
}
