-- The number of tickets, kept by statement triggers, so that the system dashboard reads one row
-- instead of counting every ticket. Ticket creation already serialises on its year's number
-- counter, so the one row adds no wait of its own.
CREATE TABLE tickets.ticket_totals (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    tickets bigint NOT NULL
);
INSERT INTO tickets.ticket_totals (id, tickets) SELECT true, count(*) FROM tickets.tickets;

CREATE FUNCTION tickets.count_inserted_tickets() RETURNS trigger AS $$
BEGIN
    UPDATE tickets.ticket_totals SET tickets = tickets + (SELECT count(*) FROM inserted);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION tickets.count_deleted_tickets() RETURNS trigger AS $$
BEGIN
    UPDATE tickets.ticket_totals SET tickets = tickets - (SELECT count(*) FROM deleted);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION tickets.count_truncated_tickets() RETURNS trigger AS $$
BEGIN
    UPDATE tickets.ticket_totals SET tickets = 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_count_inserted AFTER INSERT ON tickets.tickets
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION tickets.count_inserted_tickets();
CREATE TRIGGER tickets_count_deleted AFTER DELETE ON tickets.tickets
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION tickets.count_deleted_tickets();
CREATE TRIGGER tickets_count_truncated AFTER TRUNCATE ON tickets.tickets
    FOR EACH STATEMENT EXECUTE FUNCTION tickets.count_truncated_tickets();
