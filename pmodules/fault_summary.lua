-- Bundled with ptsnap (loaded unless --no-default-modules): when a thread
-- faulted, records where and how as key-values a crash server can group
-- snapshots by: fault.signal, fault.code, fault.function, fault.file,
-- fault.line and fault.module.
local function faulting_frame(fr)
    local bt = fr:backtrace()
    local sig = fr:siginfo()
    if sig then
        local reason = sig:reason()
        bt:add_kv_string("fault.signal", tostring(sig):match("^(%S+)") or tostring(sig:num()))
        bt:add_kv_int("fault.code", sig:code())
        fr:annotate(pmodule.annotation.comment, "fault: %s", reason)
    end
    bt:add_kv_string("fault.function", fr:symbol() or "??")
    local path = fr:path()
    if path then
        bt:add_kv_string("fault.file", path:match("([^/]+)$") or path)
        bt:add_kv_int("fault.line", fr:line() or 0)
    end
    bt:add_kv_string("fault.module", fr:object_file() or "??")
end

pmodule.define{
    id = "fault_summary",
    load = function()
        local m = pmodule.match()
        m:set_fault()
        pmodule.register(pmodule.event.frame, faulting_frame, m)
    end,
}
