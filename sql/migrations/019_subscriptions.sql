-- E-mail subscriptions made from the web view (double opt-in). A subscription is an
-- e-mail watch that stays 'pending' (alerted of nothing) until its address confirms
-- through the link sent to it: the link's random token is kept only as its SHA-256,
-- and expires. Watches added on the command line are 'active' at once, as before.
ALTER TABLE watches
    ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('pending', 'active')),
    ADD COLUMN origin text NOT NULL DEFAULT 'command' CHECK (origin IN ('command', 'web')),
    ADD COLUMN confirm_sha256 bytea UNIQUE,
    ADD COLUMN confirm_expires_at timestamptz,
    ADD COLUMN confirmed_at timestamptz;
CREATE INDEX watches_destination ON watches (destination) WHERE channel = 'email';

-- Every message the web view sent to an address on a reader's request (a confirmation,
-- a link to the address's subscriptions): what the hourly limits per address and per
-- client count.
CREATE TABLE subscription_messages (
    sent_at timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL CHECK (kind IN ('confirm', 'manage')),
    address text NOT NULL,
    client  text NOT NULL
);
CREATE INDEX subscription_messages_address ON subscription_messages (address, sent_at);
CREATE INDEX subscription_messages_client ON subscription_messages (client, sent_at);
