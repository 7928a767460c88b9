-- Conversations and notifications (DOMAIN.md "Conversation and notifications").
-- A ticket's thread is its messages; ordering and keyset paging are by (created_at, id).
CREATE TABLE comms.messages (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL,
    author_id uuid NOT NULL,
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    internal boolean NOT NULL DEFAULT false,
    attachment_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    edited_at timestamptz,
    deleted_at timestamptz
);
CREATE INDEX messages_thread ON comms.messages (ticket_id, created_at, id) WHERE deleted_at IS NULL;

-- How far each participant has read a thread; markers only move forward.
CREATE TABLE comms.read_markers (
    user_id uuid NOT NULL,
    ticket_id uuid NOT NULL,
    last_read_message_id uuid NOT NULL,
    last_read_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, ticket_id)
);

-- One row per recipient of an event; (user_id, event_id) makes a redelivered event harmless.
CREATE TABLE comms.notifications (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    event_id uuid NOT NULL,
    kind text NOT NULL,
    ticket_id uuid,
    title text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    UNIQUE (user_id, event_id)
);
CREATE INDEX notifications_inbox ON comms.notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON comms.notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE comms.notification_preferences (
    user_id uuid PRIMARY KEY,
    muted_kinds text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);
