"""Per-stage metrics, logging and checkpoint selection shared by the interpreter Brains."""

import speechbrain as sb

from lmac_brain.metrics import MetricAccumulator

# The key checkpoints are selected by; it is logged at every validation (tested).
CHECKPOINT_KEY = "loss"


class InterpreterStatsMixin:
    """Accumulates ``self.metrics`` over a stage, logs train/valid/test stats, keeps the best
    checkpoint by ``CHECKPOINT_KEY`` and leaves the test stats in ``self.test_stats``.

    Put it before ``speechbrain.Brain`` in the bases; ``compute_objectives`` feeds
    ``self.metrics.update(...)``.
    """

    def on_stage_start(self, stage, epoch=None):
        self.metrics = MetricAccumulator()

    def on_stage_end(self, stage, stage_loss, epoch=None):
        self.metrics.all_reduce()
        stats = {"loss": stage_loss, **self.metrics.summarize()}
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
        else:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stats,
            )
            self.test_stats = stats
