-- Bundled with ptsnap (off with --no-module fault_class): says what kind
-- of fault a SIGSEGV, SIGBUS, SIGFPE or SIGILL was, from the signal, the
-- fault address and the memory map, as one classifier:
--   bad-jump               the pc is in no executable mapping (a call
--                          through a bad function pointer, a smashed
--                          return address);
--   non-canonical-address  a general protection fault (SI_KERNEL): an
--                          address outside the canonical halves;
--   null-dereference       the address is in the first 64 KiB, which is
--                          never mapped (vm.mmap_min_addr);
--   stack-overflow         the address is in a stack's guard page, or
--                          unmapped just below the main thread's [stack];
--   write-to-readonly      SEGV_ACCERR in a mapping without write
--                          permission (a string literal, code);
--   divide-by-zero         SIGFPE FPE_INTDIV.
-- The evidence (address, mapping, permissions) is a critical annotation
-- on the faulting frame, the answer in one line a snapshot annotation,
-- the class in kv fault.class.
local SIGILL, SIGBUS, SIGFPE, SIGSEGV = 4, 7, 8, 11
local SEGV_ACCERR, SI_KERNEL, FPE_INTDIV = 2, 0x80, 1
local PAGE = 4096
local NULL_LIMIT = 64 * 1024
-- How far below the main thread's [stack] an overflowing access can land:
-- a frame's size (the kernel's guard gap is 1 MiB, frames are smaller).
local STACK_REACH = 256 * 1024

local function hex(n)
    return string.format("0x%x", n)
end

-- "rw-p [stack] 0x7ffd...-0x7ffe..." for a mapping, "not mapped" for nil.
local function describe(map)
    if not map then
        return "not mapped"
    end
    local p = pmodule.pmap_perms
    local perms = (map:permissions(p.rd) and "r" or "-") .. (map:permissions(p.wr) and "w" or "-")
        .. (map:permissions(p.ex) and "x" or "-") .. (map:permissions(p.sh) and "s" or "p")
    local path = map:path()
    if not path or path == "" then
        path = "anonymous"
    end
    return string.format("%s %s %s-%s", perms, path, hex(map:start()), hex(map:end_address()))
end

-- The mapping just above an unmapped address when it is the main
-- thread's stack: the stack could not grow down to the address.
local function stack_above(bt, addr)
    for offset = PAGE, STACK_REACH, PAGE do
        local map = bt:pmap_entry(addr + offset)
        if map then
            return map:path() == "[stack]" and map or nil
        end
    end
    return nil
end

-- Where a frame is, for a person: "credit (faults.c:33)".
local function place(fr)
    if not fr then
        return "??"
    end
    local path = fr:path()
    if path then
        return string.format("%s (%s:%d)", fr:symbol() or "??", path:match("([^/]+)$"), fr:line() or 0)
    end
    return fr:symbol() or pmodule.address_symbol(fr:instruction()) or hex(fr:instruction())
end

-- The frame's variables whose value is a non-canonical address (bits 47
-- to 63 not all equal): "; not canonical: p = 0xdead000000000010".
local function suspects(fr)
    local found = {}
    for var in fr do
        local v = var:resolved() and var:value()
        if math.type(v) == "integer" then
            local top = v >> 47
            if top ~= 0 and top ~= 0x1ffff then
                found[#found + 1] = string.format("%s = %s", var:name(), hex(v))
            end
        end
    end
    return #found > 0 and ("; not canonical: " .. table.concat(found, ", ")) or ""
end

-- How many of the thread's frames run the faulting frame's function.
local function recursion(fr)
    local name, n = fr:symbol(), 0
    for f in fr:thread() do
        if name and f:symbol() == name then
            n = n + 1
        end
    end
    return n
end

-- The class of a memory fault and its evidence, or nil.
local function memory_fault(fr, sig, bt)
    local pc, addr = fr:instruction(), sig:address()
    local code_map = bt:pmap_entry(pc)
    if not (code_map and code_map:permissions(pmodule.pmap_perms.ex)) then
        local caller
        for f in fr:thread() do
            if f:instruction() ~= pc then
                caller = f
                break
            end
        end
        return "bad-jump", string.format("the pc %s is in no executable mapping (%s); jumped to from %s",
            hex(pc), describe(code_map), place(caller))
    end
    if sig:num() == SIGSEGV and sig:code() == SI_KERNEL then
        return "non-canonical-address", string.format(
            "a general protection fault (SI_KERNEL, no address): an access outside the canonical halves of the "
                .. "address space%s", suspects(fr))
    end
    if not sig:address_populated() then
        return nil
    end
    if addr < NULL_LIMIT then
        local offset = addr > 0 and string.format(" plus %d (a member's or element's offset)", addr) or ""
        return "null-dereference", string.format(
            "access to %s, in the first %d KiB, which is never mapped: a null pointer%s", hex(addr),
            NULL_LIMIT // 1024, offset)
    end
    local map = bt:pmap_entry(addr)
    if map and map:guard() then
        return "stack-overflow", string.format("access to %s in a guard page (%s), %d frames of %s on the stack",
            hex(addr), describe(map), recursion(fr), fr:symbol() or "??")
    end
    if not map then
        local stack = stack_above(bt, addr)
        if stack then
            return "stack-overflow", string.format(
                "access to %s, %d bytes below the stack (%s), which cannot grow further; %d frames of %s on the stack",
                hex(addr), stack:start() - addr, describe(stack), recursion(fr), fr:symbol() or "??")
        end
    end
    if sig:code() == SEGV_ACCERR and map and not map:permissions(pmodule.pmap_perms.wr) then
        local text = pmodule.address_read_string(addr, 40)
        return "write-to-readonly", string.format("write to %s%s in a mapping without write permission (%s)",
            hex(addr), text and string.format(" (%q)", text) or "", describe(map))
    end
    return nil
end

local function classify(fr)
    local sig = fr:siginfo()
    if not sig then
        return
    end
    local _, sent = sig:reason()
    local num = sig:num()
    if sent or not (num == SIGSEGV or num == SIGBUS or num == SIGFPE or num == SIGILL) then
        return
    end
    local bt = fr:backtrace()
    local class, evidence
    if num == SIGFPE and sig:code() == FPE_INTDIV then
        class, evidence = "divide-by-zero", string.format("integer division by zero (FPE_INTDIV) at pc %s",
            hex(fr:instruction()))
    else
        class, evidence = memory_fault(fr, sig, bt)
    end
    if not class then
        return
    end
    bt:add_classifier(class)
    bt:add_kv_string("fault.class", class)
    fr:annotate(pmodule.annotation.critical, "%s: %s", class, evidence)
    bt:annotate(pmodule.annotation.critical, "%s in %s: %s", class, place(fr), evidence)
end

pmodule.define{
    id = "fault_class",
    load = function()
        local m = pmodule.match()
        m:set_fault()
        pmodule.register(pmodule.event.frame, classify, m)
    end,
}
