"""DDP on CPU for SpeechBrain Brains.

SpeechBrain 1.1 converts every BatchNorm to ``SyncBatchNorm`` under torchrun, which PyTorch only
supports on GPUs, so a CNN14 recipe cannot run DDP on CPU (gloo) as is. The mixin keeps plain
BatchNorm (buffers broadcast from rank 0 by DDP) on CPU and defers to SpeechBrain elsewhere.
"""

import torch
from torch.nn.parallel import DistributedDataParallel


class CPUDistributedMixin:
    """Put before ``speechbrain.Brain`` in the bases of a Brain with BatchNorm layers."""

    def _wrap_distributed(self):
        if not self.distributed_launch or torch.device(self.device).type != "cpu":
            return super()._wrap_distributed()
        for name, module in self.modules.items():
            if any(p.requires_grad for p in module.parameters()):
                self.modules[name] = DistributedDataParallel(
                    module, device_ids=None, find_unused_parameters=self.find_unused_parameters
                )
        return None
