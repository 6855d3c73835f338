-- Bundled with ptsnap (off with --no-module deadlock): the wait-for graph
-- of glibc's locks and Rust's mutexes. A thread stopped in
-- pthread_mutex_lock (or one of the glibc functions it runs:
-- __lll_lock_wait, __pthread_mutex_lock_full,
-- the timed and clock variants, the re-lock in pthread_cond_wait) waits
-- for the thread in the mutex's __data.__owner; one in
-- pthread_rwlock_wrlock/rdlock for the rwlock's __data.__cur_writer (a
-- rwlock held by readers has no known owner and is left out). The lock is
-- the function's `mutex` or `rwlock` parameter (or __lll_lock_wait's
-- `futex`, the mutex's first word) with the C library's debug information
-- (libc6-dbg); without it, the one pointer to a pthread_mutex_t (or
-- pthread_rwlock_t) among the variables of the program's frame that
-- called the lock function. The owner is read at glibc's x86-64 layout.
--
-- Rust's std::sync::Mutex is a futex whose word says locked (1) or locked
-- with waiters (2), not by whom. A thread waits for one when it is stopped
-- in std::sys::sync::mutex::futex::Mutex::lock_contended; the lock is the
-- `self` of the futex Mutex::lock around it (the futex word), and the
-- Mutex<T> the `self` of std::sync::Mutex<T>::lock<T>, the frame the
-- program called. A thread holds it when a MutexGuard among the
-- variables of its frames has `lock` pointing at it. The owner is the one
-- thread holding a guard of that futex word, other than the waiter, while
-- the word says locked; with no such guard (the compiler dropped it), or
-- guards of it in two threads, the owner is not known.
--
-- A chain of waits that ends at a thread waiting for a lock it could not
-- name or whose owner is not known gets a warning and no classifier.
--
-- Every cycle of the graph is classifier `deadlock`, kv deadlock.threads
-- (the cycle's thread ids; cycles separated by ';'), and a critical
-- annotation on each waiting frame naming the lock, its symbol when it is
-- a global, and its owner. Threads waiting, directly or not, for a thread
-- that waits for no lock are `lock-contention`, with kv
-- lock-contention.holders and lock-contention.waiters and a warning on
-- each waiting frame. Each answer is also one line on the snapshot.

-- Function -> the parameter holding the lock and what the lock is.
local LOCKS = {}
for _, name in ipairs{
    "pthread_mutex_lock", "___pthread_mutex_lock", "__pthread_mutex_lock", "__GI___pthread_mutex_lock",
    "lll_mutex_lock_optimized", "__pthread_mutex_lock_full", "pthread_mutex_timedlock",
    "___pthread_mutex_timedlock", "__pthread_mutex_timedlock", "pthread_mutex_clocklock",
    "___pthread_mutex_clocklock", "__pthread_mutex_clocklock_common", "__pthread_mutex_cond_lock",
    "__pthread_mutex_cond_lock_full",
} do
    LOCKS[name] = { param = "mutex", kind = "mutex" }
end
for _, name in ipairs{ "__lll_lock_wait", "__GI___lll_lock_wait" } do
    LOCKS[name] = { param = "futex", kind = "futex" }
end
for _, op in ipairs{ "wrlock", "rdlock", "timedwrlock", "timedrdlock", "clockwrlock", "clockrdlock" } do
    for _, name in ipairs{ "pthread_rwlock_" .. op, "___pthread_rwlock_" .. op, "__pthread_rwlock_" .. op,
        "___pthread_rwlock_" .. op .. "64", "__pthread_rwlock_" .. op .. "64" } do
        LOCKS[name] = { param = "rwlock", kind = "rwlock" }
    end
end
for _, name in ipairs{ "__pthread_rwlock_wrlock_full", "__pthread_rwlock_wrlock_full64",
    "__pthread_rwlock_rdlock_full", "__pthread_rwlock_rdlock_full64" } do
    LOCKS[name] = { param = "rwlock", kind = "rwlock" }
end

-- glibc x86-64: pthread_mutex_t.__data.__owner, pthread_rwlock_t.__data.__cur_writer.
local OWNER_OFFSET = { mutex = 8, rwlock = 24 }

-- tid -> { lock, kind, frame }: what each thread waits for, from the
-- frame events (innermost frame first). A Rust mutex's wait also has
-- `rust`, `futex` (the futex word's address) and `mutex` (the Mutex<T>'s).
local waiting = {}

-- Rust: futex word address -> { tids = { tid = true }, mutex = address }
-- from the MutexGuard variables of every thread's frames.
local guards = {}

local RUST_CONTENDED = "std::sys::sync::mutex::futex::Mutex::lock_contended"
local RUST_FUTEX_LOCK = "std::sys::sync::mutex::futex::Mutex::lock"

-- std::sync::Mutex<T>::lock<T> (std::sync::poison::mutex::, nonpoison::,
-- and std::sync::mutex:: before Rust 1.84): what the program called.
local function rust_mutex_lock(symbol)
    return symbol:match("^std::sync::[%w_:]-mutex::Mutex<.*>::lock<.*>$") ~= nil
end

local function parameter(fr, name)
    for var in fr:fprm() do
        if var:name() == name and var:resolved() and var:value() ~= 0 then
            return var:value()
        end
    end
    return nil
end

-- A Rust mutex's frames, innermost first: lock_contended (the thread
-- waits), then the futex Mutex::lock and Mutex<T>::lock<T> around it.
local function rust_lock_frame(fr, symbol)
    local tid = fr:thread():tid()
    if symbol == RUST_CONTENDED then
        waiting[tid] = { kind = "mutex", rust = true, frame = fr, futex = parameter(fr, "self") }
        return
    end
    local w = waiting[tid]
    if not (w and w.rust) then
        return
    end
    if symbol == RUST_FUTEX_LOCK then
        w.futex = w.futex or parameter(fr, "self")
    elseif rust_mutex_lock(symbol) then
        w.frame = fr
        w.mutex = w.mutex or parameter(fr, "self")
    end
