ALTER TABLE uploads DROP COLUMN touched_at;
