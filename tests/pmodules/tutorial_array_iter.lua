-- The second module of ../shared/reference/pmodule-tutorial.txt, as
-- written there: bt_query, bt_variable member access through pointers,
-- variable_from_bt, deref with and without an address, and sizeof.
local function attach_cb(bt)
-- Note: this is a global (Lua) variable.
-- cached_ref_var will be nil if this fails. variable_cb will
-- attempt to use this, resulting in an exception if nil.
cached_ref_var = pmodule.bt_query("some_struct_g", "crash", "crash.c")
local n = cached_ref_var.list.stqh_first
local v = pmodule.variable_from_bt(n)
while v:value() ~= 0 do
local val = pmodule.variable_from_bt(n.v)
print(string.format("[%x] %s: %d",
val:address(), val:name(), val:value()))
n = n.linkage.stqe_next
v = pmodule.variable_from_bt(n)
end
end
local function variable_cb(var, raw)
-- Variables synthesized this way will be finalized/freed. They cannot
-- be added to the snapshot. All synthesized variables must go through
-- the synthesis API.
-- This is enforced through the API.
local n = pmodule.variable_from_bt(raw.len):value()
local addr = pmodule.variable_from_bt(raw.kids):value()
-- We'll use size to iterate over the array.
local size = pmodule.sizeof(pmodule.deref(cached_ref_var))
print(string.format("addr: %x, len: %d, size: %d", addr, n, size))
for i = 0, n - 1 do
local na = addr + i * size
print(string.format("--- iter %d (%x)---", i, na))
elem = pmodule.deref(cached_ref_var, addr + i * size)
print(string.format("a: %d",
pmodule.variable_from_bt(elem.a):value()))
print(string.format("b: %f",
pmodule.variable_from_bt(elem.b):value()))
-- Note: when accessing member fields, pointers are
-- automatically dereferenced until we reach the underlying
-- struct.
print(string.format("nppp.c: %d",
pmodule.variable_from_bt(elem.nppp.c):value()))
end
end
local function pm_load()
local m = pmodule.match()
m:add_object("crash")
m:add_file("crash.c")
m:add_variable_base_type("array_struct", pmodule.match_type.substr)
m:add_variable_ptrace_type(pmodule.variable_type.tuple)
m:add_variable_name("papa", pmodule.match_type.substr)
pmodule.register(pmodule.event.variable, variable_cb, m)
pmodule.register(pmodule.event.attach, attach_cb)
end
pmodule.define{
id = "array_iter",
load = pm_load
}
