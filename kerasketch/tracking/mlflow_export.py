"""A run folder into MLflow, with MLflow's own client.

The MLflow run carries the tag ``kerasketch.run_id`` (the run folder's name)
and is found by it: a second export, or an export after a live run that lost
its server, adds what the MLflow run lacks (parameters, metric steps, files,
the final status) and duplicates nothing. The experiment is
``MLFLOW_EXPERIMENT_NAME``, else ``kerasketch``; the server is the
:class:`~.target.Target`'s URI, else ``MLFLOW_TRACKING_URI``, else MLflow's default.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..runs.events import Status
from .record import RunRecord
from .report import FOLDER
from .target import Target

DEFAULT_EXPERIMENT = "kerasketch"
RUN_ID_TAG = "kerasketch.run_id"
#: MLflow's limits on one log_batch call.
MAX_METRICS, MAX_PARAMS = 1000, 100
#: The run's end, as MLflow names it.
STATUSES = {
    Status.FINISHED: "FINISHED",
    Status.EARLY_STOPPED: "FINISHED",
    Status.FAILED: "FAILED",
    Status.CANCELLED: "KILLED",
    Status.KILLED: "KILLED",
    Status.INTERRUPTED: "KILLED",
}


def quick_client_settings(live: bool) -> None:
    """Give up fast on a server that does not answer, unless the user set MLflow's own variables:
    its client otherwise retries for minutes. Live, one try of a few seconds (the run goes on and
    ``runs export`` completes the copy later); after the fact, a few tries."""
    _default("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0" if live else "3")
    _default("MLFLOW_HTTP_REQUEST_TIMEOUT", "5" if live else "30")
    _default("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    # Its "View run at" line would land in the run's stdout, which may be its event stream (--events -).
    _default("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


#: The variables set here, and to what: a user's own setting is never replaced, ours may be.
_OURS: dict[str, str] = {}


def _default(name: str, value: str) -> None:
    if name not in os.environ or os.environ[name] == _OURS.get(name):
        os.environ[name] = _OURS[name] = value


class MlflowExporter:
    kind = "mlflow"

    def __init__(self, target: Target):
        from mlflow import MlflowClient

        quick_client_settings(target.live)
        self.client = MlflowClient(tracking_uri=target.uri)
        self.experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        self.parent = target.parents.get(self.kind)
        self.run_id: str | None = None
        self._found = False  # the run existed before this export: its metrics are asked for
        self._params: set[str] = set()
        self._tags: dict[str, str] = {}
        self._sent: dict[str, set[int]] = {}

    def experiment_id(self) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return found.experiment_id
        try:
            return self.client.create_experiment(self.experiment)
        except MlflowException:  # made meanwhile by another run (a sweep's trials start together)
            again = self.client.get_experiment_by_name(self.experiment)
            if again is None:
                raise
            return again.experiment_id

    def find(self, run_id: str) -> str | None:
        """The MLflow run of a kerasketch run id, deleted ones included (they are restored)."""
        from mlflow.entities import ViewType

        found = self.client.search_runs(
            [self.experiment_id()],
            filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'",
            run_view_type=ViewType.ALL,
            max_results=1,
        )
        return found[0].info.run_id if found else None

    def open(self, record: RunRecord) -> None:
        existing = self.find(record.run_id)
        if existing is not None:
            run = self.client.get_run(existing)
            if run.info.lifecycle_stage == "deleted":
                self.client.restore_run(existing)
            self.run_id, self._found = existing, True
            self._params = set(run.data.params)
            self._tags = dict(run.data.tags)
            return
        tags = dict(record.tags)
        if self.parent:
            tags["mlflow.parentRunId"] = self.parent
        run = self.client.create_run(
            self.experiment_id(), start_time=record.started_ms, tags=tags, run_name=record.run_id
        )
        self.run_id, self._found = run.info.run_id, False
        self._tags = tags

    def _steps_sent(self, key: str) -> set[int]:
        if key not in self._sent:
            history = self.client.get_metric_history(self._id, key) if self._found else []
            self._sent[key] = {m.step for m in history}
        return self._sent[key]

    @property
    def _id(self) -> str:
        if self.run_id is None:
            raise RuntimeError("open() first")
        return self.run_id

    def send(self, record: RunRecord) -> None:
        from mlflow.entities import Metric, Param, RunTag

        params = [Param(k, v) for k, v in record.params.items() if k not in self._params]
        tags = [RunTag(k, v) for k, v in record.tags.items() if self._tags.get(k) != v]
        metrics = [
            Metric(key, p.value, p.timestamp_ms, p.step)
            for key, points in record.metrics.items()
            for p in points
            if p.step not in self._steps_sent(key)
        ]
        for start in range(0, len(params), MAX_PARAMS):
            self.client.log_batch(self._id, params=params[start : start + MAX_PARAMS])
        if tags:
            self.client.log_batch(self._id, tags=tags)
        for start in range(0, len(metrics), MAX_METRICS):
            self.client.log_batch(self._id, metrics=metrics[start : start + MAX_METRICS])
        # Only once MLflow has them: a failure above leaves them to be sent again.
        self._params.update(p.key for p in params)
        self._tags.update({t.key: t.value for t in tags})
        for m in metrics:
            self._sent[m.key].add(m.step)

    def finish(self, record: RunRecord, report: Path | None) -> None:
        for path, folder in record.files():
            self.client.log_artifact(self._id, str(path), folder or None)
        if report is not None and report.is_dir():
            self.client.log_artifacts(self._id, str(report), FOLDER)
        status = STATUSES.get(record.status)
        if status is not None:
            self.client.set_terminated(self._id, status=status, end_time=record.ended_ms)

    def where(self) -> str:
        return f"MLflow run {self.run_id} in experiment {self.experiment} at {self.client.tracking_uri}"
