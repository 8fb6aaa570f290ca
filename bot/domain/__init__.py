"""Pure rules and types: no I/O, no clocks, no databases."""
