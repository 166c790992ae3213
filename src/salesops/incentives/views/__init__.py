"""HTML pages of the incentives app, one module per area: statements, runs (calculation, approvals, payroll
export), estimates (a rep's live estimate and what-if) and modelling (ops compares a draft plan with the current one)."""
