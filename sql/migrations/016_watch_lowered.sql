-- A watch may ask to hear of relief too: a clause of its type lowered in severity (a
-- denial now) or no longer of the type counts at the severity it had
-- (queue_notifications); a removed clause counts for every watch.
ALTER TABLE watches ADD COLUMN lowered boolean NOT NULL DEFAULT false;
