"""Per-stage metrics, logging and checkpoint selection shared by the interpreter Brains."""

import speechbrain as sb
from torch.utils.data import DistributedSampler

from lmac_brain.checkpoints import CHECKPOINT_KEY
from lmac_brain.metrics import MetricAccumulator
from lmac_brain.reporting.training_curves import refresh_training_curves


def is_sharded(loader):
    """Whether ``loader`` gives each DDP process its own share of the dataset."""
    samplers = (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None))
    return any(isinstance(s, DistributedSampler) for s in samplers)


class InterpreterStatsMixin:
    """Accumulates ``self.metrics`` over a stage, logs train/valid/test stats (``n``: the items
    averaged), keeps the best checkpoint by ``CHECKPOINT_KEY``, redraws ``train_log.png`` after
    every validation and leaves the test stats in ``self.test_stats``.

    Put it before ``speechbrain.Brain`` in the bases; ``compute_objectives`` feeds
    ``self.metrics.update(...)``.

    Under DDP the totals are summed over the processes only for a stage whose loader was split
    between them. SpeechBrain 1.1 splits the training set only: every process evaluates the
    whole valid and test sets, so summing those would count each item once per process.
    """

    def make_dataloader(self, dataset, stage, *args, **kwargs):
        loader = super().make_dataloader(dataset, stage, *args, **kwargs)
        self._sharded_stages = {**getattr(self, "_sharded_stages", {}), stage: is_sharded(loader)}
        return loader

    def _stage_is_sharded(self, stage):
        # A loader given ready-made to fit()/evaluate() is not seen by make_dataloader: assume
        # SpeechBrain's own choice (only the training set is split).
        return getattr(self, "_sharded_stages", {}).get(stage, stage == sb.Stage.TRAIN)

    def on_stage_start(self, stage, epoch=None):
        self.metrics = MetricAccumulator()

    def set_level_stats(self, stage):
        """Stats of the whole stage that are not means over items (none here)."""
        return {}

    def on_stage_end(self, stage, stage_loss, epoch=None):
        if self._stage_is_sharded(stage):
            self.metrics.all_reduce()
        stats = {"loss": stage_loss, "n": self.metrics.n_items(), **self.metrics.summarize(),
                 **self.set_level_stats(stage)}
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        if stage == sb.Stage.VALID:
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"]},
                train_stats=self.train_stats,
                valid_stats=stats,
            )
            self.checkpointer.save_and_keep_only(meta=stats, min_keys=[CHECKPOINT_KEY])
            if sb.utils.distributed.if_main_process():  # the only process that wrote the log
                refresh_training_curves(self.hparams.train_logger)
        else:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stats,
            )
            self.test_stats = stats
