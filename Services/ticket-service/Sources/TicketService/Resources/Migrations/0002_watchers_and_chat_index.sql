-- Public chat messages of each ticket, kept from communication-service's events so that the
-- ticket's search text can include them (internal notes are never stored here).
CREATE TABLE tickets.chat_messages (
    message_id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL,
    body text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_ticket ON tickets.chat_messages (ticket_id);
