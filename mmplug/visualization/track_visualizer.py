"""mmdet's TrackLocalVisualizer, able to draw ground truth."""
import numpy as np
from mmengine.structures import InstanceData

from mmdet.registry import VISUALIZERS
from mmdet.visualization import TrackLocalVisualizer


@VISUALIZERS.register_module()
class TrackGTLocalVisualizer(TrackLocalVisualizer):
    """:class:`TrackLocalVisualizer` that also draws ground truth.

    mmdet 3.3 draws ``instances.instances_id`` (the prediction field), but
    ground truth holds ``instances_ids``, so ``--show-dir`` crashed on the
    first frame with ground truth; the ids are mapped before drawing.
    """

    def _draw_instances(self, image: np.ndarray,
                        instances: InstanceData) -> np.ndarray:
        if 'instances_id' not in instances and 'instances_ids' in instances:
            instances = instances.clone()
            instances.instances_id = instances.instances_ids
        return super()._draw_instances(image, instances)
