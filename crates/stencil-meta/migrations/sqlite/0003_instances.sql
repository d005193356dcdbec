-- Instances and disks (reference §5.18). Like images, each record is a few filter columns plus
-- the whole record as `doc` (JSON). IDs are unique across regions.
CREATE TABLE instances (
    id            TEXT    NOT NULL PRIMARY KEY,
    region        TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    image_id      TEXT    NOT NULL,
    instance_type TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    doc           TEXT    NOT NULL
);
CREATE INDEX instances_by_owner ON instances (region, owner, created_at DESC, id);
-- DeleteImage and Usage: which instances use an image.
CREATE INDEX instances_by_image ON instances (region, image_id);

CREATE TABLE disks (
    id                 TEXT    NOT NULL PRIMARY KEY,
    region             TEXT    NOT NULL,
    owner              TEXT    NOT NULL,
    instance_id        TEXT,
    name               TEXT    NOT NULL,
    disk_type          TEXT    NOT NULL,
    category           TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    image_id           TEXT,
    source_snapshot_id TEXT,
    created_at         INTEGER NOT NULL,
    doc                TEXT    NOT NULL
);
CREATE INDEX disks_by_owner ON disks (region, owner, created_at DESC, id);
CREATE INDEX disks_by_instance ON disks (instance_id);
CREATE INDEX disks_by_image ON disks (region, image_id);
CREATE INDEX disks_by_snapshot ON disks (source_snapshot_id);

-- Tags of instances and disks, for `Tag.N` filters.
CREATE TABLE resource_tags (
    resource_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (resource_id, key)
);
CREATE INDEX resource_tags_by_pair ON resource_tags (key, value);
