-- Restart a runaway helper: when a helper process stays above SIZE for FOR,
-- send it SIGTERM, then SIGKILL if it is still there 5 seconds later (its
-- supervisor starts a fresh one).
--
--   memwatch runaway_helper.lua [NAME [SIZE [FOR]]]    (default: SourceKitService 2G 1m)
--
-- This copy runs in dry-run mode: it only says what it would do. Change
-- dry_run to false once the rule picks the right processes. memwatch never
-- signals itself, its ancestors or pid 1, dry run or not.
local name = arg[1] or "SourceKitService"

memwatch.watch {
    name = "runaway " .. name,
    select = { name = name },
    group = "none", -- each process on its own: only the big one is signalled
    above = arg[2] or "2G",
    sustain = arg[3] or "1m",
    on_alert = {
        memwatch.actions.log(),
        memwatch.actions.signal { signal = "TERM", grace = "5s", dry_run = true },
    },
    on_resolve = memwatch.actions.log(),
}

memwatch.run()
