"""Domains, predicates and the networks behind them. `registry` knows names and truth tables
without loading any network, so `riddle check` stays fast."""
