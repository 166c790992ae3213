"""Material incentives (seed chapter 4.1): compensation plans stored as versioned YAML documents, their
assignment to salespeople with quotas, and calculation runs that turn the organisation's order lines into
payouts with the pure engine (``salesops.engine.comp``)."""
