"""The solver parameter policy: which CP-SAT settings pay off at which model size."""

from __future__ import annotations

import os

# Below this many model variables CP-SAT's presolve probing costs more than it saves: on every
# m, l and xl normal/holidays model measured it took 20-70 % of the time to prove all levels;
# on the xl overload sites (about 40 k variables) it pays for itself (docs/PERFORMANCE.md).
PROBING_PAYS_FROM = 30_000


# Below this many model variables (the m sites) one presolve round finds nearly all a second
# would, and the search is short enough for the second round to be a quarter of the solve.
FURTHER_PRESOLVE_PAYS_FROM = 10_000


# From this many model variables the search starts from the greedy plan, and a search again
# after a team repair from the rejected solution (solution hints). Below it, CP-SAT's
# LP-guided search reaches the optimum 10-60 % sooner without one: a hint draws its first
# descent and its neighbourhoods towards the hinted plan (docs/PERFORMANCE.md).
GREEDY_HINT_PAYS_FROM = 10_000


# From this many model variables (the overloaded xl sites) the first measure is optimised alone
# before the others, with this share of the search time unless proven sooner: its neighbourhood
# search climbs several times faster without the later measures in the objective (xl overload
# seed 1: 426 scheduled weight at 79 s against 413 at 115 s weighted together; docs/PERFORMANCE.md).
FIRST_MEASURE_ALONE_FROM = 30_000


FIRST_MEASURE_SHARE = 0.7


# Seconds into a solve before its incumbent's teams are first checked (then every quarter of
# the time run so far): quicker solves are checked once, when they end.
FIRST_TEAM_CHECK = 3.0


# From this many model variables an unstaffable incumbent stops the solve (while the level has
# no valid one), to model its shifts exactly and search again from a hint. Below it the next
# solve starts without a hint (GREEDY_HINT_PAYS_FROM), so a stop throws the search away: m
# waitlist seed 2 was stopped at the first check, 1 unit from its proof, up to three times
# (13.0-16.8 s to prove, 5.7-7.4 s searching on; docs/PERFORMANCE.md). The solve's end still
# checks its plan, and the shifts seen unstaffable are modelled exactly for any search again.
STOP_FOR_UNSTAFFABLE_FROM = GREEDY_HINT_PAYS_FROM


# From GREEDY_HINT_PAYS_FROM model variables a level's solve stops this many seconds (at most
# this share of its time) before its end, kept for repairing the teams of its last solution.
TEAM_REPAIR_RESERVE = 8.0
TEAM_REPAIR_SHARE = 0.1


# A re-plan's last level (churn: patients moved without an event of their own) gets at most this
# share of the search time the SPEC levels leave: the level before it stops at the rest unless
# proven sooner. Starting from the SPEC optimum it rarely needs more (docs/DESIGN.md).
STEADY_LEVEL_SHARE = 0.2


# From this many model variables each level starts from the bound of the model's linear
# relaxation (GLOP), added as a valid inequality: on overloaded m, l and xl sites it is the
# optimum or within 1 % of it, where CP-SAT's own bound stays at the trivial one for minutes
# (docs/PERFORMANCE.md, "Bounds that move"). Below it CP-SAT proves the levels in well under
# a second and the relaxation would only add its build time.
RELAXATION_PAYS_FROM = 3_000


# The last level is searched again from its plan after the end-of-search bounds when they left at
# least this many seconds of the search's time (`_Search._search_on`).
SEARCH_ON_FROM = 2.0
# Of that time, this share may go to a dive on the support of the relaxation's last solve.
SEARCH_ON_DIVE_SHARE = 0.5


# The relaxation's solves together may take at most this share of the time limit.
RELAXATION_SHARE = 0.25
# From this many model variables the relaxation (GLOP's copy of the model, about 250 MB on xl
# waitlist) is released before the last level's search: there its conditional bound on wait days
# never finished in the time left (xl waitlist seeds 1-2), and the search's own peak came on top
# of it (1.53 GB against the 1.5 GB). The relaxation of starts, suites and staff
# (`capacity_relaxation`) bounds and guides the later level instead. From 30 k, where weight is
# searched alone (xl waitlist seed 5, 48 k variables, spent 33-43 s of the 300 on its bounds at
# the end, and the smaller relaxation's were the tighter).
RELAXATION_RELEASED_FROM = FIRST_MEASURE_ALONE_FROM


# CP-SAT's portfolio gains little beyond 8 workers on our model sizes, and a site server runs
# other solves and the service beside it (docs/PERFORMANCE.md, "Workers").
MOST_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """The solver threads a solve uses unless told: the cores this process may run on, at most 8."""
    return max(1, min(len(os.sched_getaffinity(0)), MOST_DEFAULT_WORKERS))


# A start the relaxation's solution gives less than this is left out of the restricted model
# solved for a starting plan (`_plan_on_relaxation_support`), which may take this share of the
# search time (it stops sooner when it reaches the relaxation's bound).
SUPPORT_EPSILON = 1e-6
# Below this many model variables CP-SAT proves the whole model about as fast (m waitlist:
# 1.7-2.5 s without, 4.3-6.2 s with, load 2-4) and no plan is used as a hint there anyway.
SUPPORT_PLAN_PAYS_FROM = 10_000
SUPPORT_SHARE = 0.2
# Solves of the restricted model, each after modelling exactly the shifts no team could staff.
SUPPORT_TEAM_ROUNDS = 3


# From this many model variables a later level's dive first goes towards the best plan of the
# starts, suites and staff model (`capacity_relaxation`), which may take this share of the dive's
# time; a dive needs at least the seconds below to be worth its model's build. Later levels come
# on xl waitlist (the first measure searched alone) and on l waitlist (18-28 k variables), where
# the first-come plan proves the weight: there it took seed 4 from 77 plan changes to 0 (proven)
# in 17 s, where the dive without it stopped on 9 and the level's search ended on 0-6.
CAPACITY_PLAN_PAYS_FROM = 15_000
CAPACITY_PLAN_SHARE = 0.35
# That dive's window, a share of the search time left: it moves plan changes several times
# faster than the whole model's search (xl waitlist seed 5: 169 to 13 in 32 s, then the search
# 13 to 10 in 180 s), and ended on its deadline with 0.2. A second round goes from the first
# one's plan towards that model's best plan searched from it (xl waitlist seed 5: 12 to 11
# plan changes in 34 s, where the level's search had never moved it in 100 s).
CAPACITY_DIVE_SHARE = 0.4
CAPACITY_DIVE_ROUNDS = 2
SUPPORT_DIVE_AT_LEAST = 2.0
# Then, where the level's first measure is still above its bound, the integer starts, suites
# and staff model is solved for a bound alone (`CapacityRelaxation.integer_bound`) for at most
# this share of the search time left: on xl waitlist seed 5 it moved plan changes from 7 to 10
# in 15.7 s of the 129 s left in one session, and in 26 s in another, on a slower machine, where
# 0.2 gave it 19 s and it reported nothing (its presolve alone took 8 s).
INTEGER_BOUND_SHARE = 0.35


# A first level followed by others whose starting plan is already this close to its bound (a
# share of the bound) is searched at most this many seconds: the last unit or two of scheduled
# weight on xl waitlist took the whole model's search minutes and were never found
# (`_Search._near_first_bound`).
NEAR_BOUND_GAP = 0.0025
NEAR_BOUND_SECONDS = 30.0