end

local function lock_frame(fr)
    local symbol = fr:symbol() or ""
    if symbol:match("^std::") then
        rust_lock_frame(fr, symbol)
        return
    end
    local what = LOCKS[symbol]
    if not what then
        return
    end
    local tid = fr:thread():tid()
    local w = waiting[tid] or {}
    waiting[tid] = w
    -- The outermost lock function is the one the program called: the
    -- frame to annotate.
    w.frame = fr
    local at = parameter(fr, what.param)
    if what.kind == "futex" then
        w.futex = w.futex or at
    else
        w.kind = w.kind or what.kind
        w.lock = w.lock or at
    end
end

local function hex(n)
    return string.format("0x%x", n)
end

-- "mutex lock_b (0x55d1...)" or "mutex 0x7ffd..." for a lock.
local function lock_name(w)
    local symbol = pmodule.address_symbol(w.lock)
    if symbol then
        return string.format("%s %s (%s)", w.kind, symbol, hex(w.lock))
    end
    return string.format("%s %s", w.kind, hex(w.lock))
end

-- Frames of the C and C++ runtime are how a thread waits; the first frame
-- after them is what waits.
local function runtime(fr)
    local object = fr:object_file() or ""
    return object:match("^libc%.so") or object:match("^ld%-linux") or object:match("^libpthread")
        or object:match("^libstdc%+%+") or object:match("vdso")
end

-- The type a program's pointer to each kind of lock points to.
local POINTEE = { mutex = "pthread_mutex_t", rwlock = "pthread_rwlock_t" }

-- Without the C library's debug information the lock functions show no
-- parameters: the lock is then the one pointer to that kind of lock among
-- the variables of the program's frame that called them (`take(m)`, when
-- the compiler kept `m`).
local function lock_from_caller(w)
    for fr in w.frame:thread() do
        if not runtime(fr) then
            local found
            for var in fr do
                if var:type() == pmodule.variable_type.reference and var:base_type() == POINTEE[w.kind]
                    and var:resolved() and var:value() ~= 0 then
                    if found and found ~= var:value() then
                        return nil
                    end
                    found = var:value()
                end
            end
            return found
        end
    end
    return nil
