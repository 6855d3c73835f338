-- Slow, not stuck: each frame callback spins about 0.2 s (a debug build;
-- less in release), well within its instruction budget, so only a limit
-- on the whole pause (the engine's interrupt) bounds a deep stack.
pmodule.define{ id = "burn", load = function()
    pmodule.register(pmodule.event.frame, function(fr)
        local x = 0
        for i = 1, 3000000 do x = x + i end
        fr:annotate(pmodule.annotation.comment, "burnt %d", x)
    end)
end }
