"""``prefect.yaml`` as Prefect's own deploy code reads it: a valid file, every entrypoint a flow
whose required parameters the deployment can be given, the schedules the operations guide
promises, and every deployment on the ``takedown`` work pool."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.flows import Flow, load_flow_from_entrypoint

REPO = Path(__file__).resolve().parents[2]
RUN_ON_DEMAND = {"takedown", "intake"}
"""Deployments an analyst starts, passing the reports (or their file) as the parameter."""


def _deployments() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    model = PrefectYamlModel.model_validate(raw)  # raises on a malformed file
    configs = [d.model_dump(exclude_unset=True, mode="json") for d in model.deployments]
    return {config["name"]: config for config in configs}


def _schedules(config: dict[str, Any]) -> list[Any]:
    return [
        _schedule_config_to_deployment_schedule(item)["schedule"]
        for item in config.get("schedules", [])
    ]


def test_every_deployment_runs_a_flow_on_the_takedown_pool() -> None:
    deployments = _deployments()
    assert {"takedown", "tracking-cycle", "deliver", "daily-digest"} <= set(deployments)
    for name, config in deployments.items():
        assert config["work_pool"]["name"] == "takedown", name
        # A module path: workers import the installed package, not a file of a checkout.
        assert ".py" not in config["entrypoint"], name
        flow: Flow[..., Any] = load_flow_from_entrypoint(
            config["entrypoint"], use_placeholder_flow=False
        )
        schema = flow.parameters.model_dump()
        given = set(config.get("parameters", {}))
        assert given <= set(schema["properties"]), name
        missing = set(schema.get("required", [])) - given
        # Scheduled runs get nothing more than the file gives; analysts pass the reports.
        assert not missing or name in RUN_ON_DEMAND, (name, missing)
        assert bool(_schedules(config)) is (name not in RUN_ON_DEMAND), name


def test_the_schedules_are_the_ones_operations_relies_on() -> None:
    deployments = _deployments()
    (cycle,) = _schedules(deployments["tracking-cycle"])
    (deliver,) = _schedules(deployments["deliver"])
    (digest,) = _schedules(deployments["daily-digest"])
    (inbox,) = _schedules(deployments["inbox"])
    assert isinstance(inbox, IntervalSchedule) and inbox.interval == timedelta(minutes=5)
    assert isinstance(cycle, IntervalSchedule) and cycle.interval == timedelta(minutes=15)
    assert isinstance(deliver, IntervalSchedule) and deliver.interval == timedelta(minutes=5)
    assert isinstance(digest, CronSchedule) and digest.cron.split()[2:] == ["*", "*", "*"]
