-- The first tier of a relevance search: tickets whose title holds the query, found through the
-- titles alone, so that a page of them does not rank every ticket that mentions the words.
CREATE INDEX tickets_title_search ON tickets.tickets USING gin (to_tsvector('english', title));
