"""The Celery side of dispatching: the Celery app and the `Dispatch` that sends plans to it.

Without a broker, `api.dispatch.WakeEmbedded` wakes the API server's embedded worker
(`api.solving.workers`); with one, `SendToCelery` sends a `solve_plan` task
(`api.solving.tasks`) with the plan's priority. Both end in `api.solving.run.run_plan`, so
progress, cancel and results take one code path.
"""

from __future__ import annotations

import threading

from celery import Celery
from kombu import Queue

from api.dispatch import DEFAULT_QUEUE, LOW, MAX_PRIORITY, NORMAL, time_limits


def celery_app(broker_url: str, queue: str = DEFAULT_QUEUE) -> Celery:
    """The Celery application: late acks, one message per process at a time, priorities.

    A message is acknowledged only when its task returns, and a worker process lost mid-task
    (SIGKILL, out of memory) sends it back to the queue: no solve is lost. Taking one message
    at a time keeps the priorities real (no low-priority message waits in a busy worker).
    """
    # `rpc://`: the answers of the tasks that return one (`solve_scenario`) come back over the
    # broker to the caller; plan solves write theirs to the database and return none.
    app = Celery(
        "cart_scheduler",
        broker=broker_url,
        backend="rpc://",
        include=[
            "api.solving.tasks",
            "api.solving.fanout",
            "api.solving.simfanout",
            "api.solving.simrun",
        ],
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_queues=[
            Queue(queue, routing_key=queue, queue_arguments={"x-max-priority": MAX_PRIORITY})
        ],
        task_queue_max_priority=MAX_PRIORITY,
        task_default_priority=NORMAL,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        # Redis (if used as the broker) redelivers unacknowledged messages after this long.
        broker_transport_options={"visibility_timeout": 3600},
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    return app


class SendToCelery:
    """Sends each queued plan to the Celery workers as a `solve_plan` task with its priority."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        # Plans stored while the broker was unreachable: sent again by the lease sweeper.
        self.undelivered: dict[str, tuple[int, float]] = {}
        self.undelivered_simulations: set[str] = set()
        self._lock = threading.Lock()

    def simulation(self, simulation_id: str) -> None:
        """Send a stored simulation as a `simulate_plan` task, behind re-plans and plans (LOW)."""
        try:
            self.app.send_task(
                "cart_scheduler.simulate_plan",
                args=[simulation_id],
                priority=LOW,
                ignore_result=True,  # the report is written to the simulation's row
                delivery_mode=2,
            )
        except Exception:
            with self._lock:
                self.undelivered_simulations.add(simulation_id)
            raise

    def __call__(self, plan_id: str, priority: int, time_limit: float) -> None:
        """Publish the task (persistent message: it survives a broker restart)."""
        try:
            self._send(plan_id, priority, time_limit)
        except Exception:
            with self._lock:
                self.undelivered[plan_id] = (priority, time_limit)
            raise

    def resend_undelivered(self) -> int:
        """Send again what could not be sent; how many went out."""
        with self._lock:
            waiting = dict(self.undelivered)
        with self._lock:
            simulations = set(self.undelivered_simulations)
        for simulation_id in simulations:
            self.simulation(simulation_id)  # raises (all kept) while the broker is still down
            with self._lock:
                self.undelivered_simulations.discard(simulation_id)
        sent = 0
        for plan_id, (priority, time_limit) in waiting.items():
            self._send(plan_id, priority, time_limit)  # raises while the broker is still down
            with self._lock:
                self.undelivered.pop(plan_id, None)
            sent += 1
        return sent

    def _send(self, plan_id: str, priority: int, time_limit: float) -> None:
        soft, hard = time_limits(time_limit)
        self.app.send_task(
            "cart_scheduler.solve_plan",
            args=[plan_id],
            priority=priority,
            ignore_result=True,  # the result is in the plan's row: no reply queue for it
            delivery_mode=2,
            soft_time_limit=round(soft),
            time_limit=round(hard),
        )
