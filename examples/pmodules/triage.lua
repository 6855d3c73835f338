-- Triage: classify a snapshot and point at what matters.
-- Uses: define/load/unload, config_option, postattach, match with
-- set_fault, iteration of threads and frames, siginfo, kv, classifiers,
-- tags, a json annotation, log.
local function postattach(bt)
    local team = pmodule.config_option("team") or "unowned"
    bt:add_kv_string("team", team)
    local fault = pmodule.match()
    fault:set_fault()
    local faulted = false
    for thr in bt, fault do
        for fr in thr, fault do
            faulted = true
            local sig = fr:siginfo()
            if sig then
                bt:add_classifier("signal:" .. tostring(sig:num()))
                bt:annotate(pmodule.annotation.json,
                    '{"json": {"context": "Crash", "function": "%s", "line": "%d", "signal": "%s"}}',
                    fr:symbol() or "??", fr:line() or 0, tostring(sig))
            end
            fr:annotate(pmodule.annotation.critical, "crashed here")
        end
    end
    if not faulted then
        local waiting = 0
        for thr in bt do
            for fr in thr do
                local name = fr:symbol() or ""
                if name:find("pause") or name:find("futex") or name:find("lock_wait") then
                    waiting = waiting + 1
                    break
                end
            end
        end
        bt:add_kv_int("threads_waiting", waiting)
        bt:add_classifier("hang")
    end
    bt:add_tag("triaged")
    pmodule.log(pmodule.log_level.info, "triage done for pid %d (%s)", bt:pid(), team)
end

pmodule.define{
    id = "triage",
    load = function() pmodule.register(pmodule.event.postattach, postattach) end,
    unload = function() pmodule.log(pmodule.log_level.debug, "triage unloaded") end,
}
