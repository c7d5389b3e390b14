"""The optimisation core: CP-SAT model of SPEC rules C1–C11 and the lexicographic objective."""
