-- Outbox rows whose delivery finally failed (bounded retries, or a 4xx from the webhook) are
-- `failed`, with the time they gave up; `guatu notices redeliver` sends them again.
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS failed_at timestamptz;
CREATE INDEX IF NOT EXISTS notifications_failed ON notifications (bureau, created_at)
    WHERE status = 'failed';
