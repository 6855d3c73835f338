-- The first module of ../shared/reference/pmodule-tutorial.txt, as written
-- there (its functions defined before pm_load uses them): annotations on
-- the faulting frame's parameters, the signal as json, iteration over the
-- faulting thread, globals and TLS, kv and a classifier.
local function frame_cb(fr)
    for v, i in fr:fprm() do
        v:annotate(pmodule.annotation.critical, "lua: fprm %d", i)
    end
    local signal = fr:siginfo()
    if signal then
        fr:backtrace():annotate(
            pmodule.annotation.json,
            '{"json": {"context": "Signal", \z
            "Reason": "%s", \z
            "Populated": "%s", \z
            "Address": "%x", \z
            "Num": "%d", \z
            "Code": "%d", \z
            "String": "%s"}}',
            signal:reason(),
            tostring(signal:address_populated()),
            signal:address(),
            signal:num(),
            signal:code(),
            tostring(signal))
    end
end

local function postattach_cb(bt)
    local m = pmodule.match()
    m:set_fault()
    for thr in bt, m do
        for fr in thr do
            for var in fr do
                if var:type() == pmodule.variable_type.reference then
                    local addr = var:value()
                    var:annotate(pmodule.annotation.critical,
                        "[%x] %s - example annotation",
                        var:value(), var:name())
                end
            end
        end
    end
    pmodule.log(pmodule.log_level.warning, "Global variables:");
    for var, object, cu in bt:variables(), {object = "crash", cu = "crash.c"} do
        pmodule.log(pmodule.log_level.warning,
            "name: %s, value: %s, object: %s, cu: %s",
            var:name(), tostring(var:value()), object, cu)
    end
    for thr in bt do
        pmodule.log(pmodule.log_level.warning, "TLS variables:");
        for var, object, cu in thr:variables(), {cu = "hang"} do
            pmodule.log(pmodule.log_level.warning,
                "name: %s, value: %s, object: %s, \z
                cu: %s",
                var:name(), tostring(var:value()), object, cu)
        end
    end
    pmodule.log(pmodule.log_level.warning, "process state: %d",
        bt:process_state())
    bt:add_kv_int("lua_key1", 42)
    bt:add_kv_string("lua_key2", "lua_value")
    bt:add_classifier("lua")
end

function pm_load()
    pmodule.register(pmodule.event.postattach, postattach_cb)
    local m = pmodule.match()
    m:add_object("crash")
    m:add_file("crash.c")
    m:add_frame_symbol("recurse", pmodule.match_type.substr)
    m:add_variable_base_type("crash_", pmodule.match_type.substr)
    m:add_variable_ptrace_type(pmodule.variable_type.tuple)
    pmodule.register(pmodule.event.variable,
        function(var)
            var:annotate(pmodule.annotation.critical, "lua: struct var")
        end, m)
    m:reset()
    m:set_fault()
    pmodule.register(pmodule.event.frame, frame_cb, m)
end

pmodule.define{
    id = "pmodule_lua",
    load = pm_load,
    unload = function () pmodule.log(pmodule.log_level.warning, "pm_unload") end
}
