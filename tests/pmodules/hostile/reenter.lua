-- Calls back into ptsnap from code ptsnap runs while it is inside a call
-- of its own (issue #8): a filter table's __index, a __tostring during
-- annotate, and the definition table's __index during pmodule.define.
-- Each used to panic ptsnap ("already borrowed"); ptsnap now reads every
-- Lua value before it touches the snapshot, so each call simply works.
local function reenter(bt)
    local filter = setmetatable({}, { __index = function(_, key)
        bt:add_kv_string("reentered_" .. key, "yes")
        return nil
    end })
    for _ in bt:variables(), filter do end
    for thr in bt do
        for _ in thr:variables(), filter do end
    end
    local loud = setmetatable({}, { __tostring = function()
        bt:add_tag("from_tostring")
        return "loud"
    end })
    bt:annotate(pmodule.annotation.comment, "%s", loud)
    bt:add_kv_string("reenter", "done")
end

pmodule.define(setmetatable({ id = "reenter", load = function()
    pmodule.register(pmodule.event.postattach, reenter)
end }, { __index = function(_, key)
    -- Asked for `unload` and `reset`, which are not set.
    pmodule.register(pmodule.event.preattach, function(bt) bt:add_kv_string("define_" .. key, "yes") end)
end }))
