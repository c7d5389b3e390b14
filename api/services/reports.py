"""What coordinators read off a solved plan: KPIs, the Gantt figure and the plan workbook."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from api.schemas import FigureOut, KpisOut
from api.services.plans import PlanService
from scheduler.reporting.kpis import compute_kpis, format_kpis
from scheduler.reporting.plan_workbook import write_schedule


class ReportService:
    """Reports of solved plans."""

    def __init__(self, plans: PlanService) -> None:
        self.plans = plans

    def kpis(self, plan_id: str) -> KpisOut:
        """The plan's KPIs, and the same as a labelled table."""
        instance, schedule = self.plans.documents(plan_id)
        kpis = compute_kpis(instance, schedule)
        return KpisOut(kpis=kpis, table=[list(row) for row in format_kpis(kpis)])

    def gantt(self, plan_id: str) -> FigureOut:
        """The plan's Gantt figure (suite positions, operator load, QC load) as plotly JSON."""
        # Imported here, as in the CLI: matplotlib and plotly take half a second, on every start of
        # the service, for this one endpoint.
        from scheduler.reporting.gantt import build_figure

        instance, schedule = self.plans.documents(plan_id)
        return FigureOut.model_validate(json.loads(build_figure(instance, schedule).to_json()))

    def workbook(self, plan_id: str) -> bytes:
        """The plan as an XLSX workbook: patients, suites, operators, qc, unscheduled, kpis."""
        instance, schedule = self.plans.documents(plan_id)
        with tempfile.TemporaryDirectory() as folder:
            path = write_schedule(instance, schedule, Path(folder) / "plan.xlsx")
            return path.read_bytes()
