-- Bundled with ptsnap (off with --no-module hang_summary): for a snapshot
-- of a process that did not crash, where its threads are, grouped by the
-- point where they block: the C or C++ runtime's function the program
-- called (by its exported name, pthread_cond_wait rather than
-- __pthread_cond_wait_common) and the program's frames below it, as far as
-- every thread of the group shares them ("998 threads waiting in
-- pthread_cond_wait from idle_forever <- idle_worker"). A thread whose
-- innermost frame is the program's own is running there. No classifier:
-- a process may be waiting for good reasons. kv:
--   hang.threads          the threads extracted;
--   hang.blocking_point   the biggest group's point;
--   hang.blocking_threads how many threads are there;
--   hang.groups           how many distinct points there are;
-- and the biggest groups in one line on the snapshot.
local CHAIN = 2 -- program frames kept per thread
local SHOWN = 3 -- groups in the one-line answer

local groups, order, total = {}, {}, 0
local faulted = false

-- Frames of the C and C++ runtime are how a thread waits; the first frame
-- after them is what waits.
local function runtime(fr)
    local object = fr:object_file() or ""
    return object:match("^libc%.so") or object:match("^ld%-linux") or object:match("^libpthread")
        or object:match("^libstdc%+%+") or object:match("vdso")
end

-- The name a program calls: ___pthread_join is pthread_join,
-- pthread_cond_wait@@GLIBC_2.3.2 is pthread_cond_wait.
local function plain(name)
    return (name:gsub("%+%d+$", ""):gsub("@.*$", ""):gsub("^__GI_", ""):gsub("^___", ""))
end

-- The runtime function's name as a program calls it: the frame's, else
-- (__libc_read) the symbol table's name at its pc (read).
local function exported_name(fr)
    local name = plain(fr:symbol() or "??")
    local exported = name:match("^_") and pmodule.address_symbol(fr:instruction())
    if exported and not plain(exported):match("^_") then
        return plain(exported)
    end
    return name
end

local by_stack = {} -- stack key -> group

-- The group of a thread whose stack no thread before had.
local function group_of(thr)
    local inside, chain, first = nil, {}, false
    for fr in thr do
        local rt = runtime(fr)
        if rt and not first then
            inside = fr
        elseif rt then
            break
        else
            first = true
            chain[#chain + 1] = fr:symbol() or "??"
            if #chain == CHAIN then
                break
            end
        end
    end
    local key
    if inside then
        key = "waiting in " .. exported_name(inside)
    elseif first then
        key = "running in " .. chain[1]
        table.remove(chain, 1)
    else
        key = "with no frames"
    end
    local id = key .. "\0" .. (chain[1] or "")
    local g = groups[id]
    if not g then
        g = { key = key, count = 0, chain = chain }
        groups[id] = g
        order[#order + 1] = g
    else
        -- The program frames every thread of the group shares.
        for i = #g.chain, 1, -1 do
            if g.chain[i] ~= chain[i] then
                for j = i, #g.chain do
                    g.chain[j] = nil
                end
            end
        end
    end
    return g
end

-- Threads with one stack are one group: the frames of the first only are
-- read (a thousand idle workers cost a thousand calls of stack_key).
local function add_thread(thr)
    total = total + 1
    local stack = thr:stack_key()
    local g = by_stack[stack]
    if not g then
        g = group_of(thr)
        by_stack[stack] = g
    end
    g.count = g.count + 1
end

local function point(g)
    if #g.chain == 0 then
        return g.key
    end
    return g.key .. " from " .. table.concat(g.chain, " <- ")
end

local function summarize(bt)
    if faulted or total == 0 then
        return
    end
    table.sort(order, function(a, b)
        if a.count ~= b.count then
            return a.count > b.count
        end
        return point(a) < point(b)
    end)
    local top = order[1]
    bt:add_kv_int("hang.threads", total)
    bt:add_kv_string("hang.blocking_point", point(top))
    bt:add_kv_int("hang.blocking_threads", top.count)
    bt:add_kv_int("hang.groups", #order)
    local parts = {}
    for i = 1, math.min(SHOWN, #order) do
        local g = order[i]
        parts[#parts + 1] = string.format("%d %s %s", g.count, g.count == 1 and "thread" or "threads", point(g))
    end
    if #order > SHOWN then
        local more = #order - SHOWN
        parts[#parts + 1] = string.format("%d more %s", more, more == 1 and "group" or "groups")
    end
    bt:annotate(pmodule.annotation.comment, "hang: %d %s: %s", total, total == 1 and "thread" or "threads",
        table.concat(parts, "; "))
end

pmodule.define{
    id = "hang_summary",
    load = function()
        -- Told of a fault by the faulting frame's event (asking each thread
        -- would cost a call per thread).
        local fault = pmodule.match()
        fault:set_fault()
        pmodule.register(pmodule.event.frame, function() faulted = true end, fault)
        pmodule.register(pmodule.event.thread, add_thread)
        pmodule.register(pmodule.event.postattach, summarize)
    end,
}
