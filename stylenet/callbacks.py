"""Lightning callbacks: sample grids of the system's outputs; the resumable last checkpoint, preemption included."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from stylenet.imageio import save_image

log = logging.getLogger(__name__)


class SampleGrid(L.Callback):
    """Every ``every_n_steps`` (and at the end) save the system's sample grid of validation images.

    The system draws the grid (``sample_grid(datamodule, num_images)``, in eval mode), so one callback
    serves every product. It is written to ``dirpath/step_XXXXXX.png`` and ``dirpath/last.png`` and sent
    to W&B or TensorBoard loggers.
    """

    def __init__(self, dirpath: str | Path, every_n_steps: int = 200, num_images: int = 4) -> None:
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.num_images = num_images

    def write(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        was_training = module.training
        module.eval()
        grid = module.sample_grid(trainer.datamodule, self.num_images)
        module.train(was_training)
        step = trainer.global_step
        save_image(grid, self.dirpath / f"step_{step:06d}.png")
        save_image(grid, self.dirpath / "last.png")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [grid], step=step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, step)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: object) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self.write(trainer, module)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.write(trainer, module)


class LastCheckpoint(L.Callback):
    """Owns ``dirpath/last.ckpt``: written at the end of every ``every_n_train_steps``-th step, of the last
    step (``max_steps``), and of the step in which a preemption signal came (SIGTERM, or SIGUSR1 as SLURM's
    ``--signal`` sends), after which training stops. ``ckpt_path=<dirpath>/last.ckpt`` resumes exactly there,
    data order included.

    Every save happens at a step's end (``ModelCheckpoint``'s ``save_last`` also saves at the end of training,
    where a ``max_steps`` stop mid-epoch is recorded as a finished epoch). The signal handler only records the
    signal; the checkpoint goes through the trainer's checkpoint IO (atomically), on every process at once
    under DDP (a signal on any process stops all of them); after a SIGUSR1 the handler that was in place
    before (Lightning's SLURM requeue, submitit's) is called. Handlers in place before training are put back.
    """

    def __init__(
        self, dirpath: str | Path, every_n_train_steps: int = 200, signals: Sequence[str] = ("SIGTERM", "SIGUSR1")
    ) -> None:
        self.path = Path(dirpath) / "last.ckpt"
        self.every_n_train_steps = every_n_train_steps
        self.signals = [signal.Signals[name] for name in signals]
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, object] = {}

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signal.Signals(signum)

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.received = None
        self._previous = {sig: signal.signal(sig, self._record) for sig in self.signals}

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: object) -> None:
        step = trainer.global_step
        preempted = trainer.strategy.reduce_boolean_decision(self.received is not None, all=False)
        periodic = self.every_n_train_steps > 0 and step % self.every_n_train_steps == 0
        if preempted or periodic or step == trainer.max_steps:
            trainer.save_checkpoint(self.path, weights_only=False)  # the full state: a run resumes from it
        if preempted:
            name = self.received.name if self.received else "a preemption signal on another process"
            log.warning("%s at step %d: saved %s; resume with ckpt_path=%s", name, step, self.path, self.path)
            trainer.should_stop = True
            previous = self._previous.get(self.received)
            if self.received == signal.SIGUSR1 and callable(previous):  # a cluster's requeue handler runs next
                previous(self.received, None)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


class RunEta(L.Callback):
    """Log the run's progress and ETA every ``every_n_steps`` steps: ``step 200/2000 (10%), 1.72 s/step,
    ETA 0:51:36``. Lightning's bar shows one epoch's; this is the whole run's (``max_steps``), also in logs."""

    def __init__(self, every_n_steps: int = 50) -> None:
        self.every_n_steps = every_n_steps
        self._start: tuple[float, int] | None = None

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._start = (time.perf_counter(), trainer.global_step)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: object) -> None:
        step, total = trainer.global_step, trainer.max_steps
        if not self.every_n_steps or step % self.every_n_steps or self._start is None or total < 1:
            return
        started, first = self._start
        per_step = (time.perf_counter() - started) / max(1, step - first)
        eta = time.strftime("%H:%M:%S", time.gmtime(per_step * (total - step)))
        log.info("step %d/%d (%.0f%%), %.2f s/step, ETA %s", step, total, 100 * step / total, per_step, eta)
