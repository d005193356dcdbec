-- A counter every change to what DescribeImages filters on moves (images, their tags,
-- snapshots and shares), by trigger, in the writing transaction. A node keeps listing totals
-- (the COUNT(*) behind TotalCount, tens of milliseconds over 100,000 images) as long as the
-- counter has not moved, whichever node wrote: one indexed read instead of the count.
CREATE TABLE image_changes (
    id BIGINT PRIMARY KEY,
    n  BIGINT NOT NULL
);
INSERT INTO image_changes (id, n) VALUES (1, 0);

CREATE FUNCTION bump_image_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE image_changes SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER images_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON images
    FOR EACH STATEMENT EXECUTE FUNCTION bump_image_changes();
CREATE TRIGGER image_tags_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON image_tags
    FOR EACH STATEMENT EXECUTE FUNCTION bump_image_changes();
CREATE TRIGGER image_snapshots_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON image_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION bump_image_changes();
CREATE TRIGGER image_shares_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON image_shares
    FOR EACH STATEMENT EXECUTE FUNCTION bump_image_changes();
