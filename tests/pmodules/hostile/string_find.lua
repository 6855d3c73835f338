-- One C call that never returns to the instruction hook: a backtracking
-- pattern over 3000 bytes. Neither the budget nor the interrupt can stop
-- it; only the engine's structural bound (releasing the target from
-- another thread at the deadline) does. Do not load it without that.
pmodule.define{ id = "string_find", load = function()
    pmodule.register(pmodule.event.attach, function(bt)
        string.find(string.rep("a", 3000), ".-.-.-.-.-.-.-b")
        bt:add_kv_string("string_find", "returned")
    end)
end }