end

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do
        keys[#keys + 1] = k
    end
    table.sort(keys)
    return keys
end

-- A glibc lock's owner, from the lock word at glibc's layout.
local function glibc_owner(tid, w)
    -- __lll_lock_wait's futex is the mutex when pthread_mutex_lock
    -- called it without showing its parameter.
    if w.kind == "mutex" and not w.lock then
        w.lock = w.futex
    end
    if w.kind and not w.lock then
        w.lock = lock_from_caller(w)
    end
    if w.kind and w.lock then
        local raw = pmodule.address_read_raw(w.lock + OWNER_OFFSET[w.kind], 4)
        local owner = raw and string.unpack("<i4", raw)
        if owner and owner > 0 and owner ~= tid then
            return owner
        end
    end
    return nil
end

-- A Rust mutex's owner: the one thread other than the waiter whose
-- frames hold a MutexGuard of it, while its futex word says locked.
local function rust_owner(tid, w)
    local futex = w.futex
    if not futex and w.mutex then
        for word, g in pairs(guards) do
            if g.mutex == w.mutex then
                futex = word
            end
        end
    end
    local held = futex and guards[futex]
    w.lock = w.mutex or (held and held.mutex) or futex
    if not held or held.tids[tid] then
        return nil
    end
    local holders = sorted_keys(held.tids)
    local raw = pmodule.address_read_raw(futex, 4)
    local state = raw and string.unpack("<I4", raw)
    if #holders == 1 and state and state ~= 0 then
        return holders[1]
    end
    return nil
end

-- The waits whose lock and owner are known: tid -> wait, with `owner`.
local function wait_graph()
    local graph = {}
    for tid, w in pairs(waiting) do
        if w.rust then
            w.owner = rust_owner(tid, w)
        else
            w.owner = glibc_owner(tid, w)
        end
        if w.owner then
            graph[tid] = w
        end
    end
    return graph
end

-- The cycles of the graph (each thread waits for one owner), each from
-- its lowest thread id, in order of that id.
local function cycles(graph)
    local found, state = {}, {}
    for _, start in ipairs(sorted_keys(graph)) do
        local path, at = {}, start
        while graph[at] and not state[at] do
            state[at] = start
            path[#path + 1] = at
            at = graph[at].owner
        end
        if graph[at] and state[at] == start then
            local cycle, inside = {}, false
            for _, tid in ipairs(path) do
                inside = inside or tid == at
                if inside then
                    cycle[#cycle + 1] = tid
                end
            end
            found[#found + 1] = cycle
        end
    end
    for n, cycle in ipairs(found) do
        local low = 1
        for i, tid in ipairs(cycle) do
            if tid < cycle[low] then
                low = i
            end
        end
        local rotated = {}
        for i = 0, #cycle - 1 do
            rotated[#rotated + 1] = cycle[(low - 1 + i) % #cycle + 1]
        end
        found[n] = rotated
    end
    table.sort(found, function(a, b) return a[1] < b[1] end)
    return found
end

-- Where each thread of `wanted` (tid -> true) is: "in read from
-- hold_and_sleep (locks.c:74)", the runtime's function by its exported
-- name.
local function whereabouts(bt, wanted)
    local where = {}
    for thr in bt do
        if wanted[thr:tid()] then
            local inside, caller
            for fr in thr do
                if not runtime(fr) then
                    caller = fr
                    break
                end
                inside = fr
            end
            local text = {}
            if inside then
                local name = pmodule.address_symbol(inside:instruction()) or inside:symbol() or "??"
                text[#text + 1] = "in " .. name:gsub("%+%d+$", "")
            end
            if caller then
                local path = caller:path()
                text[#text + 1] = string.format("%s %s%s", inside and "from" or "in", caller:symbol() or "??",
                    path and string.format(" (%s:%d)", path:match("([^/]+)$"), caller:line() or 0) or "")
            end
            where[thr:tid()] = table.concat(text, " ")
        end
    end
    return where
end

local function report_cycles(bt, graph, found)
    local lists, lines = {}, {}
    for _, cycle in ipairs(found) do
        local waits = {}
        for _, tid in ipairs(cycle) do
            local w = graph[tid]
            w.cycle = true
            local text = string.format("thread %d waits for %s held by thread %d", tid, lock_name(w), w.owner)
            waits[#waits + 1] = text
            w.frame:annotate(pmodule.annotation.critical, "deadlock: %s", text)
        end
        lists[#lists + 1] = table.concat(cycle, ",")
        lines[#lines + 1] = table.concat(waits, "; ")
    end
    bt:add_classifier("deadlock")
    bt:add_kv_string("deadlock.threads", table.concat(lists, ";"))
    bt:annotate(pmodule.annotation.critical, "deadlock: %s", table.concat(lines, " | "))
end

-- The thread at the end of tid's chain of waits, and whether that chain
-- ends in a cycle.
local function chain_end(graph, tid)
    local seen = {}
    while graph[tid] and not seen[tid] do
        if graph[tid].cycle then
            return tid, true
        end
        seen[tid] = true
        tid = graph[tid].owner
    end
    return tid, graph[tid] ~= nil
end

local function report_waiters(bt, graph)
    local holders, waiters = {}, {}
    for _, tid in ipairs(sorted_keys(graph)) do
        local w = graph[tid]
        if not w.cycle then
            local last, deadlocked = chain_end(graph, tid)
            if deadlocked then
                w.frame:annotate(pmodule.annotation.critical,
                    "deadlock: thread %d waits for %s held by thread %d, which waits on a deadlock", tid, lock_name(w),
                    w.owner)
            elseif waiting[last] and waiting[last].kind then
                -- Thread `last` waits in a lock function for a lock (or an
                -- owner) that is not known: neither contention nor a cycle
                -- can be told.
                w.frame:annotate(pmodule.annotation.warning,
                    "thread %d waits for %s held by thread %d; thread %d waits for a lock whose owner is not known",
                    tid, lock_name(w), w.owner, last)
            else
                holders[last] = true
                waiters[#waiters + 1] = tid
            end
        end
    end
    if #waiters == 0 then
        return
    end
    local where = whereabouts(bt, holders)
    local lines = {}
    for _, tid in ipairs(waiters) do
        local w = graph[tid]
        local holder = where[w.owner] or "not in the process: it exited without unlocking"
        if not graph[w.owner] then
            w.frame:annotate(pmodule.annotation.warning,
                "lock-contention: thread %d waits for %s held by thread %d, which waits for no lock (%s)", tid,
                lock_name(w), w.owner, holder)
        else
            w.frame:annotate(pmodule.annotation.warning,
                "lock-contention: thread %d waits for %s held by thread %d, itself waiting", tid, lock_name(w), w.owner)
        end
        lines[#lines + 1] = string.format("thread %d waits for %s held by thread %d", tid, lock_name(w), w.owner)
    end
    local held = sorted_keys(holders)
    local said = {}
    for _, tid in ipairs(held) do
        said[#said + 1] = string.format("thread %d is %s", tid, where[tid] or "not in the process")
    end
    bt:add_classifier("lock-contention")
    bt:add_kv_string("lock-contention.holders", table.concat(held, ","))
    bt:add_kv_string("lock-contention.waiters", table.concat(waiters, ","))
    bt:annotate(pmodule.annotation.warning, "lock-contention: %s; %s", table.concat(lines, "; "),
        table.concat(said, "; "))
end

local function analyse(bt)
    local graph = wait_graph()
    local found = cycles(graph)
    if #found > 0 then
        report_cycles(bt, graph, found)
    end
    report_waiters(bt, graph)
end

-- A MutexGuard among a frame's variables: its thread holds the mutex
-- its `lock` points to (the guard's memory is read through bt_variable;
-- a guard the compiler keeps in registers is not seen).
local function guard_variable(var, btvar)
    local type_name = var:type_name() or ""
    if not btvar or var:type() == pmodule.variable_type.reference
        or not type_name:match("^std::sync::[%w_:]-MutexGuard<") then
        return
    end
    local ok, futex, mutex = pcall(function()
        return pmodule.variable_from_bt(btvar.lock.inner):address(), pmodule.variable_from_bt(btvar.lock):value()
    end)
    if not ok or not futex or futex == 0 then
        return
    end
    local g = guards[futex] or { tids = {} }
    guards[futex] = g
    g.tids[var:thread():tid()] = true
    g.mutex = mutex
end

pmodule.define{
    id = "deadlock",
    load = function()
        -- Every lock function has "lock" in its name; the filter is tested
        -- by ptsnap, so the module runs only for those frames.
        local m = pmodule.match()
        m:add_frame_symbol("lock", pmodule.match_type.substr)
        pmodule.register(pmodule.event.frame, lock_frame, m)
        local g = pmodule.match()
        g:add_variable_base_type("MutexGuard<", pmodule.match_type.substr)
        pmodule.register(pmodule.event.variable, guard_variable, g)
        pmodule.register(pmodule.event.postattach, analyse)
    end,
}
