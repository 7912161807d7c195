-- Undoes 001_init: every table it made, dependents first.
DROP TABLE samples;
DROP TABLE bucket_modules;
DROP TABLE bucket_taints;
DROP TABLE bucket_kernels;
DROP TABLE bucket_hosts;
DROP TABLE bucket_days;
DROP TABLE events;
DROP TABLE buckets;
DROP TABLE submissions;
