"""Metrics: values computed by hand on small arrays."""

import numpy as np

from rnnkit.train import Accuracy


def test_accuracy_leaves_out_ignore_index_targets():
    pred = np.array([[[2.0, 0.0], [0.0, 1.0]], [[0.0, 3.0], [1.0, 0.0]]])   # argmax [[0, 1], [1, 0]]
    target = np.array([[0, 0], [-100, 0]])                                   # hits: yes, no, -, yes
    m = Accuracy()
    m.update(pred, target)
    assert m.compute() == 2 / 3
    m = Accuracy()
    m.update(pred, target, mask=np.array([[True, True], [True, False]]))     # also drop the last step
    assert m.compute() == 1 / 2
