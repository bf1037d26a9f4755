"""Optional MLflow logging of a sweep's trials (the ``[mlflow]`` extra).

The DuckDB results file stays the record of a sweep; this mirrors each finished trial into an
MLflow tracking store (a server, or a local ``file://`` / ``sqlite://`` store) for teams that
browse experiments in the MLflow UI. One MLflow run per trial, in one MLflow experiment:

- run name: the trial id;
- params: the trial's parameters (``TrialSpec.params``, every ``trials`` column) plus
  ``seed`` and ``replicate``;
- metrics: the outcome's metrics (NaN values skipped: MLflow cannot rank them) plus
  ``wall_s`` (trial wall time, seconds);
- tags: ``trial_id``, ``sweep_id``, ``trial_index``, ``status`` (``done``/``failed``) and, for a
  failed trial, ``error``; the run ends ``FINISHED`` or ``FAILED``.

Called from the parent process only (the executor calls :meth:`MlflowLogger.log_trial` as each
trial is committed, when ``[sweep] mlflow_uri`` is set); ``mlflow`` is imported only here.

Notes
-----
Recent MLflow 3.x releases refuse a ``file://`` tracking store (in "maintenance mode") unless
``MLFLOW_ALLOW_FILE_STORE=true`` is set in the environment; this module does not set it for
you. Prefer ``sqlite:///path/mlflow.db`` (needs ``sqlalchemy`` and ``alembic``) or a server.

Examples
--------
>>> log = MlflowLogger("file:///tmp/mlruns", "gamma")  # doctest: +SKIP
>>> log.log_trial(trial, outcome, sweep_id)  # doctest: +SKIP
>>> log.close()  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

__all__ = ["MlflowLogger"]

_INSTALL_HINT = "MLflow logging needs the mlflow package: pip install 'mmsim[mlflow]'"
_MAX_PARAMS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 900
_MAX_VALUE_CHARS = 5000


def _import_mlflow() -> Any:
    try:
        import mlflow
        from mlflow.tracking import MlflowClient  # noqa: F401 - checks the client is there
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return mlflow


def _text(value: Any) -> str:
    s = str(value)
    return s if len(s) <= _MAX_VALUE_CHARS else s[: _MAX_VALUE_CHARS - 3] + "..."


class MlflowLogger:
    """Log each finished trial of a sweep as one MLflow run.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI: ``http(s)://server``, ``file:///abs/dir/mlruns``,
        ``sqlite:///file.db``...
    experiment : str
        MLflow experiment name; created if it does not exist (e.g. the sweep's name).
    strict : bool, default False
        Raise when logging a trial fails. By default a failure (server down, store full) is a
        ``RuntimeWarning`` (the first one only) and counted in :attr:`n_errors`: the results
        are in the DuckDB file anyway, and a sweep must not stop over its MLflow mirror.

    Attributes
    ----------
    experiment_id : str
        Id of the MLflow experiment.
    n_logged : int
        Runs logged so far.
    n_errors : int
        Trials whose logging failed (``strict=False``).

    Raises
    ------
    ImportError
        If ``mlflow`` is not installed (the message says ``pip install 'mmsim[mlflow]'``).
    mlflow.exceptions.MlflowException
        If the tracking store cannot be reached or the experiment cannot be created (at
        construction, before any trial runs, whatever ``strict`` is).
    """

    def __init__(self, tracking_uri: str, experiment: str, *, strict: bool = False):
        _import_mlflow()
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.strict = strict
        self._client = MlflowClient(tracking_uri=tracking_uri)
        found = self._client.get_experiment_by_name(experiment)
        if found is not None:
            self.experiment_id = found.experiment_id
        else:
            self.experiment_id = self._client.create_experiment(experiment)
        self.n_logged = 0
        self.n_errors = 0
        self._closed = False

    def log_trial(self, trial: Any, outcome: Any, sweep_id: str) -> str | None:
        """Log one finished trial as one MLflow run.

        Parameters
        ----------
        trial : TrialSpec
            The trial (its ``params``, ``seed``, ``replicate``, ``index``, ``trial_id``).
        outcome : TrialOutcome
            Its outcome (``status``, ``metrics``, ``wall_s``, ``error``).
        sweep_id : str
            The sweep's id in the results file (tag ``sweep_id``).

        Returns
        -------
        str or None
            The MLflow run id; ``None`` if logging failed (``strict=False``).

        Raises
        ------
        RuntimeError
            If the logger was closed.
        mlflow.exceptions.MlflowException
            With ``strict=True``, if the store rejects the run.
        """
        if self._closed:
            raise RuntimeError("MlflowLogger is closed")
        try:
            run_id = self._log(trial, outcome, sweep_id)
        except Exception as exc:  # noqa: BLE001 - see ``strict``
            if self.strict:
                raise
            self.n_errors += 1
            if self.n_errors == 1:
                warnings.warn(
                    f"MLflow logging of trial {trial.trial_id} failed ({type(exc).__name__}: "
                    f"{exc}); further failures are counted, not shown",
                    RuntimeWarning, stacklevel=2,
                )
            return None
        self.n_logged += 1
        return run_id

    def _log(self, trial: Any, outcome: Any, sweep_id: str) -> str:
        from mlflow.entities import Metric, Param

        now_ms = int(time.time() * 1000)
        wall_s = float(outcome.wall_s or 0.0)
        tags = {
            "trial_id": trial.trial_id,
            "sweep_id": sweep_id,
            "trial_index": str(trial.index),
            "status": outcome.status,
        }
        if outcome.error:
            tags["error"] = _text(outcome.error)
        run = self._client.create_run(
            self.experiment_id, start_time=now_ms - int(wall_s * 1000), tags=tags,
            run_name=trial.trial_id,
        )
        run_id = run.info.run_id
        try:
            values = {**dict(trial.params), "seed": trial.seed, "replicate": trial.replicate}
            params = [Param(str(k), _text(v)) for k, v in values.items()]
            metrics = [
                Metric(str(k), float(v), now_ms, 0)
                for k, v in {**dict(outcome.metrics), "wall_s": wall_s}.items()
                if v is not None and not math.isnan(float(v))
            ]
            for i in range(0, len(params), _MAX_PARAMS_PER_BATCH):
                self._client.log_batch(run_id, params=params[i:i + _MAX_PARAMS_PER_BATCH])
            for i in range(0, len(metrics), _MAX_METRICS_PER_BATCH):
                self._client.log_batch(run_id, metrics=metrics[i:i + _MAX_METRICS_PER_BATCH])
        except BaseException:
            self._client.set_terminated(run_id, status="FAILED")
            raise
        self._client.set_terminated(
            run_id, status="FINISHED" if outcome.status == "done" else "FAILED", end_time=now_ms,
        )
        return run_id

    def close(self) -> None:
        """Stop logging (idempotent); the runs are already persisted."""
        self._closed = True

    def __enter__(self) -> MlflowLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
