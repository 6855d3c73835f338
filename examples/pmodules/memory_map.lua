-- Where pointers point: annotate each pointer parameter and local of the
-- faulting (or every) thread's frames with the mapping it points into.
-- Uses: a variable event with a ptrace-type match, bt_variable (unused
-- argument), pmap_entry, pmap permissions and guard, address_symbol,
-- address_read_raw.
local perms = pmodule.pmap_perms

local function describe(var)
    if not var:resolved() then return end
    if var:type() == pmodule.variable_type.fn then
        -- A function pointer's value is its function.
        var:annotate(pmodule.annotation.comment, "calls %s", var:symbol() or "an unknown function")
        return
    end
    local addr = var:value()
    if addr == 0 then return end
    local map = var:backtrace():pmap_entry(addr)
    if map == nil then
        var:annotate(pmodule.annotation.warning, "points to unmapped memory %x", addr)
    elseif map:guard() then
        var:annotate(pmodule.annotation.warning, "points into a guard page")
    elseif map:permissions(perms.ex) then
        var:annotate(pmodule.annotation.comment, "code: %s", pmodule.address_symbol(addr) or map:path())
    else
        local first = pmodule.address_read_raw(addr, 1)
        var:annotate(pmodule.annotation.comment, "%s%s data in %s",
            map:permissions(perms.wr) and "writable" or "read-only",
            first and "" or " (unreadable)", map:path() ~= "" and map:path() or "anonymous memory")
    end
end

pmodule.define{
    id = "memory_map",
    load = function()
        local m = pmodule.match()
        m:add_variable_ptrace_type(pmodule.variable_type.reference)
        pmodule.register(pmodule.event.variable, describe, m)
        local f = pmodule.match()
        f:add_variable_ptrace_type(pmodule.variable_type.fn)
        pmodule.register(pmodule.event.variable, describe, f)
    end,
}
