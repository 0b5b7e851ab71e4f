"""What every source of a trace shares: the records and contacts registries give, evidence,
failures named for their condition, limits, politeness and the resolution cache."""
