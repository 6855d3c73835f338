local settle, pcall, resume, close, setmetatable, rawget, type, error = ...
_G.pcall = function(...) return settle(pcall(...)) end
local function handled(handler, ok, ...)
    if ok then return true, ... end
    return false, handler((...))
end
_G.xpcall = function(f, handler, ...) return handled(handler, settle(pcall(f, ...))) end
coroutine.resume = function(...) return settle(resume(...)) end
coroutine.close = function(...) return settle(close(...)) end
_G.setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
        error("setmetatable: __gc is not allowed in a pmodule (finalizers run outside the instruction budget)", 2)
    end
    return setmetatable(t, mt)
end
