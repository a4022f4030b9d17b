-- The unfinished jobs of each target, in order: a claim reads the first of
-- each target from here (one pass over what waits, never over what is
-- done) instead of asking, for every waiting job, whether an earlier one
-- of its target still waits.
CREATE INDEX jobs_unfinished ON jobs(consumer, target, id) WHERE state IN ('pending', 'running');
