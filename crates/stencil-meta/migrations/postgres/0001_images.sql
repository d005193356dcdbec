-- Images of every kind. Filterable attributes are columns; the whole record is `doc` (JSON),
-- written in the same statement, so the two never disagree.
CREATE TABLE images (
    region            TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    owner             TEXT,
    name              TEXT    NOT NULL,
    family            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    architecture      TEXT    NOT NULL,
    os_type           TEXT    NOT NULL,
    boot_mode         TEXT    NOT NULL,
    nvme_support      TEXT    NOT NULL,
    is_public         BIGINT  NOT NULL,
    io_optimized      BIGINT  NOT NULL,
    cloudinit         BIGINT  NOT NULL,
    usage             TEXT    NOT NULL,
    resource_group_id TEXT    NOT NULL,
    online_features   TEXT    NOT NULL,
    doc               TEXT    NOT NULL,
    PRIMARY KEY (region, id)
);
-- Covers the common listing filters so counts read the index only.
CREATE INDEX images_by_owner ON images (region, kind, owner, status, os_type, architecture, created_at);
CREATE INDEX images_by_kind ON images (region, kind, status, created_at);
-- Pages of one owner's images come out in listing order (newest first, ID as tie-break)
-- straight from this index, so LIMIT stops early.
CREATE INDEX images_by_owner_order ON images (region, kind, owner, status, created_at DESC, id);
CREATE INDEX images_by_family ON images (region, family, created_at);
CREATE INDEX images_by_name ON images (region, owner, name);

CREATE TABLE image_tags (
    region   TEXT NOT NULL,
    image_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (region, image_id, key)
);
CREATE INDEX image_tags_by_pair ON image_tags (region, key, value);

CREATE TABLE image_snapshots (
    region      TEXT NOT NULL,
    image_id    TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    PRIMARY KEY (region, image_id, snapshot_id)
);
CREATE INDEX image_snapshots_by_snapshot ON image_snapshots (region, snapshot_id);

CREATE TABLE image_shares (
    region   TEXT NOT NULL,
    image_id TEXT NOT NULL,
    account  TEXT NOT NULL,
    PRIMARY KEY (region, image_id, account)
);
CREATE INDEX image_shares_by_account ON image_shares (region, account);
