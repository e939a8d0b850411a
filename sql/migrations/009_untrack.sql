-- Untracking: a document (or every document of a platform) is no longer checked; its
-- history is kept, and the time it ended is recorded. Tracking it again clears it.
ALTER TABLE documents ADD COLUMN untracked_at timestamptz;
