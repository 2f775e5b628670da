-- Notice channels (guatu/channels, docs/operations.md "Channels").
-- One channel of each kind per bureau, set by an administrator. `settings` is plain (URLs,
-- recipients); `secrets` maps a field to `enc:<key id>:<AES-GCM ciphertext>` or `env:NAME`,
-- never to a secret in clear. The webhook of config/bureaus.json stays in bureaus.webhook_url.
CREATE TABLE bureau_channels (
    bureau      text NOT NULL REFERENCES bureaus (code) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('webhook', 'wecom', 'dingtalk', 'email')),
    settings    jsonb NOT NULL DEFAULT '{}',
    secrets     jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (bureau, channel)
);

-- Each notice's delivery per channel: a channel that took the notice is not sent it again when
-- another channel of the bureau fails and the delivery is retried or redelivered. The notice's
-- own row (notifications.status) is `delivered` once every channel is.
CREATE TABLE notice_deliveries (
    notice_key   text NOT NULL REFERENCES notifications (key) ON DELETE CASCADE,
    channel      text NOT NULL,
    status       text NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    attempts     int NOT NULL DEFAULT 0,
    delivered_at timestamptz,
    failed_at    timestamptz,
    last_error   text,
    PRIMARY KEY (notice_key, channel)
);
CREATE INDEX notice_deliveries_failed ON notice_deliveries (channel) WHERE status = 'failed';
