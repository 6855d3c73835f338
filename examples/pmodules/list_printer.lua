-- A pretty printer for the STAILQ list of the tutorial's program
-- (tests/fixtures/tutorial/crash.c): the list is shown as one made
-- variable with the values of its elements, added to main's frame.
-- Uses: attach, bt_query, bt_variable members through pointers,
-- variable_from_bt, create_variable with owners, setters, a frame
-- event with a match, add_variable, sizeof, deref.
local values = nil

local function walk_list(bt)
    local head = pmodule.bt_query("some_struct_g")
    if head == nil then return end
    values = {}
    local node = head.list.stqh_first
    while pmodule.variable_from_bt(node):value() ~= 0 and #values < 1000 do
        values[#values + 1] = pmodule.variable_from_bt(node.v):value()
        node = node.linkage.stqe_next
    end
    local elem = pmodule.deref(head.list.stqh_first)
    bt:add_kv_int("list_element_size", pmodule.sizeof(elem))
end

local function add_to_frame(fr)
    if values == nil then return end
    local list = pmodule.create_variable(pmodule.variable_type.tuple, "some_struct_g->list")
    local count = pmodule.create_variable(pmodule.variable_type.ull, "length", nil, nil, list)
    count:set_ull(#values)
    local items = pmodule.create_variable(pmodule.variable_type.array, "values", nil, nil, list)
    for i, v in ipairs(values) do
        local e = pmodule.create_variable(pmodule.variable_type.ll, string.format("[%d]", i - 1), nil, nil, items)
        e:set_ll(v)
    end
    fr:add_variable(list)
end

pmodule.define{
    id = "list_printer",
    load = function()
        pmodule.register(pmodule.event.attach, walk_list)
        local m = pmodule.match()
        m:add_frame_symbol("main")
        pmodule.register(pmodule.event.frame, add_to_frame, m)
    end,
}
