-- An upload being received is touched at each chunk: a request that
-- finds its key receiving answers 409 while it is live, and takes it over
-- once it is stale (its request died with the server).
ALTER TABLE uploads ADD COLUMN touched_at BIGINT;
