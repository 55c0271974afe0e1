-- Keyset paging that costs the same on every page.
--
-- Listings read interactions newest first, ORDER BY "timestamp" DESC, id DESC, and
-- continue after the last row shown: ("timestamp", id) < (cursor's timestamp, cursor's
-- id). With only the spec's index on "timestamp", PostgreSQL cannot start that walk at
-- the cursor for a condition written as `"timestamp" < $1 OR ("timestamp" = $1 AND id <
-- $2)`: it reads from the newest row and throws away every row before the cursor, so
-- page n costs n pages of reading and an export of N rows costs N²/page reads.
--
-- An index on ("timestamp", id), read backwards, holds the rows in exactly the listing's
-- order (NULL timestamps first, as DESC puts them), so a page starts at its cursor and
-- stops after its last row: the direct transport's row comparison is an index condition,
-- and the REST transport sends `"timestamp" <= cursor` beside the OR, which bounds the
-- scan the same way.
--
-- The spec's tables, columns, indexes and constraints are not changed; `verify` lists
-- this index beyond the spec. CREATE INDEX blocks writes to interactions while it builds
-- (seconds for a million rows). On a large, busy table, build it first by hand with
-- `CREATE INDEX CONCURRENTLY idx_interactions_timestamp_id ON public.interactions
-- ("timestamp", id);` outside a transaction; this migration then finds it and does
-- nothing. Idempotent: it may be pasted into the Supabase SQL editor any number of times.

CREATE INDEX IF NOT EXISTS idx_interactions_timestamp_id
    ON public.interactions ("timestamp", id);

COMMENT ON INDEX public.idx_interactions_timestamp_id IS
    'Keyset paging of interactions newest first (migration 009 of assistant-db).';
