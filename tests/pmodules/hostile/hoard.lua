-- Makes ptsnap store more than the module's memory limit outside Lua:
-- `--module hoard:what=kv` adds a 16 MiB key-value 40 times;
-- `what=chain` makes 40,000 variables, each owned by the one before.
local hoards = {
    kv = function(bt)
        local big = string.rep("x", 16 << 20)
        for i = 1, 40 do pcall(bt.add_kv_string, bt, "big", big) end
    end,
    chain = function(bt)
        local v = pmodule.create_variable(pmodule.variable_type.tuple, "root")
        for i = 1, 40000 do v = pmodule.create_variable(pmodule.variable_type.tuple, "v" .. i, nil, nil, v) end
    end,
}

pmodule.define{ id = "hoard", load = function()
    pmodule.register(pmodule.event.attach, hoards[pmodule.config_option("what") or "kv"])
end }
