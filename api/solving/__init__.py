"""Solving plans off the request path: one solve function (`run`), two engines (`workers`, `tasks`).

- `leases`: who solves a plan until when; claim, heartbeat, recovery of dead holders;
- `run`: `run_plan`, the one solve function: progress, cancel, time limit, the result once;
- `engine`: `Dispatch` (wake the embedded worker, or send a Celery task) and the Celery app;
- `workers`: the embedded worker of an API server, and the lease sweeper used with Celery;
- `tasks`: the Celery task `solve_plan` that `cart-schedule worker` runs;
- `fanout`: the Celery task `solve_scenario` (a document in, its schedule out) and the group
  that solves several scenarios at once on the workers;
- `simfanout`: the Celery task `simulate_chunk` and `celery_mapper`, the `RunMapper` that
  plays a simulation's runs as one group on the workers (`simulate --broker`);
- `simrun`: a stored simulation played off the request path (lease, progress, cancel, stepping
  aside for queued plans) and its Celery task `simulate_plan`.
"""
