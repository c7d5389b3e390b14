"""One module per SPEC rule family; each `add_*` function adds that family to the model.

| rule | function |
|------|----------|
| C1 coverage, C3 material | `c01_c03_coverage_and_material.add_one_start_per_scheduled_patient` |
| C2 apheresis chairs | `c02_apheresis_chairs.add_apheresis_chairs` |
| C4 starts per day | `c04_daily_starts.add_daily_start_limit` |
| C5 suite positions | `c05_suite_positions.add_suite_capacity` |
| C6 operators | `c06_operator_staffing.add_operator_staffing` (exact per shift: `add_exact_shift_team`) |
| C7 QC lab | `c07_qc_capacity.add_qc_capacity` |
| C8 release, C9 delivery, C10 horizon | `c08_c10_release_and_delivery.add_release_and_delivery` |
| C11 in progress | fixed work enters each family above as constants |

`build.build_model` adds them all. Everything that concerns one batch alone (windows,
shelf-life, downtime, horizon) is already applied when options are enumerated
(`scheduler.problem.options`). For each rule, the option filter, the constraint, where a
solution is completed, the validator function and the tests: docs/RULES.md.
"""
