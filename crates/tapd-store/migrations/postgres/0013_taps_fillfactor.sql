-- Room in each page of passes for a row's next version: a sign-in's consumption (`used_at`, the
-- failure count, neither indexed) then stays on the row's page as a heap-only update instead of
-- adding an entry to both of the table's indexes. Pages written from now on get the room.
ALTER TABLE taps SET (fillfactor = 70);
