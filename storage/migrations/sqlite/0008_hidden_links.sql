-- The offers hidden for their apply link, read every few seconds by each serving process:
-- found from the few hidden rows, not by visiting every active offer.
CREATE INDEX link_checks_hidden ON link_checks (source, source_offer_id) WHERE hidden_at IS NOT NULL;
