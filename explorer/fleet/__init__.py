"""Fleet planning: the scenario (demand tiers, chip options), offers and columns, the
integer program, the plan, a chip designed for the fleet, sensitivity and the report.
Imports explorer.model, explorer.design and explorer.search."""
