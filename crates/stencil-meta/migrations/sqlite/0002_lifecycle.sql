-- The image lifecycle: durable tasks, snapshots and their tags, and client tokens. Like
-- images, each record is a few filter columns plus the whole record as `doc` (JSON).

-- Durable tasks. IDs are unique across regions.
CREATE TABLE tasks (
    id          TEXT    NOT NULL PRIMARY KEY,
    region      TEXT    NOT NULL,
    owner       TEXT,
    action      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    resource_id TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT    NOT NULL
);
-- DescribeTasks: one owner's tasks in a region, newest first.
CREATE INDEX tasks_by_owner ON tasks (region, owner, created_at DESC, id);
-- The runner at start-up: every Waiting or Processing task, oldest first.
CREATE INDEX tasks_by_status ON tasks (status, created_at, id);
CREATE INDEX tasks_by_resource ON tasks (resource_id);

-- Snapshots. IDs are unique across regions, so the ID alone is the key.
CREATE TABLE snapshots (
    id               TEXT    NOT NULL PRIMARY KEY,
    region           TEXT    NOT NULL,
    owner            TEXT,
    name             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    source_disk_id   TEXT    NOT NULL,
    source_disk_type TEXT    NOT NULL,
    encrypted        INTEGER NOT NULL,
    doc              TEXT    NOT NULL
);
CREATE INDEX snapshots_by_owner ON snapshots (region, owner, created_at DESC, id);

CREATE TABLE snapshot_tags (
    snapshot_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, key)
);
CREATE INDEX snapshot_tags_by_pair ON snapshot_tags (key, value);

-- Which images use a snapshot, whatever their region (snapshot IDs are global).
CREATE INDEX image_snapshots_by_snapshot_id ON image_snapshots (snapshot_id);
-- Quotas: images per family and families per owner.
CREATE INDEX images_by_owner_family ON images (region, kind, owner, family);

-- ClientToken idempotency: the first request's fingerprint and result, per action.
CREATE TABLE client_tokens (
    owner       TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    token       TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, region, action, token)
);
