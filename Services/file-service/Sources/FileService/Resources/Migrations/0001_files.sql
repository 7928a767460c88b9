-- Attachments (DOMAIN.md "Attachments"). The bytes live in the file store under the row's id;
-- the client's filename is only ever data, never part of a path.
CREATE TABLE files.files (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL,
    message_id uuid,
    uploader_id uuid NOT NULL,
    filename text NOT NULL CHECK (octet_length(filename) BETWEEN 1 AND 255),
    content_type text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    internal boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Soft delete: the row stays for the audit trail, the bytes are removed from the store.
    deleted_at timestamptz
);
CREATE INDEX files_ticket ON files.files (ticket_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX files_message ON files.files (message_id) WHERE message_id IS NOT NULL;
