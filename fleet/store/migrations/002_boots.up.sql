-- Boots: each host's kernels as the hosts themselves report them at boot
-- (ktriage submit --boot), so that a host's silence is known: a bucket is
-- probably fixed in X when hosts that crashed in it booted X or later
-- afterwards and have not crashed in it since.
CREATE TABLE boots (
    host       TEXT NOT NULL,
    kernel     TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (host, kernel)
);
