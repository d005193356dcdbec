-- Scale-out (several nodes on one database): leases, and signature nonces every node sees.
--
-- A lease names something one node at a time may work on: `task:<task id>` for a running task,
-- `gc` and `verify` for the scheduled maintenance. The holder renews `expires_at` (milliseconds
-- since the epoch) while it works; once it has passed, any node may take the lease over.
-- `cancel` asks the holder of a task's lease to stop the task (CancelCopyImage, CancelTask sent
-- to another node; 1 = asked); it survives a takeover.
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    node       TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    cancel     INTEGER NOT NULL DEFAULT 0
);

-- Signature nonces accepted within the timestamp window (seconds since the epoch), so a request
-- replayed to another node is refused too.
CREATE TABLE signature_nonces (
    access_key_id TEXT   NOT NULL,
    nonce         TEXT   NOT NULL,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX signature_nonces_seen_at ON signature_nonces (seen_at);
