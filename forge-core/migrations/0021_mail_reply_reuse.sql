-- A reply key is made once per person, address and item (every mail of an
-- item's thread has the same binding) and reused while it is young: the
-- lookup before minting a new one.
CREATE INDEX mail_replies_binding ON mail_replies (user, project, kind, item, address, message_id, created_at);
