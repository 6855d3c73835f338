-- Bundled with ptsnap (off with --no-module abort_message): why a process
-- aborted, in the words of whoever aborted it, as kv fault.message and one
-- classifier:
--   assert              a failed assert(): glibc's message ("prog: file.c:12:
--                       func: Assertion `x' failed."), from __abort_msg, else
--                       from __assert_fail's parameters;
--   heap-corruption     glibc's malloc found its heap corrupt ("free():
--                       double free detected in tcache 2"), from __abort_msg,
--                       else malloc_printerr's parameter;
--   uncaught-exception  std::terminate after a C++ throw nobody caught: the
--                       exception's type and, for std::runtime_error and
--                       std::logic_error and their subclasses, what(). The
--                       exception is found on the stack between the top and
--                       __cxa_throw's caller (libstdc++'s x86-64 layout: a
--                       pointer to its _Unwind_Exception, whose class is
--                       "GNUCC++\0"), its type from the type_info's symbol.
-- The message is a critical annotation on the frame that aborted (the
-- __assert_fail, malloc_printerr or __cxa_throw frame) and one line on
-- the snapshot.
local SIGABRT = 6

local ASSERT = { __assert_fail = true, __GI___assert_fail = true, __assert_fail_base = true,
    __assert_perror_fail = true }
local HEAP = { malloc_printerr = true }
local THROW = { __cxa_throw = true, __cxa_rethrow = true, ["std::rethrow_exception"] = true }
local TERMINATE = { ["std::terminate"] = true, ["__cxxabiv1::__terminate"] = true,
    ["__gnu_cxx::__verbose_terminate_handler"] = true }

-- libstdc++ on x86-64: _Unwind_Exception's class of a C++ exception, and
-- where the type_info and the object are from it.
local CXX_CLASS = string.pack("<I8", 0x474E5543432B2B00)
local TYPE_FROM_UNWIND, OBJECT_FROM_UNWIND = -80, 32
local MAX_SCAN = 64 * 1024

local function word(addr)
    local raw = addr and addr > 0 and pmodule.address_read_raw(addr, 8)
    return raw and string.unpack("<I8", raw) or nil
end

-- glibc's __abort_msg (struct abort_msg_s { unsigned size; char msg[]; }),
-- set by assert and by glibc's fatal errors before they abort.
local function abort_msg()
    local at = pmodule.symbol_address("__abort_msg")
    local msg = at and word(at)
    local text = msg and msg ~= 0 and pmodule.address_read_string(msg + 4, 4096)
    return text and text:gsub("%s+$", "") or nil
end

-- A parameter's string (char *), or nil.
local function string_param(fr, name)
    for var in fr:fprm() do
        if var:name() == name then
            return var:symbol()
        end
    end
    return nil
end

local function int_param(fr, name)
    for var in fr:fprm() do
        if var:name() == name and var:resolved() then
            return var:value()
        end
    end
    return nil
end

local function assert_text(fr)
    local assertion, file = string_param(fr, "assertion"), string_param(fr, "file")
    if not (assertion and file) then
        return nil
    end
    return string.format("%s:%d: %s: Assertion `%s' failed.", file, int_param(fr, "line") or 0,
        string_param(fr, "function") or "??", assertion)
end

-- The type_info's class name ("inventory::out_of_stock"), from its
-- symbol (typeinfo for ...), else its mangled name.
local function type_name(tinfo)
    local symbol = pmodule.address_symbol(tinfo)
    local name = symbol and symbol:match("^typeinfo for (.+)$")
    if name then
        return name
    end
    local mangled = word(tinfo + 8)
    return mangled and pmodule.address_read_string(mangled, 256) or "?"
end

-- what() of an exception of a class derived (single inheritance) from
-- std::runtime_error or std::logic_error: their message is a COW string
-- right after the vtable pointer.
local function what(obj, tinfo)
    for _ = 1, 16 do
        local name = type_name(tinfo)
        if name == "std::runtime_error" or name == "std::logic_error" then
            local text = word(obj + 8)
            return text and pmodule.address_read_string(text, 1024)
        end
        local class = pmodule.address_symbol(word(tinfo) or 0) or ""
        if not class:find("__si_class_type_info", 1, true) then
            return nil
        end
        tinfo = word(tinfo + 16)
        if not tinfo then
            return nil
        end
    end
    return nil
end

-- The exception being thrown: a word on the stack between `low` and
-- `high` that points to its _Unwind_Exception or to the object after it.
local function find_exception(low, high)
    local size = math.min(high - low, MAX_SCAN)
    local stack = size > 0 and pmodule.address_read_raw(low, size)
    if not stack then
        return nil
    end
    local tried = {}
    for i = 1, size - 7, 8 do
        local w = string.unpack("<I8", stack, i)
        if w > 0x10000 and not tried[w] then
            tried[w] = true
            for _, unwind in ipairs{ w, w - OBJECT_FROM_UNWIND } do
                if pmodule.address_read_raw(unwind, 8) == CXX_CLASS then
                    return unwind + OBJECT_FROM_UNWIND, word(unwind + TYPE_FROM_UNWIND)
                end
            end
        end
    end
    return nil
end

local function exception_text(top, throw, caller)
    local obj, tinfo = find_exception(top:stack_pointer(), (caller or throw):stack_pointer())
    if not tinfo then
        return "terminate called after throwing an exception (not found on the stack)"
    end
    local text = string.format("terminate called after throwing an instance of '%s'", type_name(tinfo))
    local message = what(obj, tinfo)
    if message then
        text = text .. string.format(": what(): %s", message)
    end
    return text
end

local function classify(fr)
    local sig = fr:siginfo()
    if not sig or sig:num() ~= SIGABRT then
        return
    end
    local class, at, throw, caller, terminate
    for f in fr:thread() do
        local name = f:symbol() or ""
        if throw and not caller and f:instruction() ~= throw:instruction() then
            caller = f
        end
        if ASSERT[name] and not class then
            class, at = "assert", f
        elseif HEAP[name] and not class then
            class, at = "heap-corruption", f
        elseif TERMINATE[name] then
            terminate = terminate or f
        elseif THROW[name] and not throw then
            throw = f
        end
    end
    local message
    if not class and (throw or terminate) then
        class, at = "uncaught-exception", throw or terminate
        message = throw and exception_text(fr, throw, caller) or "std::terminate called"
    elseif class == "assert" then
        message = abort_msg() or assert_text(at)
    elseif class == "heap-corruption" then
        message = abort_msg() or string_param(at, "str")
    end
    message = message or abort_msg()
    local bt = fr:backtrace()
    if message then
        bt:add_kv_string("fault.message", message)
    end
    if not class then
        return
    end
    bt:add_classifier(class)
    message = message or "(no message)"
    at:annotate(pmodule.annotation.critical, "%s: %s", class, message)
    bt:annotate(pmodule.annotation.critical, "%s: %s", class, message)
end

pmodule.define{
    id = "abort_message",
    load = function()
        local m = pmodule.match()
        m:set_fault()
        pmodule.register(pmodule.event.frame, classify, m)
    end,
}
