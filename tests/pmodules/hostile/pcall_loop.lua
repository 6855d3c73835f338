-- Tries to outlive its instruction budget by catching the budget's error.
-- `--module pcall_loop:via=NAME` picks the catcher: pcall (default),
-- xpcall, resume, wrap, memory (catches its memory limit instead).
local loops = {
    pcall = function() while true do pcall(function() while true do end end) end end,
    xpcall = function()
        while true do xpcall(function() while true do end end, function() while true do end end) end
    end,
    resume = function()
        while true do coroutine.resume(coroutine.create(function() while true do end end)) end
    end,
    wrap = function() while true do pcall(coroutine.wrap(function() while true do end end)) end end,
    memory = function()
        while true do pcall(function() local t = {} while true do t[#t + 1] = {} end end) end
    end,
}

pmodule.define{ id = "pcall_loop", load = function()
    local via = pmodule.config_option("via") or "pcall"
    pmodule.register(pmodule.event.attach, loops[via])
end }
