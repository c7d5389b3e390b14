"""One module per SPEC rule family; each `add_*` function adds that family to the model.

| rule | function |
|------|----------|
| C1 coverage, C3 material | `coverage.add_one_start_per_scheduled_patient` |
| C2 apheresis chairs | `apheresis.add_apheresis_chairs` |
| C4 starts per day | `starts.add_daily_start_limit` |
| C5 suite positions | `suites.add_suite_capacity` |
| C6 operators | `operators.add_operator_staffing` |
| C7 QC lab | `qc.add_qc_capacity` |
| C8 release, C9 delivery, C10 horizon | `delivery.add_release_and_delivery` |
| C11 in progress | fixed work enters each family above as constants |

Everything that concerns one batch alone (windows, shelf-life, downtime, horizon) is
already applied when options are enumerated (`scheduler.options`).
"""
