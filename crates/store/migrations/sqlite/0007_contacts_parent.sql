-- A send addressed to a parent BSUID finds its contact by it.
CREATE INDEX contacts_by_parent_bsuid ON contacts (parent_bsuid);
