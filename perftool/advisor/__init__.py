"""`perftool indexes recommend`: predicates of each statement, candidates, HypoPG what-if
costing, selection and the report."""
