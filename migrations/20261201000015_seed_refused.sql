-- A token that does not accept seed material (no RNG, or C_SeedRandom
-- answered CKR_RANDOM_SEED_NOT_SUPPORTED, CKR_RANDOM_NO_RNG or
-- CKR_FUNCTION_NOT_SUPPORTED) is not tried again on a schedule: the history
-- writer sets this with the refused reseed's row and clears it with a
-- reseed that worked; an edit of the slot, the pinned serial or the module
-- clears it too.
ALTER TABLE hsm_configs ADD COLUMN seed_refused INTEGER NOT NULL DEFAULT 0
    CHECK (seed_refused = 0 OR seed_refused = 1);
