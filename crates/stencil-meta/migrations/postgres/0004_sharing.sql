-- Sharing (reference §5.9–5.10): when each share was made, for DescribeImageSharePermission's
-- `SharedTime` (seconds since the epoch; rows from before this migration read as 0).
ALTER TABLE image_shares ADD COLUMN shared_at BIGINT NOT NULL DEFAULT 0;

-- Marketplace products an account has launched an instance or system disk from: what
-- `IsSubscribed` reports. Kept after the instance goes, as a subscription would be.
CREATE TABLE marketplace_subscriptions (
    account       TEXT    NOT NULL,
    product_code  TEXT    NOT NULL,
    subscribed_at BIGINT  NOT NULL,
    PRIMARY KEY (account, product_code)
);
